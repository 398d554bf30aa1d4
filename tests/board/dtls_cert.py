# DTLS with certificates: handshake against the run's CA, then record echoes
# (each record comes back whole, an empty one too is sent).
import hil_env
import twinsock
from hilcheck import ensure, missing, skip


def main():
    lacking = missing("dtls")
    if lacking:
        return skip("board lacks " + ", ".join(lacking))
    config = twinsock.SSLConfig(
        twinsock.CertInfo(trusted_certs=hil_env.CA), dtls_handshake_timeouts=(500, 4000)
    )
    with twinsock.dtls_socket(config) as sock:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 5000)
        sock.connect(hil_env.SERVER_HOST, hil_env.PORTS["dtls_echo"])
        for payload in (b"dtls record", bytes(range(256)) * 4):
            sock.send(payload)
            ensure(sock.receive(2048) == payload, "DTLS echo of %d bytes differs" % len(payload))
        inner = sock.get_opt(twinsock.OPT_INNER_MTU)
        ensure(0 < inner < sock.get_opt(twinsock.OPT_MTU), "OPT_INNER_MTU %r" % inner)


main()
