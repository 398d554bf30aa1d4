# Runs on a Pico W before the checks: join the bench WLAN. The harness puts
# WIFI_SSID, WIFI_PASSWORD, WLAN_TIMEOUT_MS and WLAN_COUNTRY in front of this script.
import time

import network
import rp2

rp2.country(WLAN_COUNTRY)  # noqa: F821 (given by the harness): channels allowed
wlan = network.WLAN(network.STA_IF)
wlan.active(True)
wlan.config(pm=0xA11140)  # no power saving: it delays replies by up to ~100 ms
if not wlan.isconnected():
    wlan.connect(WIFI_SSID, WIFI_PASSWORD)  # noqa: F821
    started = time.ticks_ms()
    while not wlan.isconnected():
        if time.ticks_diff(time.ticks_ms(), started) > WLAN_TIMEOUT_MS:  # noqa: F821
            raise OSError("WLAN %r: no connection (status %r)" % (WIFI_SSID, wlan.status()))  # noqa: F821
        time.sleep_ms(100)
print("WLAN", wlan.ifconfig()[0])
