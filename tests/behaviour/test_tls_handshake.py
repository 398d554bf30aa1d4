# TLS handshakes (twinsock.ssl_socket): PSK, ciphersuites, session resumption,
# decorate() (STARTTLS) and peers that are not what they should be (plain text,
# silent, refusing, wanting a client certificate), against the host server's
# tls_echo, tls_psk_echo, tls_client_auth_echo and plain TCP services
# (tools/hostserver). See test_tls_checks.py for why the TLS tests are split.
import twinsock
from expect import REPLY_TIMEOUT_MS, elapsed_ms, now_ms, raises, require
from secure_echo import (
    HANDSHAKE_LIMIT_MS,
    check_tls_echo as check_echo,
    tls_cert_config as cert_config,
    tls_handshake_fails as handshake_fails,
    tls_psk_config as psk_config,
    tls_socket,
)

# -- PSK ------------------------------------------------------------------------------


def test_tls_wrong_psk_is_rejected(peer):
    identity = psk_config(peer).security.identity
    config = twinsock.SSLConfig(twinsock.PskInfo(identity, b"not the right key"))
    handshake_fails(config, peer.host, peer.port("tls_psk_echo"), "PSK")


def test_tls_psk_with_a_chosen_ciphersuite(peer):
    # TLS_PSK_WITH_AES_128_GCM_SHA256 (0x00A8), which every engine here builds in;
    # an id no engine knows is ignored beside it
    with tls_socket(psk_config(peer, ciphersuites=[0xFFF0, 0x00A8])) as s:
        s.connect(peer.host, peer.port("tls_psk_echo"))
        check_echo(s, b"over a chosen suite")


def test_tls_only_unknown_ciphersuites_is_enotsup(peer):
    with tls_socket(psk_config(peer, ciphersuites=[0xFFF0])) as s:
        e = raises(twinsock.ENOTSUP, s.connect, peer.host, peer.port("tls_psk_echo"))
        assert "ciphersuite" in str(e), str(e)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED


# -- session resumption ---------------------------------------------------------------


def test_tls_session_resumption(peer):
    config = cert_config(peer, session_resumption_buffer=bytearray(4096))
    if not twinsock.features()["session_resumption"]:
        # where the engine cannot resume, asking for it is an ordinary full
        # handshake, and the options read False (as avs_net backends do)
        with tls_socket(config) as s:
            for _ in range(2):
                s.connect("localhost", peer.port("tls_echo"))
                assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is False
                assert s.get_opt(twinsock.OPT_CONNECTION_ID_RESUMED) is False
                check_echo(s)
                s.close()
    require("session_resumption")
    with tls_socket(config) as s:
        s.connect("localhost", peer.port("tls_echo"))
        assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is False
        check_echo(s)
    assert any(config.session_resumption_buffer), "no session stored"
    with tls_socket(config) as s:
        s.connect("localhost", peer.port("tls_echo"))
        assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is True
        check_echo(s, b"resumed")
    # a fresh buffer means a full handshake
    fresh = cert_config(peer, session_resumption_buffer=bytearray(4096))
    with tls_socket(fresh) as s:
        s.connect("localhost", peer.port("tls_echo"))
        assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is False


def test_tls_close_then_connect_resumes(peer):
    # no buffer: the socket object keeps its session, as avs_net does
    with tls_socket(cert_config(peer)) as s:
        s.connect("localhost", peer.port("tls_echo"))
        assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is False
        check_echo(s)
        s.close()
        s.connect("localhost", peer.port("tls_echo"))
        resumed = twinsock.features()["session_resumption"]
        assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is resumed
        check_echo(s, b"after close and connect")


# -- decorate (STARTTLS) ----------------------------------------------------------------


def test_tls_decorate_connected_tcp_socket(peer):
    config = cert_config(peer)
    tcp = twinsock.tcp_socket()
    try:
        tcp.connect("localhost", peer.port("tls_echo"))
        s = tls_socket(config)
    except Exception:
        tcp.cleanup()
        raise
    with s:
        s.decorate(tcp)  # handshakes at once, verifying "localhost"
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED
        assert s.get_remote_hostname() == "localhost"
        assert s.get_remote_port() == peer.port("tls_echo")
        check_echo(s, b"after STARTTLS")
    # the TLS socket owned the backend: cleaning it up cleaned the TCP socket up
    raises(twinsock.EBADF, tcp.get_opt, twinsock.OPT_STATE)


def test_tls_decorate_then_connect(peer):
    config = cert_config(peer)
    tcp = twinsock.tcp_socket()
    s = tls_socket(config)
    with s:
        s.decorate(tcp)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        s.connect("localhost", peer.port("tls_echo"))
        check_echo(s)


def test_tls_decorate_needs_a_tcp_backend(peer):
    config = cert_config(peer)
    with twinsock.udp_socket() as udp:
        with twinsock.ssl_socket(config) as s:
            raises(twinsock.EINVAL, s.decorate, udp)
            raises(twinsock.EINVAL, s.decorate, "not a socket")


def test_tls_decorated_handshake_failure_is_tls_error(peer):
    # STARTTLS to a server whose certificate we cannot verify
    config = cert_config(peer)
    tcp = twinsock.tcp_socket()
    with twinsock.ssl_socket(config) as s:
        try:
            tcp.connect("localhost", peer.port("tls_untrusted"))
        except Exception:
            tcp.cleanup()
            raise
        e = raises(twinsock.EPROTO, s.decorate, tcp)
        assert isinstance(e, twinsock.TLSError)
        assert "unknown CA" in str(e), str(e)


# -- peers that are not a TLS server as expected --------------------------------------


def test_tls_plaintext_peer_is_tls_error(peer):
    # tcp_echo sends our ClientHello back: not a ServerHello
    handshake_fails(cert_config(peer), peer.host, peer.port("tcp_echo"))


def test_tls_handshake_with_silent_peer_honours_receive_timeout(peer):
    # tcp_silent accepts and never answers: the handshake waits OPT_RECV_TIMEOUT
    with tls_socket(cert_config(peer)) as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 300)
        start = now_ms()
        raises(twinsock.ETIMEDOUT, s.connect, peer.host, peer.port("tcp_silent"))
        took = elapsed_ms(start)
        assert 250 <= took <= 600, "handshake gave up after %d ms" % took
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        # and the socket connects again to a real server
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
        s.connect("localhost", peer.port("tls_echo"))
        check_echo(s, b"after a timed-out handshake")


def test_tls_handshake_with_dripping_peer_ends_at_one_deadline(peer):
    # tls_drip announces a 16 KB record and sends a byte of it every 200 ms: each
    # byte wakes the handshake, none restarts its clock
    with tls_socket(cert_config(peer)) as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 500)
        start = now_ms()
        e = raises(twinsock.ETIMEDOUT, s.connect, "localhost", peer.port("tls_drip"))
        took = elapsed_ms(start)
        assert isinstance(e, twinsock.TLSError), repr(e)
        assert 500 <= took <= 800, "handshake gave up after %d ms" % took
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        s.close()
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
        s.connect("localhost", peer.port("tls_echo"))
        check_echo(s, b"after a dripping peer")


def test_tls_connection_refused_is_not_a_tls_error(peer):
    with tls_socket(cert_config(peer)) as s:
        e = raises(twinsock.ECONNREFUSED, s.connect, peer.host, peer.port("tcp_refused"))
        assert not isinstance(e, twinsock.TLSError), repr(e)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED


def test_tls_missing_client_certificate_is_tls_error(peer):
    # tls_client_auth_echo wants a client certificate; we send none. The server
    # refuses and closes, during the handshake (TLS 1.2) or right after it (1.3,
    # where the client has finished first): either way a TLSError, not a raw
    # socket error, and no hang.
    with tls_socket(cert_config(peer)) as s:
        start = now_ms()
        try:
            s.connect("localhost", peer.port("tls_client_auth_echo"))
            s.send(b"let me in")
            data = s.receive(100)
        except twinsock.TLSError as e:
            assert e.errno == twinsock.EPROTO, repr(e)
        except twinsock.NetError as e:
            raise AssertionError("expected a TLSError, got %r" % e)
        else:
            raise AssertionError("server without our certificate answered %r" % data)
        assert elapsed_ms(start) < HANDSHAKE_LIMIT_MS
