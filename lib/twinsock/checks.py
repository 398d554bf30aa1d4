# Argument checks and their messages: what every socket kind needs once an
# argument is wrong, and what a (D)TLS socket checks on each call. Loaded on
# first use, apart from twinsock/extras.py, so a TLS socket pays only for these.
from twinsock.errors import invalid

# The largest int every runtime takes (net.MAX_INT32).
_MAX = 0x7FFFFFFF
_OPTION_NAMES = (
    "OPT_RECV_TIMEOUT OPT_STATE OPT_ADDR_FAMILY OPT_MTU OPT_INNER_MTU OPT_SESSION_RESUMED "
    "OPT_BYTES_SENT OPT_BYTES_RECEIVED OPT_DANE_TLSA_ARRAY OPT_HAS_BUFFERED_DATA "
    "OPT_DTLS_HANDSHAKE_TIMEOUTS OPT_CONNECTION_ID_RESUMED OPT_PREFERRED_ADDR_FAMILY "
    "OPT_FORCED_ADDR_FAMILY"
)


def bad_argument(what, value):
    """The EINVAL for argument `what` (host, address, port, bufsize or
    "receive: bufsize") given as `value`."""
    if what in ("host", "address"):
        must = "a name or numeric address (a non-empty str)"
    elif what == "port":
        must = "an int 0..65535 or a numeric string"
    elif what[-7:] == "bufsize":
        must = "an int in %d..%d" % (what[0] == "r", _MAX)
    else:
        must = "valid"
    raise invalid("%s must be %s, not %r" % (what, must, value))


def check_host(host, what="host"):
    if type(host) is not str or not host or "\x00" in host or len(host) > 255:
        bad_argument(what, host)
    return host


def check_port(port, what="port"):
    """An int 0..65535 or a numeric string; anything else is EINVAL."""
    if type(port) is not int or not 0 <= port <= 65535:
        port = port_number(port, what)
    return port


def port_number(port, what):
    # ASCII digits only: int() takes other scripts' digits too
    if type(port) is str and 0 < len(port) <= 5 and all("0" <= c <= "9" for c in port):
        if int(port) <= 65535:
            return int(port)
    bad_argument(what, port)


def check_size(value, what="bufsize"):
    if type(value) is not int or not 0 <= value <= _MAX:
        bad_argument(what, value)
    return value


def check_buffer(buf, what):
    kind = type(buf)
    if kind is bytearray or kind is memoryview:
        return
    if buf is None or isinstance(buf, (bytes, str, int, float, list, tuple)):
        raise invalid(
            "%s: buffer must be a writable bytearray or memoryview, not %s" % (what, kind.__name__)
        )


def check_key(key, what):
    if type(key) is not int:
        raise invalid("%s: option key must be an int (OPT_*), not %r" % (what, key))


def option_name(key):
    if type(key) is int and 0 <= key < 14:
        return _OPTION_NAMES.split()[key]
    return repr(key)
