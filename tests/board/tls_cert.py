# TLS with certificates: the server's certificate verified against the run's CA,
# by numeric address and by name (SNI), then an echo; and mutual TLS: a server that
# requires a client certificate gets the board's.
import hil_env
import twinsock
from hilcheck import ensure, missing, report, skip


def echo(sock, payload):
    sock.send(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.receive(2048)
        ensure(chunk, "EOF after %d bytes" % len(got))
        got += chunk
    ensure(got == payload, "TLS echo differs")


def connect(server_name=None, service="tls_echo", client=False, ca=None):
    security = twinsock.CertInfo(
        trusted_certs=ca or hil_env.CA,
        client_cert=hil_env.CLIENT_CERT if client else None,
        client_key=hil_env.CLIENT_KEY if client else None,
    )
    config = twinsock.SSLConfig(security, server_name_indication=server_name)
    sock = twinsock.ssl_socket(config)
    sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 10000)
    sock.connect(hil_env.SERVER_HOST, hil_env.PORTS[service])
    return sock


def main():
    lacking = missing("tls")
    if lacking:
        return skip("board lacks " + ", ".join(lacking))
    with connect() as sock:  # checked against the address in the certificate
        echo(sock, b"tls by address " * 100)
        report("tls_bytes_sent", sock.get_opt(twinsock.OPT_BYTES_SENT))
    with connect(hil_env.SERVER_NAME, ca=hil_env.CA_PEM) as sock:  # by name, CA as PEM
        echo(sock, b"tls by name")
    with connect(service="tls_client_auth_echo", client=True) as sock:
        echo(sock, b"mutual tls")


main()
