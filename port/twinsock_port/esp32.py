# MicroPython esp32 (lwIP through ESP-IDF, ports/esp32/modsocket.c): tuple
# addresses, IPv4 only in practice, refusal reported as ECONNRESET, newlib
# errno numbers (harmless: the layer compares with errno names, never literals).
IPV6 = False
RESET_MEANS_REFUSED = True
CONFIG_FIELDS = ()
