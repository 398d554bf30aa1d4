# DTLS handshakes (twinsock.dtls_socket): the retransmission timers and
# OPT_DTLS_HANDSHAKE_TIMEOUTS, failures (a peer that never answers: a UDP socket of
# the test's own; a wrong PSK; certificate checks), decorate() and session
# resumption, against the host server's dtls_echo and dtls_psk_echo
# (tools/hostserver/secure.py). test_dtls_socket.py has the data path; the two are
# separate files so that each fits a 192K MicroPython heap.
import twinsock
from expect import REPLY_TIMEOUT_MS, elapsed_ms, now_ms, raises, require
from secure_echo import (
    check_dtls_echo as check_echo,
    dtls_cert_config as cert_config,
    dtls_connected as connected,
    dtls_psk_config as psk_config,
    dtls_socket,
)


def silent_port():
    """A bound UDP socket that never answers: a DTLS peer that is not there."""
    quiet = twinsock.udp_socket()
    quiet.bind("127.0.0.1", 0)
    return quiet


def drain(s):
    """The datagrams waiting on UDP socket `s`, without waiting for more."""
    got = []
    while twinsock.poll([s], 0):
        got.append(s.receive(2048))
    return got


# -- handshake failures -------------------------------------------------------------------


def test_dtls_handshake_with_silent_peer_times_out_on_its_timers(peer):
    with silent_port() as quiet, dtls_socket(cert_config(peer)) as s:
        s.set_opt(twinsock.OPT_DTLS_HANDSHAKE_TIMEOUTS, (100, 400))
        # the handshake is bounded by the handshake timeouts, not by this
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 50)
        start = now_ms()
        e = raises(twinsock.ETIMEDOUT, s.connect, "127.0.0.1", quiet.get_local_port())
        took = elapsed_ms(start)
        assert isinstance(e, twinsock.TLSError), repr(e)
        # sends at 0, 100 and 300 ms; the 400 ms wait ends at 700 ms
        assert 600 <= took <= 900, "gave up after %d ms" % took
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        hellos = drain(quiet)
        assert len(hellos) == 3, [len(h) for h in hellos]
        for hello in hellos:
            assert hello[0] == 22 and hello[13] == 1, "not a ClientHello: %r" % hello[:16]
        # a resend is the same message in a record with a number never used before:
        # a peer drops a record number it has seen (RFC 6347 4.1.2.6)
        numbers = [int.from_bytes(hello[5:11], "big") for hello in hellos]
        assert numbers[0] < numbers[1] < numbers[2], numbers
        assert hellos[1][11:] == hellos[0][11:] and hellos[2][11:] == hellos[0][11:], (
            "resends differ"
        )
        # the failed socket connects again, to a peer that answers
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
        s.connect("localhost", peer.port("dtls_echo"))
        check_echo(s, b"after a timed-out handshake")


def test_dtls_wrong_psk_fails_without_hang(peer):
    config = psk_config(peer, b"not the right key", dtls_handshake_timeouts=(100, 400))
    with dtls_socket(config) as s:
        start = now_ms()
        e = raises(
            (twinsock.EPROTO, twinsock.ETIMEDOUT), s.connect, peer.host, peer.port("dtls_psk_echo")
        )
        took = elapsed_ms(start)
        assert isinstance(e, twinsock.TLSError), repr(e)
        assert "PSK" in str(e), str(e)
        # the peer drops our Finished silently; only the library can resend an
        # encrypted flight (its timer: 1 s doubling), as often as (100, 400) would
        # (twice), then 400 ms more: about 3.4 s
        assert took < 4500, "wrong PSK took %d ms" % took
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED


def test_dtls_plaintext_peer_fails_without_hang(peer):
    # the udp service sends our ClientHello back: not a ServerHello
    with dtls_socket(cert_config(peer, dtls_handshake_timeouts=(100, 400))) as s:
        start = now_ms()
        e = raises((twinsock.EPROTO, twinsock.ETIMEDOUT), s.connect, peer.host, peer.port("udp"))
        assert isinstance(e, twinsock.TLSError), repr(e)
        assert elapsed_ms(start) < 2000
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED


def test_dtls_refused_port_fails_at_once(peer):
    # nothing bound there: the ICMP port-unreachable ends the handshake at once
    # (the lwIP stand-ins report it as ECONNRESET, as their plain UDP sockets do)
    with twinsock.udp_socket() as gone:
        gone.bind("127.0.0.1", 0)
        port = gone.get_local_port()
    with dtls_socket(cert_config(peer, dtls_handshake_timeouts=(300, 1200))) as s:
        start = now_ms()
        e = raises((twinsock.ECONNREFUSED, twinsock.ECONNRESET), s.connect, "127.0.0.1", port)
        took = elapsed_ms(start)
        assert not isinstance(e, twinsock.TLSError), repr(e)
        # over before the first resend was due (300 ms): one ClientHello, nothing more
        # (counted on the wire in tests/faults/test_icmp_refused.py)
        assert took < 300, "refused handshake took %d ms" % took
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED


def test_dtls_hostname_mismatch_is_rejected(peer):
    config = cert_config(peer, server_name_indication="not-the-server.example")
    with dtls_socket(config) as s:
        e = raises(twinsock.EPROTO, s.connect, "localhost", peer.port("dtls_echo"))
        assert isinstance(e, twinsock.TLSError), repr(e)
        assert "hostname mismatch" in str(e), str(e)


def test_dtls_untrusted_ca_is_rejected(peer):
    with dtls_socket(cert_config(peer, trusted="other_ca")) as s:
        e = raises(twinsock.EPROTO, s.connect, "localhost", peer.port("dtls_echo"))
        assert isinstance(e, twinsock.TLSError), repr(e)
        assert "unknown CA" in str(e), str(e)


# -- decorate, resumption ------------------------------------------------------------------


def test_dtls_decorate_connected_udp_socket(peer):
    config = cert_config(peer)
    udp = twinsock.udp_socket()
    try:
        udp.connect("localhost", peer.port("dtls_echo"))
        s = dtls_socket(config)
    except Exception:
        udp.cleanup()
        raise
    with s:
        s.decorate(udp)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED
        check_echo(s, b"decorated")
    raises(twinsock.EBADF, udp.get_opt, twinsock.OPT_STATE)


def test_dtls_close_then_connect_resumes(peer):
    # as avs_net: the object keeps its session; Connection ID asked for where no
    # engine has it is an ordinary handshake; both options are readable everywhere
    config = cert_config(peer, use_connection_id=True)
    resumed = twinsock.features()["session_resumption"]
    with connected(peer, config) as s:
        assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is False
        assert s.get_opt(twinsock.OPT_CONNECTION_ID_RESUMED) is False
        check_echo(s)
        s.close()
        s.connect("localhost", peer.port("dtls_echo"))
        assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is resumed
        assert s.get_opt(twinsock.OPT_CONNECTION_ID_RESUMED) is False
        check_echo(s, b"after close and connect")


def test_dtls_session_resumption(peer):
    config = cert_config(peer, session_resumption_buffer=bytearray(2048))
    if not twinsock.features()["session_resumption"]:
        with connected(peer, config) as s:  # a full handshake, nothing stored
            assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is False
        assert not any(config.session_resumption_buffer)
    require("session_resumption")
    with connected(peer, config) as s:
        assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is False
        check_echo(s)
    with connected(peer, config) as s:
        assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is True
        check_echo(s, b"resumed")


def test_dtls_psk_session_resumption(peer):
    # a DTLS-PSK socket that asks for resumption gets an engine that resumes
    # wherever features() says psk_session_resumption (on MicroPython twinsock's
    # own engine, although the platform's cannot: session_resumption is False)
    config = psk_config(peer, session_resumption_buffer=bytearray(2048))
    require("psk_session_resumption")
    with connected(peer, config, "dtls_psk_echo") as s:
        assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is False
        check_echo(s)
        s.close()  # close() + connect() of the same object resumes too
        s.connect("localhost", peer.port("dtls_psk_echo"))
        assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is True
        check_echo(s, b"after close and connect")
    with connected(peer, config, "dtls_psk_echo") as s:
        assert s.get_opt(twinsock.OPT_SESSION_RESUMED) is True
        check_echo(s, b"resumed from the buffer")


# -- options ---------------------------------------------------------------------------


def test_dtls_handshake_timeouts_option(peer):
    with twinsock.dtls_socket(cert_config(peer)) as s:
        assert s.get_opt(twinsock.OPT_DTLS_HANDSHAKE_TIMEOUTS) == (1000, 60000)
        s.set_opt(twinsock.OPT_DTLS_HANDSHAKE_TIMEOUTS, (100, 400))
        assert s.get_opt(twinsock.OPT_DTLS_HANDSHAKE_TIMEOUTS) == (100, 400)
        s.set_opt(twinsock.OPT_DTLS_HANDSHAKE_TIMEOUTS, [250, 250])
        assert s.get_opt(twinsock.OPT_DTLS_HANDSHAKE_TIMEOUTS) == (250, 250)
        for bad in ((0, 100), (400, 100), (-100, 400), (100,), (100, 200, 300), "100", None):
            raises(twinsock.EINVAL, s.set_opt, twinsock.OPT_DTLS_HANDSHAKE_TIMEOUTS, bad)
        raises(twinsock.EINVAL, s.set_opt, twinsock.OPT_DTLS_HANDSHAKE_TIMEOUTS, (100.0, 400))
        # a bad value leaves the option as it was
        assert s.get_opt(twinsock.OPT_DTLS_HANDSHAKE_TIMEOUTS) == (250, 250)
    with twinsock.dtls_socket(cert_config(peer, dtls_handshake_timeouts=(200, 800))) as s:
        assert s.get_opt(twinsock.OPT_DTLS_HANDSHAKE_TIMEOUTS) == (200, 800)
    require("dtls")
    info = twinsock.CertInfo(trusted_certs=peer.pki("ca"))
    raises(twinsock.EINVAL, twinsock.SSLConfig, info, dtls_handshake_timeouts=(0, 10))


def test_dtls_ciphersuites_the_engine_lacks_are_named(peer):
    have = twinsock.ciphersuites()
    assert have == sorted(have), have
    assert 0xC02B in have, have  # ECDHE-ECDSA-AES128-GCM-SHA256: every engine has it
    # LwM2M's TLS_PSK_WITH_AES_128_CCM_8 where the firmware lacks it (MicroPython),
    # and an id no engine knows
    ids = [i for i in (0xC0A8,) if i not in have] + [0xFFFE]
    with dtls_socket(psk_config(peer, ciphersuites=ids)) as s:
        e = raises(twinsock.ENOTSUP, s.connect, peer.host, peer.port("dtls_psk_echo"))
        assert "0xFFFE" in str(e), str(e)
        if 0xC0A8 in ids:
            assert "TLS_PSK_WITH_AES_128_CCM_8" in str(e), str(e)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
