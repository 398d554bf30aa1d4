# TLS with a pre-shared key (TLS 1.2 PSK suite), then an echo.
import hil_env
import twinsock
from hilcheck import ensure, missing, skip


def main():
    lacking = missing("tls", "psk")
    if lacking:
        return skip("board lacks " + ", ".join(lacking))
    config = twinsock.SSLConfig(twinsock.PskInfo(hil_env.PSK_IDENTITY, hil_env.PSK_KEY))
    with twinsock.ssl_socket(config) as sock:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 10000)
        sock.connect(hil_env.SERVER_HOST, hil_env.PORTS["tls_psk_echo"])
        payload = b"psk echo " * 50
        sock.send(payload)
        got = b""
        while len(got) < len(payload):
            chunk = sock.receive(1024)
            ensure(chunk, "EOF after %d bytes" % len(got))
            got += chunk
        ensure(got == payload, "TLS-PSK echo differs")


main()
