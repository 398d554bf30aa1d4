# DTLS sockets (twinsock.dtls_socket) against the host server's dtls_echo
# (certificate of this run's CA) and dtls_psk_echo (tools/hostserver/secure.py):
# every record is echoed as one record.
# test_dtls_handshake.py has the handshake cases. Every socket is closed by `with`
# when its test ends.
import twinsock
from expect import REPLY_TIMEOUT_MS, elapsed_ms, now_ms, pattern, raises, require
from secure_echo import (
    check_dtls_echo as check_echo,
    dtls_cert_config as cert_config,
    dtls_connected as connected,
    dtls_psk_config as psk_config,
    dtls_socket,
)

# -- echo --------------------------------------------------------------------------


def test_dtls_echo_with_certificate(peer):
    with connected(peer) as s:
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED
        check_echo(s)


def test_dtls_echo_with_certificate_by_ip_san(peer):
    with connected(peer, host=peer.host) as s:
        check_echo(s)


def test_dtls_echo_with_psk(peer):
    with connected(peer, psk_config(peer), "dtls_psk_echo", peer.host) as s:
        check_echo(s, b"hello over dtls-psk")


def test_dtls_echo_over_ipv6(peer):
    require("ipv6")
    with dtls_socket(cert_config(peer)) as s:
        s.connect(peer.host6, peer.port6("dtls_echo"))
        assert s.get_remote_host() == "::1"
        check_echo(s)


def test_dtls_empty_send_is_harmless(peer):
    with connected(peer) as s:
        s.send(b"")
        check_echo(s, b"after an empty send")


def test_dtls_one_datagram_per_send_and_receive(peer):
    with connected(peer) as s:
        for payload in (b"one", b"two", b"three"):
            s.send(payload)
        assert s.receive(100) == b"one"
        buf = bytearray(100)
        assert s.receive_into(buf) == 3 and buf[:3] == b"two"
        assert s.receive(100) == b"three"
        assert s.get_opt(twinsock.OPT_HAS_BUFFERED_DATA) is False
        assert twinsock.poll([s], 0) == []
        s.send(b"ready?")
        assert twinsock.poll([s], REPLY_TIMEOUT_MS) == [s]
        assert s.receive(100) == b"ready?"


def test_dtls_record_larger_than_buffer_is_truncated(peer):
    with connected(peer) as s:
        s.send(pattern(100))
        e = raises(twinsock.EMSGSIZE, s.receive, 10)
        assert isinstance(e, twinsock.MessageTruncated), repr(e)
        assert e.nbytes == 10
        assert e.data == pattern(10), e.data
        # receive_into: the buffer holds the head of the record
        s.send(pattern(50))
        buf = bytearray(20)
        e = raises(twinsock.EMSGSIZE, s.receive_into, buf)
        assert isinstance(e, twinsock.MessageTruncated), repr(e)
        assert e.nbytes == 20 and bytes(buf) == pattern(20)
        # the rest of each record was dropped: the next receive is the next record
        assert s.get_opt(twinsock.OPT_HAS_BUFFERED_DATA) is False
        check_echo(s, b"after truncation")


def test_dtls_record_that_fills_the_buffer_exactly_is_whole(peer):
    with connected(peer) as s:
        buf = bytearray(32)
        for _ in range(3):
            s.send(pattern(32))
            assert s.receive_into(buf) == 32 and bytes(buf) == pattern(32)
        s.send(pattern(16))
        assert s.receive(16) == pattern(16)
        assert s.get_opt(twinsock.OPT_HAS_BUFFERED_DATA) is False
        check_echo(s, b"after a full buffer")


def test_dtls_receive_timeout_then_usable(peer):
    with connected(peer) as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 300)
        start = now_ms()
        raises(twinsock.ETIMEDOUT, s.receive, 100)
        took = elapsed_ms(start)
        assert 250 <= took <= 600, "timed out after %d ms" % took
        raises(twinsock.ETIMEDOUT, s.receive_into, bytearray(10))
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
        check_echo(s, b"still usable after a timeout")


# -- options ---------------------------------------------------------------------------


def test_dtls_inner_mtu_is_udp_inner_mtu_minus_record_overhead(peer):
    with twinsock.udp_socket() as udp:
        udp.connect(peer.host, peer.port("udp"))
        udp_mtu = udp.get_opt(twinsock.OPT_MTU)
        udp_inner = udp.get_opt(twinsock.OPT_INNER_MTU)
    with connected(peer, host=peer.host) as s:
        assert s.get_opt(twinsock.OPT_MTU) == udp_mtu
        inner = s.get_opt(twinsock.OPT_INNER_MTU)
        assert type(inner) is int
        assert inner < udp_inner, "inner MTU %d, UDP %d" % (inner, udp_inner)
        if udp_inner - 100 > 16384:
            # a loopback MTU (64 KB on Linux) is more than one record can carry:
            # 2^14 plaintext bytes at most (RFC 6347, 4.1)
            assert 16384 - 100 < inner <= 16384, "inner MTU %d, UDP %d" % (inner, udp_inner)
        else:
            # a DTLS 1.2 record header is 13 bytes; AEAD/CBC expansion stays under 100
            overhead = udp_inner - inner
            assert 13 <= overhead < 100, "inner MTU %d, UDP %d" % (inner, udp_inner)
        # the inner MTU is the payload that goes out in one datagram: it must be
        # sendable, and comes back whole
        payload = pattern(inner)
        s.send(payload)
        assert s.receive(inner + 1) == payload
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == inner


def test_dtls_bytes_sent_and_received_count_payload(peer):
    with dtls_socket(cert_config(peer)) as s:
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == 0
        s.connect("localhost", peer.port("dtls_echo"))
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == 0  # the handshake is not payload
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == 0
        check_echo(s, b"0123456789")
        check_echo(s, b"abc")
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == 13
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == 13


def test_dtls_state_and_addresses(peer):
    port = peer.port("dtls_echo")
    with dtls_socket(cert_config(peer)) as s:
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        s.connect("localhost", port)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED
        assert s.get_remote_hostname() == "localhost"
        assert s.get_remote_host() == "127.0.0.1"
        assert s.get_remote_port() == port
        assert type(s.get_local_port()) is int and s.get_local_port() > 0
        raises(twinsock.EISCONN, s.connect, "localhost", port)
        raises(twinsock.ENOTSUP, s.send_to, b"x", peer.host, port)
        raises(twinsock.ENOTSUP, s.receive_from, 10)
        check_echo(s)
        s.close()
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        # a closed DTLS socket can connect (and handshake) again
        s.connect("localhost", port)
        check_echo(s, b"second session")
