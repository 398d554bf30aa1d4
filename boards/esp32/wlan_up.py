# Runs on an ESP32 before the checks: join the bench WLAN. The harness puts
# WIFI_SSID, WIFI_PASSWORD and WLAN_TIMEOUT_MS in front of this script.
import time

import network

wlan = network.WLAN(network.STA_IF)
wlan.active(True)
if not wlan.isconnected():
    wlan.connect(WIFI_SSID, WIFI_PASSWORD)  # noqa: F821 (given by the harness)
    started = time.ticks_ms()
    while not wlan.isconnected():
        if time.ticks_diff(time.ticks_ms(), started) > WLAN_TIMEOUT_MS:  # noqa: F821
            raise OSError("WLAN %r: no connection (status %r)" % (WIFI_SSID, wlan.status()))  # noqa: F821
        time.sleep_ms(100)
print("WLAN", wlan.ifconfig()[0])
