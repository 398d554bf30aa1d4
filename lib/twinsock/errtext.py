# Words for errno values, for error messages: loaded with the first error.
from twinsock import errors

# Words for each errno, as one string: a dict of strings would cost a board
# several times the heap.
_TEXT = (
    "|EIO I/O error|EBADF socket is closed|ENOMEM out of memory|EINVAL invalid argument"
    "|EPIPE socket was shut down|EMSGSIZE message too long|EADDRINUSE address already in use"
    "|EADDRNOTAVAIL address not available|ENETUNREACH network unreachable"
    "|ECONNRESET connection reset by peer|EISCONN already connected|ENOTCONN not connected"
    "|ETIMEDOUT timed out|ECONNREFUSED connection refused|EHOSTUNREACH host unreachable|"
)


def describe(code, exc=None):
    """Words for errno `code`, with the platform's own text where it had any."""
    text = "error %d" % code
    for name in ("EIO", "EBADF", "ENOMEM", "EINVAL", "EPIPE", "EMSGSIZE", "EADDRINUSE",
                 "EADDRNOTAVAIL", "ENETUNREACH", "ECONNRESET", "EISCONN", "ENOTCONN",
                 "ETIMEDOUT", "ECONNREFUSED", "EHOSTUNREACH"):  # fmt: skip
        if getattr(errors, name) == code:
            at = _TEXT.index("|" + name + " ") + len(name) + 2
            text = _TEXT[at : _TEXT.index("|", at)]
            break
    detail = exc.args[-1] if exc is not None and exc.args else None
    if type(detail) is str and detail and detail.lower() != text.lower():
        return "%s (%s)" % (text, detail)
    return text
