# CertInfo: certificate-based security for SSLConfig. Loaded on first use
# (twinsock.CertInfo, twinsock.tlsconfig.CertInfo): a PSK client never pays for it.
from twinsock.errors import invalid
from twinsock.tlsconfig import _bad, _bytes


class CertInfo:
    """Certificates: trusted CAs, own certificate and key, CRLs; bytes only."""

    def __init__(
        self,
        trusted_certs=(),
        client_cert=None,
        client_key=None,
        server_cert_validation=True,
        crls=(),
    ):
        self.trusted_certs = _bytes(trusted_certs, "CertInfo.trusted_certs", True)
        self.client_cert = _bytes(client_cert, "CertInfo.client_cert", None)
        self.client_key = _bytes(client_key, "CertInfo.client_key", None)
        if (self.client_cert is None) != (self.client_key is None):
            raise invalid("CertInfo.client_cert and client_key go together")
        if type(server_cert_validation) is not bool:
            _bad("CertInfo.server_cert_validation", 8, server_cert_validation)
        self.server_cert_validation = server_cert_validation
        self.crls = _bytes(crls, "CertInfo.crls", True)
