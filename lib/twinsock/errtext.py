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


# What a checked argument must be, by number (twinsock.checks, tls,
# certinfo): one string, loaded with the first bad argument, not with the checks.
_MUST = (
    "a name or numeric address (a non-empty str)|an int 0..65535 or a numeric string"
    "|an int in 0..2147483647|an int in 1..2147483647|a writable bytearray or memoryview"
    "|an int (OPT_*)|non-empty bytes (PEM or DER)|bytes or a list of bytes|a bool"
    "|a PskInfo or a CertInfo|TLS_DEFAULT, TLSv1_2 or TLSv1_3|a non-empty str or None"
    "|a host name|a bytearray or None|(min_ms, max_ms) ints with 0 < min <= max"
    "|a list of IANA ids (ints) or None|a SocketConfig or None"
)
_OPTION_NAMES = (
    "OPT_RECV_TIMEOUT OPT_STATE OPT_ADDR_FAMILY OPT_MTU OPT_INNER_MTU OPT_SESSION_RESUMED "
    "OPT_BYTES_SENT OPT_BYTES_RECEIVED OPT_DANE_TLSA_ARRAY OPT_HAS_BUFFERED_DATA "
    "OPT_DTLS_HANDSHAKE_TIMEOUTS OPT_CONNECTION_ID_RESUMED OPT_PREFERRED_ADDR_FAMILY "
    "OPT_FORCED_ADDR_FAMILY"
)


def must(what, index, value):
    """NetError(EINVAL): `what` must be _MUST[index], not `value`."""
    return errors.invalid("%s must be %s, not %r" % (what, _MUST.split("|")[index], value))


def option_name(key):
    if type(key) is int and 0 <= key < 14:
        return _OPTION_NAMES.split()[key]
    return repr(key)
