# TCP: a clean close reads as EOF (b"" after the data), a reset raises ECONNRESET,
# a port nobody listens on is refused, a silent server times out.
import hil_env
import twinsock
from hilcheck import ensure, pattern_at, raises


def control(command, timeout_ms=5000):
    sock = twinsock.tcp_socket()
    sock.set_opt(twinsock.OPT_RECV_TIMEOUT, timeout_ms)
    sock.connect(hil_env.SERVER_HOST, hil_env.PORTS["tcp_control"])
    sock.send(command + b"\n")
    return sock


def main():
    with control(b"SEND 1000") as sock:
        data = b""
        while True:
            chunk = sock.receive(512)
            if not chunk:
                break
            data += chunk
        ensure(data == pattern_at(0, 1000), "got %d bytes before EOF" % len(data))
        ensure(sock.receive(10) == b"", "EOF is not sticky")
    with control(b"CLOSE") as sock:
        ensure(sock.receive(10) == b"", "no EOF after a clean close")
    with control(b"RESET") as sock:
        raises(twinsock.ECONNRESET, sock.receive, 10)
    with twinsock.tcp_socket() as sock:
        # lwIP (rp2, esp32) answers a refused connect with a reset
        raises(
            (twinsock.ECONNREFUSED, twinsock.ECONNRESET),
            sock.connect,
            hil_env.SERVER_HOST,
            hil_env.PORTS["tcp_refused"],
        )
    with twinsock.tcp_socket() as sock:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 300)
        sock.connect(hil_env.SERVER_HOST, hil_env.PORTS["tcp_silent"])
        raises(twinsock.ETIMEDOUT, sock.receive, 10)
        sock.send(b"still usable")


main()
