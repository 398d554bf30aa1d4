# UDP sockets against the host server's `udp` service (echo + SEND/EMPTY/SILENT/
# DELAY/WHOAMI requests, see tools/hostserver).
import twinsock
from expect import REPLY_TIMEOUT_MS, pattern, raises, require


def connected(peer, config=None):
    s = twinsock.udp_socket(config)
    s.connect(peer.host, peer.port("udp"))
    # a missing reply fails the test in seconds, not after the 30 s default
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
    return s


def test_udp_echo_send_receive(peer):
    with connected(peer) as s:
        s.send(b"hello twinsock")
        data = s.receive(100)
        assert data == b"hello twinsock"
        assert type(data) is bytes


def test_udp_send_accepts_bytearray_and_memoryview(peer):
    with connected(peer) as s:
        s.send(bytearray(b"from bytearray"))
        assert s.receive(100) == b"from bytearray"
        s.send(memoryview(b"xxfrom memoryview")[2:])
        assert s.receive(100) == b"from memoryview"


def test_udp_receive_into_fills_buffer_and_returns_count(peer):
    with connected(peer) as s:
        s.send(b"abcdef")
        buf = bytearray(16)
        n = s.receive_into(buf)
        assert n == 6
        assert type(n) is int
        assert bytes(buf[:6]) == b"abcdef"
        assert bytes(buf[6:]) == bytes(10)


def test_udp_receive_into_memoryview(peer):
    with connected(peer) as s:
        s.send(b"view")
        buf = bytearray(8)
        n = s.receive_into(memoryview(buf)[2:])
        assert n == 4
        assert bytes(buf) == b"\x00\x00view\x00\x00"


def test_udp_empty_datagram_is_sent_and_received(peer):
    with connected(peer) as s:
        s.send(b"")  # the server echoes the empty datagram back
        assert s.receive(100) == b""
        s.send(b"EMPTY")
        assert s.receive(100) == b""
        s.send(b"")
        assert s.receive_into(bytearray(10)) == 0


def test_udp_exact_size_datagram_is_not_truncated(peer):
    with connected(peer) as s:
        s.send(b"SEND 64")
        assert s.receive(64) == pattern(64)
        s.send(b"SEND 32")
        buf = bytearray(32)
        assert s.receive_into(buf) == 32
        assert bytes(buf) == pattern(32)


def test_udp_large_datagram_keeps_its_content(peer):
    with connected(peer) as s:
        s.send(b"SEND 1400")
        assert s.receive(2048) == pattern(1400)


def test_udp_receive_truncated_raises_message_truncated(peer):
    with connected(peer) as s:
        s.send(b"SEND 100")
        e = raises(twinsock.EMSGSIZE, s.receive, 10)
        assert isinstance(e, twinsock.MessageTruncated)
        assert isinstance(e, twinsock.NetError)
        assert e.nbytes == 10
        assert e.data == pattern(10)
        # the rest of the datagram is gone: the next datagram is the next reply
        s.send(b"next")
        assert s.receive(100) == b"next"


def test_udp_receive_into_truncated_fills_the_buffer(peer):
    with connected(peer) as s:
        s.send(b"SEND 100")
        buf = bytearray(20)
        e = raises(twinsock.EMSGSIZE, s.receive_into, buf)
        assert isinstance(e, twinsock.MessageTruncated)
        assert e.nbytes == 20
        assert bytes(buf) == pattern(20)


def test_udp_send_to_and_receive_from_on_bound_socket(peer):
    with twinsock.udp_socket() as s:
        s.bind("127.0.0.1", 0)
        s.send_to(b"to the peer", peer.host, peer.port("udp"))
        result = s.receive_from(100)
        assert type(result) is tuple
        assert result == (b"to the peer", peer.host, peer.port("udp"))
        assert type(result[2]) is int


def test_udp_receive_from_into_on_bound_socket(peer):
    with twinsock.udp_socket() as s:
        s.bind(None, 0)
        s.send_to(b"into", peer.host, peer.port("udp"))
        buf = bytearray(10)
        result = s.receive_from_into(buf)
        assert result == (4, peer.host, peer.port("udp"))
        assert bytes(buf[:4]) == b"into"


def test_udp_send_to_accepts_numeric_string_port(peer):
    with twinsock.udp_socket() as s:
        s.bind("", 0)
        s.send_to(b"str port", peer.host, str(peer.port("udp")))
        assert s.receive_from(100) == (b"str port", peer.host, peer.port("udp"))


def test_udp_receive_from_truncated_names_the_sender(peer):
    with twinsock.udp_socket() as s:
        s.bind("127.0.0.1", 0)
        s.send_to(b"SEND 50", peer.host, peer.port("udp"))
        e = raises(twinsock.EMSGSIZE, s.receive_from, 8)
        assert isinstance(e, twinsock.MessageTruncated)
        assert e.nbytes == 8
        assert e.host == peer.host
        assert e.port == peer.port("udp")
        if e.data is not None:
            assert e.data == pattern(8)


def test_udp_receive_from_into_truncated_names_the_sender(peer):
    with twinsock.udp_socket() as s:
        s.bind("127.0.0.1", 0)
        s.send_to(b"SEND 50", peer.host, peer.port("udp"))
        buf = bytearray(8)
        e = raises(twinsock.EMSGSIZE, s.receive_from_into, buf)
        assert e.nbytes == 8
        assert bytes(buf) == pattern(8)
        assert (e.host, e.port) == (peer.host, peer.port("udp"))


def test_udp_local_address_is_what_the_peer_sees(peer):
    with connected(peer) as s:
        s.send(b"WHOAMI")
        seen_host, seen_port = s.receive(100).decode().split()
        assert s.get_local_port() == int(seen_port)
        assert s.get_local_port() != 0
        assert type(s.get_local_port()) is int
        assert s.get_local_host() == seen_host


def test_udp_bound_local_port_is_reported(peer):
    with twinsock.udp_socket() as s:
        s.bind("127.0.0.1", 0)
        port = s.get_local_port()
        assert port > 0
        s.send_to(b"WHOAMI", peer.host, peer.port("udp"))
        data, _, _ = s.receive_from(100)
        assert int(data.decode().split()[1]) == port


def test_udp_remote_host_hostname_and_port(peer):
    with twinsock.udp_socket() as s:
        s.connect("localhost", peer.port("udp"))
        assert s.get_remote_hostname() == "localhost"
        assert s.get_remote_host() == "127.0.0.1"
        assert s.get_remote_port() == peer.port("udp")
        s.send(b"via name")
        assert s.receive(100) == b"via name"


def test_udp_connect_accepts_numeric_string_port(peer):
    with twinsock.udp_socket() as s:
        s.connect(peer.host, str(peer.port("udp")))
        assert s.get_remote_port() == peer.port("udp")
        s.send(b"ok")
        assert s.receive(10) == b"ok"


def test_udp_ipv6_echo(peer):
    require("ipv6")
    with twinsock.udp_socket() as s:
        s.connect(peer.host6, peer.port6("udp"))
        s.send(b"over ipv6")
        assert s.receive(100) == b"over ipv6"
        assert s.get_remote_host() == "::1"
        assert s.get_opt(twinsock.OPT_ADDR_FAMILY) == twinsock.AF_INET6
        mtu = s.get_opt(twinsock.OPT_MTU)
        assert s.get_opt(twinsock.OPT_INNER_MTU) == mtu - 48
        s.send(b"WHOAMI")
        seen_host, seen_port = s.receive(100).decode().split()
        assert s.get_local_port() == int(seen_port)
        assert s.get_local_host() == seen_host


def test_udp_one_byte_too_long_is_truncated(peer):
    with connected(peer) as s:
        s.send(b"SEND 65")
        e = raises(twinsock.EMSGSIZE, s.receive, 64)
        assert e.nbytes == 64
        assert e.data == pattern(64)
