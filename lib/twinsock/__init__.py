# twinsock: the avs_net socket API (UDP, TCP, TLS, DTLS) for MicroPython and
# CPython. The UDP/TCP core loads here; (D)TLS loads on first use.
import sys

from twinsock import platform
from twinsock.config import SocketConfig
from twinsock.const import *  # noqa: F403 - the constants are public API
from twinsock.endpoint import ResolvedEndpoint, resolve
from twinsock.errors import (
    EADDRINUSE,
    EADDRNOTAVAIL,
    EBADF,
    ECONNREFUSED,
    ECONNRESET,
    EHOSTUNREACH,
    EINVAL,
    EIO,
    EISCONN,
    EMSGSIZE,
    ENETUNREACH,
    ENOMEM,
    ENOTCONN,
    ENOTSUP,
    EOPNOTSUPP,
    EPIPE,
    EPROTO,
    ERANGE,
    ETIMEDOUT,
    MessageTruncated,
    NetError,
    TLSError,
)
from twinsock.net import TcpSocket, UdpSocket, poll
from twinsock.platform import cleanup, initialize, use_platform, use_tls_engine

__version__ = "0.1.0"

_CORE_FEATURES = ("ipv6", "server")
_SECURE_FEATURES = ("tls", "dtls", "psk", "session_resumption", "connection_id", "dane")


def udp_socket(config=None):
    return UdpSocket(config)


def tcp_socket(config=None):
    return TcpSocket(config)


def features():
    """What the running platform really has, as booleans."""
    from twinsock import platform

    p = platform.get()
    have = p.features()
    engine = platform.tls_engine()  # the first call imports it (ENOMEM if it cannot)
    if engine is not None:
        have.update(engine.features())
    out = {}
    for name in _CORE_FEATURES + _SECURE_FEATURES:
        out[name] = bool(have.get(name, False))
    return out


_LAZY = {
    "SSLConfig": "twinsock.tlsconfig",
    "PskInfo": "twinsock.tlsconfig",
    "CertInfo": "twinsock.tlsconfig",
    "ssl_socket": "twinsock.tls",
    "dtls_socket": "twinsock.tls",
    "ciphersuites": "twinsock.tls",
}


def __getattr__(name):
    # (D)TLS code loads only when an application asks for it: a board that
    # uses plain UDP/TCP never pays its heap.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError("module 'twinsock' has no attribute %r" % name)
    # Not `from twinsock import x`: MicroPython would ask this hook again.
    platform.load_or_enomem(lambda: __import__(module), module)
    value = globals()[name] = getattr(sys.modules[module], name)  # next time: no hook
    return value
