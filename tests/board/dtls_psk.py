# DTLS with a pre-shared key (DTLS 1.2 PSK suite), then record echoes.
import hil_env
import twinsock
from hilcheck import ensure, missing, skip


def main():
    lacking = missing("dtls", "psk")
    if lacking:
        return skip("board lacks " + ", ".join(lacking))
    config = twinsock.SSLConfig(
        twinsock.PskInfo(hil_env.PSK_IDENTITY, hil_env.PSK_KEY),
        dtls_handshake_timeouts=(500, 4000),
    )
    with twinsock.dtls_socket(config) as sock:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 5000)
        sock.connect(hil_env.SERVER_HOST, hil_env.PORTS["dtls_psk_echo"])
        for payload in (b"dtls psk record", b"x" * 1000):
            sock.send(payload)
            ensure(
                sock.receive(2048) == payload, "DTLS-PSK echo of %d bytes differs" % len(payload)
            )


main()
