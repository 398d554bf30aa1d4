# twinsock: the avs_net socket API (UDP, TCP, TLS, DTLS) for MicroPython and
# CPython. What every application needs loads here; the rest (server side,
# addresses, poll, configuration, (D)TLS) loads on first use, through
# __getattr__ below, so a board pays only for what it calls.
from twinsock.errors import MessageTruncated, NetError  # noqa: F401 - public API
from twinsock.net import TcpSocket, UdpSocket, get, load_or_enomem

# The public constants (avs_net numbering), their one home: served from this
# string on first use, as module globals would cost a board a dict entry each.
_CONSTANTS = (
    " AF_UNSPEC=0 AF_INET4=1 AF_INET6=2"
    " STATE_CLOSED=0 STATE_SHUTDOWN=1 STATE_BOUND=2 STATE_ACCEPTED=3 STATE_CONNECTED=4"
    " OPT_RECV_TIMEOUT=0 OPT_STATE=1 OPT_ADDR_FAMILY=2 OPT_MTU=3 OPT_INNER_MTU=4"
    " OPT_SESSION_RESUMED=5 OPT_BYTES_SENT=6 OPT_BYTES_RECEIVED=7 OPT_DANE_TLSA_ARRAY=8"
    " OPT_HAS_BUFFERED_DATA=9 OPT_DTLS_HANDSHAKE_TIMEOUTS=10 OPT_CONNECTION_ID_RESUMED=11"
    " OPT_PREFERRED_ADDR_FAMILY=12 OPT_FORCED_ADDR_FAMILY=13"
    " TLS_DEFAULT=0 TLSv1_2=6 TLSv1_3=7 "
)
__version__ = "0.1.0"


def udp_socket(config=None):
    return UdpSocket(config)


def tcp_socket(config=None):
    return TcpSocket(config)


def initialize():
    get()


# Public names defined elsewhere, by module, loaded on first use. Every errno
# name twinsock raises (ETIMEDOUT, ...) comes from twinsock.errors the same way.
_LAZY = (
    " config: SocketConfig resolver: ResolvedEndpoint resolve extras: poll features"
    " platform: cleanup use_tls_engine porting: use_platform tlserror: TLSError"
    " certinfo: CertInfo tls: SSLConfig PskInfo ssl_socket dtls_socket tls_extras: ciphersuites "
)


def _lazy_module(name):
    at = _LAZY.find(" " + name + " ")
    if at < 0:
        return "twinsock.errors" if name[:1] == "E" and name.isupper() else None
    start = _LAZY.rindex(" ", 0, _LAZY.rindex(":", 0, at)) + 1
    return "twinsock." + _LAZY[start : _LAZY.index(":", start)]


def __getattr__(name):
    at = _CONSTANTS.find(" " + name + "=")
    if at >= 0:
        at += len(name) + 2
        value = globals()[name] = int(_CONSTANTS[at : _CONSTANTS.index(" ", at)])
        return value
    module = _lazy_module(name)
    if module is None:  # a submodule: `from twinsock import platform`
        try:
            return load_or_enomem("twinsock." + name)
        except ImportError:
            raise AttributeError("module 'twinsock' has no attribute %r" % name)
    # Not `from twinsock import x`: MicroPython would ask this hook again.
    value = getattr(load_or_enomem(module), name, None)
    if value is None:
        raise AttributeError("module 'twinsock' has no attribute %r" % name)
    globals()[name] = value  # next time: no hook
    return value
