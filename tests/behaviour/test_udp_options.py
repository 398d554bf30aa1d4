# UDP sockets: timeouts, options, readiness and error paths, against the host
# server's `udp` service (see tools/hostserver).
import twinsock
from expect import REPLY_TIMEOUT_MS, elapsed_ms, now_ms, raises

# It looks up a name that must fail: run in a private namespace whose DNS is
# 127.0.0.1 (tests/conftest.py), so the look-up never leaves the machine.
HOSTS = {}


def connected(peer, config=None):
    s = twinsock.udp_socket(config)
    s.connect(peer.host, peer.port("udp"))
    # a missing reply fails the test in seconds, not after the 30 s default
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
    return s


def test_udp_receive_timeout_expires_in_time_and_socket_stays_usable(peer):
    with connected(peer) as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 300)
        s.send(b"SILENT")
        start = now_ms()
        raises(twinsock.ETIMEDOUT, s.receive, 100)
        took = elapsed_ms(start)
        assert 250 <= took <= 600, "timeout after %d ms" % took
        s.send(b"after the timeout")
        assert s.receive(100) == b"after the timeout"


def test_udp_every_receive_honours_the_timeout(peer):
    with twinsock.udp_socket() as s:
        s.bind("127.0.0.1", 0)
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 150)
        raises(twinsock.ETIMEDOUT, s.receive_from, 10)
        raises(twinsock.ETIMEDOUT, s.receive_from_into, bytearray(10))
        raises(twinsock.ETIMEDOUT, s.receive, 10)
        raises(twinsock.ETIMEDOUT, s.receive_into, bytearray(10))


def test_udp_delayed_reply_arrives_within_timeout(peer):
    with connected(peer) as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 2000)
        s.send(b"DELAY 150 late")
        start = now_ms()
        assert s.receive(100) == b"late"
        assert elapsed_ms(start) >= 100


def test_udp_no_timeout_waits_for_the_reply(peer):
    with connected(peer) as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, None)
        s.send(b"DELAY 200 eventually")
        assert s.receive(100) == b"eventually"


def test_udp_byte_counters_count_payload(peer):
    with connected(peer) as s:
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == 0
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == 0
        s.send(b"12345")
        assert s.receive(100) == b"12345"
        s.send(b"SEND 100")
        s.receive(200)
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == 5 + 8
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == 5 + 100
        s.send(b"abc")
        assert s.receive_into(bytearray(10)) == 3
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == 5 + 8 + 3
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == 5 + 100 + 3


def test_udp_byte_counters_count_send_to_and_receive_from(peer):
    with twinsock.udp_socket() as s:
        s.bind("127.0.0.1", 0)
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
        s.send_to(b"1234", peer.host, peer.port("udp"))
        s.receive_from(100)
        s.send_to(b"123456", peer.host, peer.port("udp"))
        s.receive_from_into(bytearray(100))
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == 10
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == 10


def test_udp_truncated_datagram_counts_the_stored_bytes(peer):
    # avs_net counts what the caller got: the truncated part is not received
    with connected(peer) as s:
        s.send(b"SEND 100")
        raises(twinsock.EMSGSIZE, s.receive, 10)
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == 10


def test_udp_mtu_and_inner_mtu_ipv4(peer):
    with connected(peer) as s:
        mtu = s.get_opt(twinsock.OPT_MTU)
        assert type(mtu) is int
        assert mtu >= 576
        assert s.get_opt(twinsock.OPT_INNER_MTU) == mtu - 28


def test_udp_forced_mtu_is_honoured(peer):
    with connected(peer, twinsock.SocketConfig(forced_mtu=1000)) as s:
        assert s.get_opt(twinsock.OPT_MTU) == 1000
        assert s.get_opt(twinsock.OPT_INNER_MTU) == 972


def test_udp_address_family_after_connect(peer):
    with connected(peer) as s:
        assert s.get_opt(twinsock.OPT_ADDR_FAMILY) == twinsock.AF_INET4


def test_udp_poll_returns_the_readable_socket_objects(peer):
    with connected(peer) as a, connected(peer) as b:
        assert twinsock.poll([a, b], 50) == []
        b.send(b"for b")
        ready = twinsock.poll([a, b], 2000)
        assert len(ready) == 1
        assert ready[0] is b
        assert b.receive(100) == b"for b"
        assert twinsock.poll([a, b], 0) == []


def test_udp_system_socket_is_available(peer):
    with connected(peer) as s:
        assert s.get_system_socket() is not None


def test_udp_dns_failure_raises_eaddrnotavail(peer):
    with twinsock.udp_socket() as s:
        raises(twinsock.EADDRNOTAVAIL, s.connect, "no-such-host.invalid", 5683)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        raises(twinsock.EADDRNOTAVAIL, s.send_to, b"x", "no-such-host.invalid", 5683)


def test_udp_bind_to_a_port_in_use_raises_eaddrinuse(peer):
    with twinsock.udp_socket() as a, twinsock.udp_socket() as b:
        a.bind("127.0.0.1", 0)
        raises(twinsock.EADDRINUSE, b.bind, "127.0.0.1", a.get_local_port())
        assert b.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED


def test_udp_reuse_addr_allows_a_shared_port(peer):
    config = twinsock.SocketConfig(reuse_addr=True)
    with twinsock.udp_socket(config) as a, twinsock.udp_socket(config) as b:
        a.bind("127.0.0.1", 0)
        b.bind("127.0.0.1", a.get_local_port())
        assert b.get_local_port() == a.get_local_port()


def test_udp_system_socket_can_be_polled(peer):
    import select

    with connected(peer) as s:
        poller = select.poll()
        poller.register(s.get_system_socket(), select.POLLIN)
        assert poller.poll(0) == []
        s.send(b"wake")
        assert len(poller.poll(2000)) == 1
        assert s.receive(10) == b"wake"


def test_udp_send_after_shutdown_fails(peer):
    with connected(peer) as s:
        s.shutdown()
        raises((twinsock.EPIPE, twinsock.ENOTCONN), s.send, b"x")


def test_udp_zero_timeout_does_not_wait(peer):
    with connected(peer) as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 0)
        start = now_ms()
        raises(twinsock.ETIMEDOUT, s.receive, 10)
        assert elapsed_ms(start) < 150
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 2000)
        s.send(b"then wait")
        assert s.receive(100) == b"then wait"


def test_udp_huge_receive_size_is_a_result_or_enomem(peer):
    # A board cannot always spare 64 KiB; running out is NetError(ENOMEM), never a
    # raw MemoryError.
    with connected(peer) as s:
        s.send(b"small")
        try:
            assert s.receive(65507) == b"small"
        except twinsock.NetError as e:
            assert e.errno == twinsock.ENOMEM, e


def test_poll_waits_for_its_timeout(peer):
    with connected(peer) as s:
        start = now_ms()
        assert twinsock.poll([s], 200) == []
        took = elapsed_ms(start)
        assert 150 <= took <= 500, "poll returned after %d ms" % took


def test_poll_rejects_bad_arguments(peer):
    with connected(peer) as s:
        raises(twinsock.EINVAL, twinsock.poll, [s], -5)
        raises(twinsock.EINVAL, twinsock.poll, [s], "10")
        raises(twinsock.EINVAL, twinsock.poll, [object()], 10)
        raises(twinsock.EINVAL, twinsock.poll, 5, 10)
    raises(twinsock.EBADF, twinsock.poll, [s], 10)
