# A connected UDP socket whose peer port is closed: where the platform reports the
# ICMP port-unreachable (CPython and the unix port, on Linux), the next receive fails
# at once with ECONNREFUSED instead of waiting out its timeout. lwIP (rp2, esp32)
# never passes the ICMP message to the socket (PLATFORMS.md), so the stand-ins,
# which imitate lwIP, are not asked. That nothing more is sent is counted on the
# wire in tests/faults/test_icmp_refused.py.
import twinsock
from expect import elapsed_ms, now_ms, raises

RUNTIMES = ("cpython", "micropython-unix")


def closed_udp_port():
    with twinsock.udp_socket() as s:
        s.bind("127.0.0.1", 0)
        return s.get_local_port()


def test_udp_receive_from_refused_peer_fails_at_once(peer):
    port = closed_udp_port()
    with twinsock.udp_socket() as s:
        s.connect("127.0.0.1", port)
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 3000)
        for receive, arg in ((s.receive, 100), (s.receive_into, bytearray(100))):
            s.send(b"anyone there?")
            start = now_ms()
            e = raises(twinsock.ECONNREFUSED, receive, arg)
            took = elapsed_ms(start)
            assert took < 1000, "ECONNREFUSED after %d ms, not at once" % took
            assert "receive" in str(e) and "refused" in str(e), str(e)
        # the socket stays usable: once the port listens, the peer is reached
        with twinsock.udp_socket() as listener:
            listener.bind("127.0.0.1", port)
            listener.set_opt(twinsock.OPT_RECV_TIMEOUT, 3000)
            s.send(b"hello")
            data, host, sender = listener.receive_from(100)
            assert data == b"hello"
            listener.send_to(b"back", host, sender)
            assert s.receive(100) == b"back"
