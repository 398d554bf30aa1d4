# What the TLS and DTLS behaviour files share: configurations for the host server's
# secure services (tools/hostserver/secure.py, certificates from this run's PKI),
# sockets with a short receive timeout, echo checks and a failing-handshake check.
# Runs on CPython and MicroPython alike.
import twinsock
from expect import REPLY_TIMEOUT_MS, elapsed_ms, now_ms, raises, receive_exactly, require

# Longer than any loopback handshake, far shorter than the 30 s default: a peer
# that hangs fails the test quickly instead of stalling the run.
HANDSHAKE_LIMIT_MS = 5000


def _cert_config(kind, peer, trusted, suffix, kwargs):
    require(kind)
    return twinsock.SSLConfig(twinsock.CertInfo(trusted_certs=peer.pki(trusted, suffix)), **kwargs)


def _psk_config(kind, peer, key, kwargs):
    require(kind)
    require("psk")
    identity, right_key = peer.psk()
    return twinsock.SSLConfig(twinsock.PskInfo(identity, key or right_key), **kwargs)


def tls_cert_config(peer, trusted="ca", suffix=".pem", **kwargs):
    return _cert_config("tls", peer, trusted, suffix, kwargs)


def dtls_cert_config(peer, trusted="ca", suffix=".pem", **kwargs):
    return _cert_config("dtls", peer, trusted, suffix, kwargs)


def tls_psk_config(peer, key=None, **kwargs):
    return _psk_config("tls", peer, key, kwargs)


def dtls_psk_config(peer, key=None, **kwargs):
    return _psk_config("dtls", peer, key, kwargs)


def tls_socket(config):
    s = twinsock.ssl_socket(config)
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
    return s


def dtls_socket(config):
    s = twinsock.dtls_socket(config)
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
    return s


def dtls_connected(peer, config=None, service="dtls_echo", host="localhost"):
    s = dtls_socket(config or dtls_cert_config(peer))
    try:
        s.connect(host, peer.port(service))
    except Exception:
        s.cleanup()
        raise
    return s


def check_tls_echo(s, payload=b"hello over tls"):
    s.send(payload)
    data = receive_exactly(s, len(payload))
    assert data == payload, data
    assert type(data) is bytes


def check_dtls_echo(s, payload=b"hello over dtls"):
    # one record back, whole, in one receive
    s.send(payload)
    data = s.receive(len(payload) + 100)
    assert data == payload, data
    assert type(data) is bytes


def tls_handshake_fails(config, host, port, *words):
    """connect must fail promptly with a TLSError (EPROTO) whose message holds every
    one of `words`; the socket is CLOSED afterwards. Returns the error."""
    with tls_socket(config) as s:
        start = now_ms()
        e = raises(twinsock.EPROTO, s.connect, host, port)
        took = elapsed_ms(start)
        assert isinstance(e, twinsock.TLSError), repr(e)
        for word in words:
            assert word in str(e), "%r not in %r" % (word, str(e))
        assert took < HANDSHAKE_LIMIT_MS, "failing handshake took %d ms" % took
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
    return e
