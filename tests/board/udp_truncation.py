# UDP: a datagram larger than the buffer raises MessageTruncated after filling it,
# and the socket goes on working.
import hil_env
import twinsock
from hilcheck import ensure, pattern_at


def main():
    with twinsock.udp_socket() as sock:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 3000)
        sock.connect(hil_env.SERVER_HOST, hil_env.PORTS["udp"])
        sock.send(b"SEND 600")
        try:
            sock.receive(100)
        except twinsock.MessageTruncated as error:
            ensure(error.errno == twinsock.EMSGSIZE, "errno %r" % error.errno)
            ensure(error.nbytes == 100, "nbytes %r" % error.nbytes)
            ensure(error.data == pattern_at(0, 100), "truncated data is not the head")
        else:
            raise AssertionError("a 600-byte datagram fitted a 100-byte receive")
        buf = bytearray(50)
        sock.send(b"SEND 80")
        try:
            sock.receive_into(buf)
            raise AssertionError("an 80-byte datagram fitted a 50-byte buffer")
        except twinsock.MessageTruncated as error:
            ensure(error.nbytes == 50 and bytes(buf) == pattern_at(0, 50), "receive_into")
        sock.send(b"after")
        ensure(sock.receive(100) == b"after", "socket unusable after truncation")


main()
