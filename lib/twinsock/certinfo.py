# CertInfo: certificate-based security for SSLConfig. Loaded on first use
# (twinsock.CertInfo, twinsock.tlsconfig.CertInfo): a PSK client never pays for it.
from twinsock.errors import invalid
from twinsock.tlsconfig import _bad, _bytes


class CertInfo:
    """Certificates: trusted CAs, own certificate and key, CRLs; bytes only."""

    # Defaults on the class: an instance holds only what was given (heap).
    trusted_certs = ()
    client_cert = None
    client_key = None
    server_cert_validation = True
    crls = ()

    def __init__(
        self,
        trusted_certs=(),
        client_cert=None,
        client_key=None,
        server_cert_validation=True,
        crls=(),
    ):
        if trusted_certs != ():
            self.trusted_certs = _bytes(trusted_certs, "CertInfo.trusted_certs", True)
        if client_cert is not None or client_key is not None:
            self.client_cert = _bytes(client_cert, "CertInfo.client_cert", None)
            self.client_key = _bytes(client_key, "CertInfo.client_key", None)
            if (self.client_cert is None) != (self.client_key is None):
                raise invalid("CertInfo.client_cert and client_key go together")
        if server_cert_validation is not True:
            if type(server_cert_validation) is not bool:
                _bad("CertInfo.server_cert_validation", 8, server_cert_validation)
            self.server_cert_validation = False
        if crls != ():
            self.crls = _bytes(crls, "CertInfo.crls", True)
