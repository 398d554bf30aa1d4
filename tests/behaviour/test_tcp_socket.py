# TCP sockets against the host server's tcp_echo, tcp_whoami, tcp_control,
# tcp_silent and tcp_refused services (see tools/hostserver).
import twinsock
from expect import REPLY_TIMEOUT_MS, elapsed_ms, now_ms, pattern, raises, receive_exactly, require

# It looks up a name that must fail: run in a private namespace whose DNS is
# 127.0.0.1 (tests/conftest.py), so the look-up never leaves the machine.
HOSTS = {}


def connected(peer, service="tcp_echo", config=None):
    s = twinsock.tcp_socket(config)
    s.connect(peer.host, peer.port(service))
    # a missing reply fails the test in seconds, not after the 30 s default
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
    return s


def receive_until_eof(s, limit=1 << 20):
    data = b""
    while len(data) <= limit:
        chunk = s.receive(4096)
        if chunk == b"":
            return data
        data += chunk
    raise AssertionError("no EOF after %d bytes" % len(data))


def receive_line(s):
    line = b""
    while not line.endswith(b"\n"):
        chunk = s.receive(1)
        assert chunk != b"", "EOF inside a line"
        line += chunk
    return line.decode().strip()


def test_tcp_echo(peer):
    with connected(peer) as s:
        s.send(b"hello over tcp")
        data = receive_exactly(s, 14)
        assert data == b"hello over tcp"
        assert type(data) is bytes


def test_tcp_receive_into(peer):
    with connected(peer) as s:
        s.send(b"0123456789")
        buf = bytearray(10)
        got = 0
        while got < 10:
            n = s.receive_into(memoryview(buf)[got:])
            assert n > 0
            got += n
        assert bytes(buf) == b"0123456789"


def test_tcp_large_transfer_keeps_integrity(peer):
    # 64 KiB through the echo in 4 KiB sends, each chunk different: small buffers,
    # because a Pico W heap has no large contiguous block to spare.
    chunk_size, chunks = 4096, 16
    source = memoryview(pattern(chunk_size + 251))
    buf = bytearray(chunk_size)
    view = memoryview(buf)
    with connected(peer) as s:
        for i in range(chunks):
            chunk = source[(i * 7) % 251 :][:chunk_size]
            s.send(chunk)
            got = 0
            while got < chunk_size:
                n = s.receive_into(view[got:])
                assert n > 0, "EOF after %d of %d bytes" % (
                    i * chunk_size + got,
                    chunks * chunk_size,
                )
                got += n
            assert buf == chunk, "chunk %d differs" % i
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == chunks * chunk_size
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == chunks * chunk_size


def test_tcp_peer_close_gives_empty_bytes(peer):
    with connected(peer, "tcp_control") as s:
        s.send(b"SEND 5000\n")
        assert receive_until_eof(s) == pattern(5000)
        assert s.receive(100) == b""
        assert s.receive_into(bytearray(10)) == 0


def test_tcp_peer_close_without_data(peer):
    with connected(peer, "tcp_control") as s:
        s.send(b"CLOSE\n")
        assert s.receive(100) == b""


def test_tcp_connection_reset_raises_econnreset(peer):
    with connected(peer, "tcp_control") as s:
        s.send(b"RESET\n")
        raises(twinsock.ECONNRESET, s.receive, 100)


def test_tcp_reset_stays_an_error_and_never_looks_like_a_clean_end(peer):
    # After a reset the OS reports end of stream; a cut stream must not pass
    # for a complete one.
    with connected(peer, "tcp_control") as s:
        s.send(b"RESET\n")
        raises(twinsock.ECONNRESET, s.receive, 100)
        raises(twinsock.ECONNRESET, s.receive, 100)
        raises(twinsock.ECONNRESET, s.receive_into, bytearray(8))


def test_tcp_refused_raises_econnrefused_and_socket_can_connect_again(peer):
    with twinsock.tcp_socket() as s:
        raises(twinsock.ECONNREFUSED, s.connect, peer.host, peer.port("tcp_refused"))
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        s.connect(peer.host, peer.port("tcp_echo"))
        s.send(b"second try")
        assert receive_exactly(s, 10) == b"second try"


def test_tcp_dns_failure_raises_eaddrnotavail(peer):
    with twinsock.tcp_socket() as s:
        raises(twinsock.EADDRNOTAVAIL, s.connect, "no-such-host.invalid", 80)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED


def test_tcp_receive_timeout_expires_in_time_and_socket_stays_usable(peer):
    with connected(peer) as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 300)
        start = now_ms()
        raises(twinsock.ETIMEDOUT, s.receive, 100)
        took = elapsed_ms(start)
        assert 250 <= took <= 600, "timeout after %d ms" % took
        raises(twinsock.ETIMEDOUT, s.receive_into, bytearray(10))
        s.send(b"still alive")
        assert receive_exactly(s, 11) == b"still alive"


def test_tcp_silent_peer_times_out(peer):
    with connected(peer, "tcp_silent") as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 200)
        s.send(b"anyone there?")
        raises(twinsock.ETIMEDOUT, s.receive, 10)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED


def test_tcp_local_address_is_what_the_peer_sees(peer):
    with connected(peer, "tcp_whoami") as s:
        seen_host, seen_port, server_host, server_port = receive_line(s).split()
        assert s.get_local_port() == int(seen_port)
        assert s.get_local_host() == seen_host
        assert s.get_remote_host() == server_host
        assert s.get_remote_port() == int(server_port) == peer.port("tcp_whoami")


def test_tcp_remote_host_hostname_and_port(peer):
    with twinsock.tcp_socket() as s:
        s.connect("localhost", peer.port("tcp_echo"))
        assert s.get_remote_hostname() == "localhost"
        assert s.get_remote_host() == "127.0.0.1"
        assert s.get_remote_port() == peer.port("tcp_echo")
        assert type(s.get_remote_port()) is int


def test_tcp_bind_and_accept(peer):
    with twinsock.tcp_socket() as server:
        server.bind("127.0.0.1", 0)
        assert server.get_opt(twinsock.OPT_STATE) == twinsock.STATE_BOUND
        port = server.get_local_port()
        assert port > 0
        with twinsock.tcp_socket() as client:
            client.connect("127.0.0.1", port)
            with server.accept() as conn:
                assert conn.get_opt(twinsock.OPT_STATE) == twinsock.STATE_ACCEPTED
                assert conn.get_remote_host() == "127.0.0.1"
                assert conn.get_remote_port() == client.get_local_port()
                assert conn.get_local_port() == port
                client.send(b"to the server")
                assert receive_exactly(conn, 13) == b"to the server"
                conn.send(b"to the client")
                assert receive_exactly(client, 13) == b"to the client"
                client.close()
                assert conn.receive(10) == b""


def test_tcp_accept_a_connection_from_the_peer(peer):
    with twinsock.tcp_socket() as server:
        server.bind(None, 0)
        with connected(peer, "tcp_control") as control:
            control.send(("CONNECT 127.0.0.1 %d\n" % server.get_local_port()).encode())
            with server.accept() as conn:
                assert receive_line(control) == "OK"
                assert conn.get_remote_host() == "127.0.0.1"
                conn.send(b"echo me")
                assert receive_exactly(conn, 7) == b"echo me"


def test_tcp_accept_honours_the_timeout(peer):
    with twinsock.tcp_socket() as server:
        server.bind("127.0.0.1", 0)
        server.set_opt(twinsock.OPT_RECV_TIMEOUT, 200)
        raises(twinsock.ETIMEDOUT, server.accept)


def test_tcp_has_no_buffered_data(peer):
    with connected(peer) as s:
        s.send(b"x")
        receive_exactly(s, 1)
        assert s.get_opt(twinsock.OPT_HAS_BUFFERED_DATA) is False


def test_tcp_address_family_after_connect(peer):
    with connected(peer) as s:
        assert s.get_opt(twinsock.OPT_ADDR_FAMILY) == twinsock.AF_INET4


def test_tcp_ipv6_echo(peer):
    require("ipv6")
    with twinsock.tcp_socket() as s:
        s.connect(peer.host6, peer.port6("tcp_whoami"))
        seen_host, seen_port, _, _ = receive_line(s).split()
        assert s.get_local_port() == int(seen_port)
        assert s.get_local_host() == seen_host == "::1"
        assert s.get_remote_host() == "::1"
        assert s.get_opt(twinsock.OPT_ADDR_FAMILY) == twinsock.AF_INET6
        s.send(b"v6")
        assert receive_exactly(s, 2) == b"v6"


def test_tcp_poll_returns_the_readable_socket_objects(peer):
    with connected(peer) as a, connected(peer) as b:
        assert twinsock.poll([a, b], 50) == []
        a.send(b"for a")
        ready = twinsock.poll([a, b], 2000)
        assert len(ready) == 1
        assert ready[0] is a
        assert receive_exactly(a, 5) == b"for a"


def test_tcp_send_to_is_refused(peer):
    with connected(peer) as s:
        try:
            s.send_to(b"x", peer.host, peer.port("tcp_echo"))
        except twinsock.NetError:
            return
        raise AssertionError("send_to on TCP did not raise NetError")


def test_tcp_send_after_peer_reset_raises_net_error(peer):
    with connected(peer, "tcp_control") as s:
        s.send(b"RESET\n")
        raises(twinsock.ECONNRESET, s.receive, 10)
        # the connection is gone: sending fails with a NetError, never a raw error
        try:
            for _ in range(3):
                s.send(b"more")
        except twinsock.NetError:
            return
        raise AssertionError("send on a reset connection did not fail")


def test_tcp_bind_to_a_listening_port_raises_eaddrinuse(peer):
    with twinsock.tcp_socket() as a, twinsock.tcp_socket() as b:
        a.bind("127.0.0.1", 0)
        raises(twinsock.EADDRINUSE, b.bind, "127.0.0.1", a.get_local_port())


def test_tcp_send_after_shutdown_fails(peer):
    with connected(peer) as s:
        s.shutdown()
        raises((twinsock.EPIPE, twinsock.ENOTCONN), s.send, b"x")


def test_tcp_receive_after_shutdown_ends_at_once(peer):
    with connected(peer, "tcp_echo") as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 5000)
        s.shutdown()
        start = now_ms()
        assert s.receive(10) == b""
        assert s.receive_into(bytearray(4)) == 0
        assert elapsed_ms(start) < 1000
        raises(twinsock.EPIPE, s.send, b"more")
