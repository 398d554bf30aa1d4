# twinsock's own DTLS 1.2 PSK engine, in the shape of the other TLS engines
# (see docs/TLS_ENGINES.md): tls_psk_core's Dtls over a connected,
# non-blocking platform UDP socket. Runs on MicroPython (cryptolib + hashlib)
# and CPython (cryptography): it brings LwM2M's CCM-8, Connection ID and
# session resumption to stock firmware.
from twinsock.errors import unsupported

from twinsock_port.tls_psk_core import new


def features():
    return {
        "tls": False,
        "dtls": True,
        "psk": True,
        "session_resumption": True,
        "connection_id": True,
        "dane": False,
    }


def Engine(
    sock,
    config,
    dtls=True,
    server_side=False,
    server_hostname=None,
    session=None,
    handshake_timeouts=None,
    mtu=1400,
    client_id=None,
    pending_datagram=None,
):
    """A DTLS 1.2 PSK session (tls_psk_core.Dtls) over `sock`."""
    security = config.security
    if not dtls:
        raise unsupported("the PSK engine speaks DTLS only; TLS needs the platform's engine")
    if not hasattr(security, "identity"):
        raise unsupported("the PSK engine has no certificates; use the platform's engine")
    if getattr(config, "version", 0) == 7:
        raise unsupported("the PSK engine speaks DTLS 1.2 only (SSLConfig.version is 1.3)")
    engine = new(
        server_side,
        security.identity,
        security.key,
        getattr(config, "ciphersuites", None),
        handshake_timeouts or (1000, 60000),
        mtu,
        bool(getattr(config, "use_connection_id", False)),
        session,
        client_id or b"",
    )
    engine._sock = sock
    try:
        if pending_datagram:
            engine.feed(bytes(pending_datagram))
    finally:
        engine._flush()
    return engine
