# The one home for twinsock's errors and errno values.
#
# Every errno is the running platform's value where its errno module has the
# name, else the Linux value (MicroPython's errno lacks several of these).
try:
    import errno as _errno
except ImportError:  # firmware older than v1.19 has only the u-name
    import uerrno as _errno


def _pick(name, linux):
    return getattr(_errno, name, linux)


EIO = _pick("EIO", 5)
EBADF = _pick("EBADF", 9)
EAGAIN = _pick("EAGAIN", 11)
ENOMEM = _pick("ENOMEM", 12)
EINVAL = _pick("EINVAL", 22)
EPIPE = _pick("EPIPE", 32)
ERANGE = _pick("ERANGE", 34)
EPROTO = _pick("EPROTO", 71)
EMSGSIZE = _pick("EMSGSIZE", 90)
EOPNOTSUPP = _pick("EOPNOTSUPP", 95)
ENOTSUP = _pick("ENOTSUP", EOPNOTSUPP)
EADDRINUSE = _pick("EADDRINUSE", 98)
EADDRNOTAVAIL = _pick("EADDRNOTAVAIL", 99)
ENETUNREACH = _pick("ENETUNREACH", 101)
ECONNRESET = _pick("ECONNRESET", 104)
EISCONN = _pick("EISCONN", 106)
ENOTCONN = _pick("ENOTCONN", 107)
ETIMEDOUT = _pick("ETIMEDOUT", 110)
ECONNREFUSED = _pick("ECONNREFUSED", 111)
EHOSTUNREACH = _pick("EHOSTUNREACH", 113)
EINPROGRESS = _pick("EINPROGRESS", 115)


class NetError(OSError):
    """Every twinsock failure: NetError(errno, message), `errno` one of the
    values above."""

    def __str__(self):
        return "[Errno %d] %s" % (self.args[0], self.args[1])


class MessageTruncated(NetError):
    """A datagram larger than the caller's buffer: the buffer holds its first
    `nbytes` bytes (`data` for receive; `host`/`port` name the sender)."""

    def __init__(self, nbytes, data=None, host=None, port=None):
        super().__init__(EMSGSIZE, "datagram truncated to %d bytes (buffer too small)" % nbytes)
        self.nbytes = nbytes
        self.data = data
        self.host = host
        self.port = port


def __getattr__(name):
    # TLSError has a module of its own: a board without TLS, or whose TLS
    # sessions go well, never loads it.
    if name == "TLSError":
        from twinsock.tlserror import TLSError

        return TLSError
    raise AttributeError(name)


def invalid(what):
    return NetError(EINVAL, what)


def unsupported(what):
    return NetError(ENOTSUP, what)
