# Stand-in for the esp32 port's `errno` module: MicroPython's standard errno names
# (the same set as on the unix port) with the numbers of ESP-IDF's newlib
# <sys/errno.h>, which ports/esp32 uses (no MICROPY_USE_INTERNAL_ERRNO).
EPERM = 1
ENOENT = 2
EIO = 5
EBADF = 9
EAGAIN = 11
ENOMEM = 12
EACCES = 13
EEXIST = 17
ENODEV = 19
EISDIR = 21
EINVAL = 22
EOPNOTSUPP = 95
ECONNRESET = 104
ENOBUFS = 105
ECONNREFUSED = 111
EADDRINUSE = 112
ECONNABORTED = 113
ETIMEDOUT = 116
EHOSTUNREACH = 118
EINPROGRESS = 119
EALREADY = 120
ENOTCONN = 128

errorcode = {v: k for k, v in globals().items() if k.startswith("E") and isinstance(v, int)}

# Linux number (what the unix port's socket raises) -> newlib number, for every errno
# a socket call can raise, including the names MicroPython's errno module lacks.
FROM_LINUX = {
    98: EADDRINUSE,
    103: ECONNABORTED,
    104: ECONNRESET,
    105: ENOBUFS,
    107: ENOTCONN,
    110: ETIMEDOUT,
    111: ECONNREFUSED,
    113: EHOSTUNREACH,
    114: EALREADY,
    115: EINPROGRESS,
    88: 108,  # ENOTSOCK
    90: 122,  # EMSGSIZE
    97: 106,  # EAFNOSUPPORT
    99: 125,  # EADDRNOTAVAIL
    101: 114,  # ENETUNREACH
    106: 127,  # EISCONN
}
