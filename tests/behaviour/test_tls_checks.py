# TLS certificate checks (twinsock.ssl_socket): trust, expiry, hostname and SNI,
# validation on by default and off only when asked, against the host server's
# tls_echo, tls_expired and tls_untrusted (tools/hostserver/secure.py).
# The TLS tests are split over test_tls_socket.py (data path), this file and
# test_tls_handshake.py so that each fits a 192K MicroPython heap with twinsock's
# TLS code compiled from source.
import twinsock
from expect import raises, require
from secure_echo import (
    check_tls_echo as check_echo,
    tls_cert_config as cert_config,
    tls_handshake_fails as handshake_fails,
    tls_socket,
)

# -- certificate checks -------------------------------------------------------------


def test_tls_untrusted_ca_is_rejected(peer):
    # tls_untrusted's certificate is signed by a CA we do not trust
    handshake_fails(
        cert_config(peer),
        "localhost",
        peer.port("tls_untrusted"),
        "certificate verify failed",
        "unknown CA",
    )


def test_tls_wrong_trusted_ca_is_rejected(peer):
    # a valid server certificate, but we trust only the other CA
    handshake_fails(
        cert_config(peer, trusted="other_ca"),
        "localhost",
        peer.port("tls_echo"),
        "certificate verify failed",
        "unknown CA",
    )


def test_tls_expired_certificate_is_rejected(peer):
    handshake_fails(
        cert_config(peer),
        "localhost",
        peer.port("tls_expired"),
        "certificate verify failed",
        "expired",
    )


def test_tls_hostname_mismatch_via_sni_is_rejected(peer):
    handshake_fails(
        cert_config(peer, server_name_indication="not-the-server.example"),
        "localhost",
        peer.port("tls_echo"),
        "certificate verify failed",
        "hostname mismatch",
        "not-the-server.example",
    )


def test_tls_sni_names_the_checked_host(peer):
    # connect by address, verify (and send SNI) as localhost: the certificate has it
    with tls_socket(cert_config(peer, server_name_indication="localhost")) as s:
        s.connect(peer.host, peer.port("tls_echo"))
        check_echo(s)


def test_tls_validation_off_explicitly_connects(peer):
    require("tls")
    # no trusted certificates at all, an untrusted and an expired server certificate
    for service in ("tls_untrusted", "tls_expired"):
        info = twinsock.CertInfo(server_cert_validation=False)
        with tls_socket(twinsock.SSLConfig(info)) as s:
            s.connect("localhost", peer.port(service))
            check_echo(s, b"unverified " + service.encode())


def test_tls_validation_is_on_by_default(peer):
    require("tls")
    # no trusted certificates and no explicit opt-out: refused, with the way out named
    with tls_socket(twinsock.SSLConfig(twinsock.CertInfo())) as s:
        e = raises(twinsock.EPROTO, s.connect, "localhost", peer.port("tls_echo"))
        assert isinstance(e, twinsock.TLSError), repr(e)
        assert "server_cert_validation" in str(e), str(e)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED


def test_tls_sni_over_255_characters_is_erange(peer):
    require("tls")
    long_name = ("a" * 63 + ".") * 4 + "com"  # 259 characters of valid labels
    assert len(long_name) > 255
    info = twinsock.CertInfo(trusted_certs=peer.pki("ca"))
    e = raises(twinsock.ERANGE, twinsock.SSLConfig, info, server_name_indication=long_name)
    assert "server_name_indication" in str(e)
    # the same name put into a config after construction: refused by ssl_socket
    config = twinsock.SSLConfig(info)
    config.server_name_indication = long_name
    raises(twinsock.ERANGE, twinsock.ssl_socket, config)
    # 255 characters are still a name
    name = ("a" * 63 + ".") * 3 + "b" * 63
    assert len(name) == 255
    twinsock.SSLConfig(info, server_name_indication=name)


def test_tls_minimum_version_1_3(peer):
    # TLS 1.3 as the minimum: a handshake where the engine has it (tls_echo offers
    # 1.2 and 1.3), else ENOTSUP naming the version; never a silent downgrade
    with tls_socket(cert_config(peer, version=twinsock.TLSv1_3)) as s:
        try:
            s.connect("localhost", peer.port("tls_echo"))
        except twinsock.NetError as e:
            assert e.errno == twinsock.ENOTSUP, repr(e)
            assert "1.3" in str(e), str(e)
            return
        check_echo(s, b"over tls 1.3")
