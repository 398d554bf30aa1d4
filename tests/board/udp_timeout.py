# UDP: a receive on a silent server times out with ETIMEDOUT within bounds, and the
# socket goes on working (a late reply is still delivered).
import hil_env
import twinsock
from hilcheck import elapsed_ms, ensure, raises, report, ticks_ms

TIMEOUT_MS = 300
SLACK_MS = 700  # ESP32 polls in 100 ms steps; a busy board adds a little


def main():
    with twinsock.udp_socket() as sock:
        sock.connect(hil_env.SERVER_HOST, hil_env.PORTS["udp"])
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, TIMEOUT_MS)
        sock.send(b"SILENT")
        start = ticks_ms()
        raises(twinsock.ETIMEDOUT, sock.receive, 100)
        waited = elapsed_ms(start)
        report("udp_timeout_ms", waited)
        ensure(TIMEOUT_MS - 20 <= waited <= TIMEOUT_MS + SLACK_MS, "timed out after %d ms" % waited)
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 3000)
        sock.send(b"DELAY 100 late")
        ensure(sock.receive(100) == b"late", "no reply after a timeout")
        sock.send(b"again")
        ensure(sock.receive(100) == b"again", "socket unusable after a timeout")


main()
