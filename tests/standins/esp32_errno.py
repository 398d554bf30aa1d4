# Stand-in for the esp32 port's `errno` module, pinned to MicroPython v1.26.1.
# - the names: MicroPython's default errno list (py/moderrno.c:38-61
#   MICROPY_PY_ERRNO_LIST; ports/esp32/mpconfigport.h defines no list of its own),
#   the same set as on the unix port.
# - the numbers: the C library's (ports/esp32/mpconfigport.h:70
#   MICROPY_USE_INTERNAL_ERRNO 0, so py/mperrno.h:134 takes errno.h's), ESP-IDF's
#   newlib <sys/errno.h> (not in v1.26.1's tree: the values below are newlib's).
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
