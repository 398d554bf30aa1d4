# Argument checks: what every socket kind needs once an argument is wrong, and
# what a (D)TLS socket checks on each call. Loaded on first use, apart from
# twinsock/extras.py, so a TLS socket pays only for these; their messages are
# in twinsock/errtext.py, loaded with the first bad argument.
from twinsock.net import MAX_INT32, load_or_enomem


def _errtext():
    return load_or_enomem("twinsock.errtext")


def bad_argument(what, value):
    """The EINVAL for argument `what` (host, address, port, bufsize or
    "receive: bufsize") given as `value`."""
    index = ("host", "address", "port", "bufsize", "receive: bufsize").index(what)
    raise _errtext().must(what, (0, 0, 1, 2, 3)[index], value)


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
    if type(value) is not int or not 0 <= value <= MAX_INT32:
        bad_argument(what, value)
    return value


def check_buffer(buf, what):
    kind = type(buf)
    if kind is bytearray or kind is memoryview:
        return
    if buf is None or isinstance(buf, (bytes, str, int, float, list, tuple)):
        raise _errtext().must(what + ": buffer", 4, kind.__name__)


def check_key(key, what):
    if type(key) is not int:
        raise _errtext().must(what + ": option key", 5, key)


def option_name(key):
    return _errtext().option_name(key)
