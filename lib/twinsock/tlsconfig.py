# SSLConfig and its security modes (avs_net_ssl_configuration_t).
from twinsock.const import TLS_DEFAULT, TLSv1_2, TLSv1_3
from twinsock.errors import EPROTO, ERANGE, NetError, invalid

_BYTES = (bytes, bytearray, memoryview)


class TLSError(NetError):
    """A (D)TLS failure: `alert` is the TLS alert number or None, `lib_code`
    the engine's own error code or None."""

    def __init__(self, message, code=EPROTO, alert=None, lib_code=None):
        super().__init__(code, message)
        self.alert = alert
        self.lib_code = lib_code


def _check_bytes(value, what, optional=False):
    if optional and value is None:
        return None
    if not isinstance(value, _BYTES) or not len(value):
        raise invalid(
            "%s must be non-empty bytes (PEM or DER), not %r" % (what, type(value).__name__)
        )
    return bytes(value)


def _check_bytes_list(value, what):
    if isinstance(value, _BYTES):
        value = (value,)
    if not isinstance(value, (list, tuple)):
        raise invalid("%s must be bytes or a list of bytes" % what)
    return tuple(_check_bytes(item, what) for item in value)


class PskInfo:
    """Pre-shared key: identity and key, both raw bytes."""

    def __init__(self, identity, key):
        self.identity = _check_bytes(identity, "PskInfo.identity")
        self.key = _check_bytes(key, "PskInfo.key")

    def __repr__(self):
        return "PskInfo(identity=%r, key=<%d bytes>)" % (self.identity, len(self.key))


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
        self.trusted_certs = _check_bytes_list(trusted_certs, "CertInfo.trusted_certs")
        self.client_cert = _check_bytes(client_cert, "CertInfo.client_cert", True)
        self.client_key = _check_bytes(client_key, "CertInfo.client_key", True)
        if (self.client_cert is None) != (self.client_key is None):
            raise invalid("CertInfo.client_cert and client_key go together")
        if type(server_cert_validation) is not bool:
            raise invalid("CertInfo.server_cert_validation must be a bool")
        self.server_cert_validation = server_cert_validation
        self.crls = _check_bytes_list(crls, "CertInfo.crls")


class SSLConfig:
    def __init__(
        self,
        security,
        version=TLS_DEFAULT,
        server_name_indication=None,
        session_resumption_buffer=None,
        dtls_handshake_timeouts=(1000, 60000),
        ciphersuites=None,
        use_connection_id=False,
        backend_configuration=None,
    ):
        self.security = security
        self.version = version
        self.server_name_indication = server_name_indication
        self.session_resumption_buffer = session_resumption_buffer
        self.dtls_handshake_timeouts = dtls_handshake_timeouts
        self.ciphersuites = ciphersuites
        self.use_connection_id = use_connection_id
        self.backend_configuration = backend_configuration
        self.validate()

    def validate(self):
        if not isinstance(self.security, (PskInfo, CertInfo)):
            raise invalid("SSLConfig.security must be a PskInfo or a CertInfo")
        if self.version not in (TLS_DEFAULT, TLSv1_2, TLSv1_3) or type(self.version) is not int:
            raise invalid("SSLConfig.version must be TLS_DEFAULT, TLSv1_2 or TLSv1_3")
        sni = self.server_name_indication
        if sni is not None:
            if type(sni) is not str or not sni:
                raise invalid("SSLConfig.server_name_indication must be a non-empty str or None")
            if len(sni) > 255:
                raise NetError(ERANGE, "SSLConfig.server_name_indication is over 255 characters")
            if "\x00" in sni or not all(
                0 < len(label) <= 63 for label in sni.rstrip(".").split(".")
            ):
                # a NUL would cut the name mbedTLS verifies against; labels are 1..63
                raise invalid("SSLConfig.server_name_indication is not a host name: %r" % sni[:64])
        buf = self.session_resumption_buffer
        if buf is not None and not isinstance(buf, bytearray):
            raise invalid("SSLConfig.session_resumption_buffer must be a bytearray or None")
        self.dtls_handshake_timeouts = check_handshake_timeouts(
            self.dtls_handshake_timeouts, "SSLConfig.dtls_handshake_timeouts"
        )
        suites = self.ciphersuites
        if suites is not None:
            if not isinstance(suites, (list, tuple)) or not all(
                type(s) is int and 0 <= s <= 0xFFFF for s in suites
            ):
                raise invalid("SSLConfig.ciphersuites must be a list of IANA ids (ints) or None")
        if type(self.use_connection_id) is not bool:
            raise invalid("SSLConfig.use_connection_id must be a bool")
        backend = self.backend_configuration
        if backend is not None and not isinstance(backend, _socket_config()):
            raise invalid("SSLConfig.backend_configuration must be a SocketConfig or None")


def _socket_config():
    from twinsock.config import SocketConfig  # only when one is given: a board may never load it

    return SocketConfig


def check_handshake_timeouts(value, what):
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(type(v) is int for v in value)
        or not 0 < value[0] <= value[1]
    ):
        raise invalid(
            "%s must be (min_ms, max_ms) ints with 0 < min <= max, not %r" % (what, value)
        )
    return tuple(value)
