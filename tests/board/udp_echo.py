# UDP: echo of small, empty and MTU-sized datagrams on a connected socket, and
# send_to/receive_from on an unconnected one naming the server as sender.
import hil_env
import twinsock
from hilcheck import ensure, report


def main():
    host, port = hil_env.SERVER_HOST, hil_env.PORTS["udp"]
    with twinsock.udp_socket() as sock:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 3000)
        sock.connect(host, port)
        ensure(sock.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED, "not connected")
        for payload in (b"hello board", b"", bytes(range(256)) * 5):
            sock.send(payload)
            echoed = sock.receive(2048)
            ensure(
                echoed == payload, "echo of %d bytes came back as %d" % (len(payload), len(echoed))
            )
        buf = bytearray(64)
        sock.send(b"into")
        n = sock.receive_into(buf)
        ensure(bytes(buf[:n]) == b"into", "receive_into got %r" % bytes(buf[:n]))
        report("udp_bytes_sent", sock.get_opt(twinsock.OPT_BYTES_SENT))
    with twinsock.udp_socket() as sock:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 3000)
        sock.send_to(b"WHOAMI", host, port)
        data, sender, sender_port = sock.receive_from(128)
        ensure((sender, sender_port) == (host, port), "sender %r %r" % (sender, sender_port))
        seen_host, seen_port = data.decode().split()
        ensure(
            int(seen_port) == sock.get_local_port(),
            "local port %d, server saw %s" % (sock.get_local_port(), seen_port),
        )


main()
