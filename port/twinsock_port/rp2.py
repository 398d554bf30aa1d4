# MicroPython rp2 (Pico W, extmod/modlwip.c): tuple addresses, one
# getaddrinfo entry always labelled AF_INET (the shim tells IPv6 by the
# address itself), refusal reported as ECONNRESET, no fileno (poll takes the
# object itself).
IPV6 = True
RESET_MEANS_REFUSED = True
CONFIG_FIELDS = ()
