# TLS certificate rejection: a server certificate from a CA the board does not trust,
# an expired one, and a name the certificate does not carry all fail the handshake
# with TLSError and a message a person can act on; nothing is left open.
import hil_env
import twinsock
from hilcheck import ensure, missing, skip


def rejected(service, server_name=None):
    config = twinsock.SSLConfig(
        twinsock.CertInfo(trusted_certs=hil_env.CA), server_name_indication=server_name
    )
    with twinsock.ssl_socket(config) as sock:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 10000)
        try:
            sock.connect(hil_env.SERVER_HOST, hil_env.PORTS[service])
        except twinsock.TLSError as error:
            ensure(error.errno == twinsock.EPROTO, "errno %r: %s" % (error.errno, error))
            return error.args[-1] if error.args else str(error)
    raise AssertionError("%s: the handshake succeeded" % service)


def expect(message, *words):
    ensure(message.startswith("certificate verify failed"), "message: %r" % message)
    for word in words:
        ensure(word in message, "%r not in %r" % (word, message))
    print("rejected:", message)


def main():
    lacking = missing("tls")
    if lacking:
        return skip("board lacks " + ", ".join(lacking))
    expect(rejected("tls_untrusted"), "unknown CA")
    expect(rejected("tls_expired"), "expired")
    expect(rejected("tls_echo", "wrong.example"), "hostname mismatch", "wrong.example")


main()
