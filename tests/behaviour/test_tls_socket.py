# TLS sockets (twinsock.ssl_socket) against the host server's secure services
# (tools/hostserver/secure.py): tls_echo (certificate of this run's CA for localhost,
# 127.0.0.1 and ::1), tls_psk_echo, tls_client_auth_echo, tls_expired and
# tls_untrusted. Certificates are read from the run's PKI directory (peer.pki).
# Every socket is closed by `with` as soon as its test is done: on a 192K MicroPython
# heap a TLS session is a large share.
import twinsock
from expect import REPLY_TIMEOUT_MS, elapsed_ms, now_ms, pattern, raises, receive_exactly, require
from secure_echo import (
    check_tls_echo as check_echo,
    tls_cert_config as cert_config,
    tls_psk_config as psk_config,
    tls_socket,
)

# -- echo --------------------------------------------------------------------------


def test_tls_echo_verified_by_name(peer):
    with tls_socket(cert_config(peer)) as s:
        s.connect("localhost", peer.port("tls_echo"))
        check_echo(s)


def test_tls_echo_verified_by_ip_san(peer):
    # The server certificate names 127.0.0.1 as an IP SAN: checked, not sent as SNI.
    with tls_socket(cert_config(peer)) as s:
        s.connect(peer.host, peer.port("tls_echo"))
        check_echo(s)


def test_tls_echo_over_ipv6_verified_by_ip_san(peer):
    require("ipv6")
    with tls_socket(cert_config(peer)) as s:
        s.connect(peer.host6, peer.port6("tls_echo"))
        assert s.get_remote_host() == "::1"
        check_echo(s)


def test_tls_trusted_ca_as_der(peer):
    with tls_socket(cert_config(peer, suffix=".der")) as s:
        s.connect("localhost", peer.port("tls_echo"))
        check_echo(s)


def test_tls_psk_echo(peer):
    with tls_socket(psk_config(peer)) as s:
        s.connect(peer.host, peer.port("tls_psk_echo"))
        check_echo(s, b"hello over tls-psk")


def test_tls_client_certificate_echo(peer):
    require("tls")
    info = twinsock.CertInfo(
        trusted_certs=peer.pki("ca"),
        client_cert=peer.pki("client"),
        client_key=peer.pki("client_key"),
    )
    with tls_socket(twinsock.SSLConfig(info)) as s:
        s.connect("localhost", peer.port("tls_client_auth_echo"))
        check_echo(s, b"hello with a client certificate")


def test_tls_large_echo_across_records(peer):
    # 20 KB in flight: more than one 16 KB TLS record, sent in 2000-byte chunks
    # each starting at another offset of the pattern, received into a small buffer
    # and checked byte by byte (no large contiguous allocation on a small heap).
    chunk, count = 2000, 10
    source = memoryview(pattern(chunk + 251))
    buf = bytearray(512)
    with tls_socket(cert_config(peer)) as s:
        s.connect("localhost", peer.port("tls_echo"))
        for i in range(count):
            s.send(source[(i * 7) % 251 :][:chunk])
        got = 0
        while got < chunk * count:
            n = s.receive_into(buf)
            assert n > 0, "EOF after %d of %d bytes" % (got, chunk * count)
            for j in range(n):
                i, offset = divmod(got + j, chunk)
                if buf[j] != ((i * 7) % 251 + offset) % 251:
                    raise AssertionError("corrupt at byte %d" % (got + j))
            got += n
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == chunk * count
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == chunk * count


def test_tls_empty_send_is_harmless(peer):
    with tls_socket(cert_config(peer)) as s:
        s.connect("localhost", peer.port("tls_echo"))
        s.send(b"")
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == 0
        check_echo(s, b"after an empty send")


# -- timeouts, buffered data, counters, state -----------------------------------------


def test_tls_receive_timeout_then_usable(peer):
    with tls_socket(cert_config(peer)) as s:
        s.connect("localhost", peer.port("tls_echo"))
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 300)
        start = now_ms()
        raises(twinsock.ETIMEDOUT, s.receive, 100)
        took = elapsed_ms(start)
        assert 250 <= took <= 600, "timed out after %d ms" % took
        # a second timeout, then the session still carries data both ways
        raises(twinsock.ETIMEDOUT, s.receive_into, bytearray(10))
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
        check_echo(s, b"still usable after a timeout")


def test_tls_receive_from_dripping_peer_ends_at_one_deadline(peer):
    # tls_drip_data sends a 16000-byte record whose first 8 bytes come 200 ms apart:
    # each wakes the receive, none restarts its clock; then the rest comes at once
    with tls_socket(cert_config(peer)) as s:
        s.connect("localhost", peer.port("tls_drip_data"))
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 500)
        start = now_ms()
        raises(twinsock.ETIMEDOUT, s.receive, 100)
        took = elapsed_ms(start)
        assert 500 <= took <= 800, "timed out after %d ms" % took
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
        buf = bytearray(2000)
        total = 0
        while total < 16000:  # in pieces: 16 KB at once is much for a 192K heap
            n = s.receive_into(buf)
            assert n and buf[:n] == b"d" * n, (total, n)
            total += n
        assert total == 16000, total


def test_tls_buffered_data_and_poll(peer):
    first, second = b"first line\n", b"second line\n"
    with tls_socket(cert_config(peer)) as s:
        s.connect("localhost", peer.port("tls_echo"))
        assert s.get_opt(twinsock.OPT_HAS_BUFFERED_DATA) is False
        s.send(first)
        s.send(second)
        assert twinsock.poll([s], REPLY_TIMEOUT_MS) == [s]
        head = s.receive(4)
        assert head == first[:4], head
        # the rest of the first record is decrypted and waiting inside the engine,
        # where the platform socket's readiness cannot see it
        assert s.get_opt(twinsock.OPT_HAS_BUFFERED_DATA) is True
        ready = twinsock.poll([s], 0)
        assert ready == [s] and ready[0] is s, ready
        rest = receive_exactly(s, len(first) + len(second) - 4)
        assert head + rest == first + second, head + rest
        assert s.get_opt(twinsock.OPT_HAS_BUFFERED_DATA) is False
        assert twinsock.poll([s], 0) == []
        # a receive that comes up short of its buffer has taken the whole record
        s.send(first)
        assert twinsock.poll([s], REPLY_TIMEOUT_MS) == [s]
        assert s.receive(100) == first
        assert s.get_opt(twinsock.OPT_HAS_BUFFERED_DATA) is False
        assert twinsock.poll([s], 0) == []


def test_tls_bytes_sent_and_received_count_payload(peer):
    with tls_socket(cert_config(peer)) as s:
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == 0
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == 0
        s.connect("localhost", peer.port("tls_echo"))
        # the handshake is not payload
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == 0
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == 0
        check_echo(s, b"0123456789")
        s.send(b"abc")
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == 13
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == 10
        assert receive_exactly(s, 3) == b"abc"
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == 13


def test_tls_state_transitions_and_reconnect(peer):
    with tls_socket(cert_config(peer)) as s:
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        s.connect("localhost", peer.port("tls_echo"))
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED
        raises(twinsock.EISCONN, s.connect, "localhost", peer.port("tls_echo"))
        check_echo(s)
        s.shutdown()
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_SHUTDOWN
        s.close()
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        s.close()  # closing twice is harmless
        # a closed TLS socket can connect (and handshake) again
        s.connect("localhost", peer.port("tls_echo"))
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED
        check_echo(s, b"second session")
        s.close()
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
    raises(twinsock.EBADF, s.get_opt, twinsock.OPT_STATE)


def test_tls_remote_and_local_address_forwarded(peer):
    port = peer.port("tls_echo")
    with tls_socket(cert_config(peer)) as s:
        s.connect("localhost", port)
        assert s.get_remote_hostname() == "localhost"
        assert s.get_remote_host() == "127.0.0.1"
        assert s.get_remote_port() == port
        assert type(s.get_remote_port()) is int
        assert s.get_local_host() == "127.0.0.1"
        assert type(s.get_local_port()) is int and s.get_local_port() > 0
        assert s.get_opt(twinsock.OPT_ADDR_FAMILY) == twinsock.AF_INET4
        assert s.get_system_socket() is not None


def test_tls_datagram_only_calls_are_enotsup(peer):
    with tls_socket(cert_config(peer)) as s:
        s.connect("localhost", peer.port("tls_echo"))
        raises(twinsock.ENOTSUP, s.send_to, b"x", peer.host, peer.port("tls_echo"))
        raises(twinsock.ENOTSUP, s.receive_from, 10)
        raises(twinsock.ENOTSUP, s.get_opt, twinsock.OPT_INNER_MTU)
        check_echo(s)


def test_tls_after_shutdown_receive_ends_and_send_is_epipe(peer):
    # As on TCP: nothing more arrives after our shutdown, and sending is EPIPE,
    # never an engine message about the handshake.
    with tls_socket(cert_config(peer)) as s:
        s.connect("localhost", peer.port("tls_echo"))
        check_echo(s)
        s.shutdown()
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_SHUTDOWN
        start = now_ms()
        assert s.receive(10) == b""
        assert elapsed_ms(start) < 1000
        raises(twinsock.EPIPE, s.send, b"more")
