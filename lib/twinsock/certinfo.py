# CertInfo: certificate-based security for SSLConfig. Loaded on first use
# (twinsock.CertInfo): a PSK client never pays for it.
from twinsock.errors import invalid
from twinsock.tls import _bad, _bytes


def _blobs(value, what):
    """Bytes or a list of them, as a tuple of bytes."""
    value = (value,) if isinstance(value, (bytes, bytearray, memoryview)) else value
    if type(value) not in (list, tuple):
        _bad(what, 7, type(value).__name__)
    return tuple(_bytes(item, what) for item in value)


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
            self.trusted_certs = _blobs(trusted_certs, "CertInfo.trusted_certs")
        if client_cert is not None:
            self.client_cert = _bytes(client_cert, "CertInfo.client_cert")
        if client_key is not None:
            self.client_key = _bytes(client_key, "CertInfo.client_key")
        if (client_cert is None) != (client_key is None):
            raise invalid("CertInfo.client_cert and client_key go together")
        if server_cert_validation is not True:
            if type(server_cert_validation) is not bool:
                _bad("CertInfo.server_cert_validation", 8, server_cert_validation)
            self.server_cert_validation = False
        if crls != ():
            self.crls = _blobs(crls, "CertInfo.crls")
