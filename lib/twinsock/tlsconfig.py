# SSLConfig and its security modes (avs_net_ssl_configuration_t). Loaded with
# the first secure socket: kept lean, every check raises through _bad() with
# one message shape ("<field> must be <what>, not <value>"), its words in
# twinsock/errtext.py. CertInfo is in
# twinsock/certinfo.py, served from here on first use: a PSK client never
# loads it.


def _bad(what, must, value):
    """Raise EINVAL: `what` must be errtext's template number `must`."""
    from twinsock.errtext import must as message

    raise message(what, must, value)


def _bytes(value, what):
    """Non-empty bytes-like `value` as bytes."""
    if not isinstance(value, (bytes, bytearray, memoryview)) or not len(value):
        _bad(what, 6, type(value).__name__)
    return bytes(value)


class PskInfo:
    """Pre-shared key: identity and key, both raw bytes."""

    def __init__(self, identity, key):
        self.identity = _bytes(identity, "PskInfo.identity")
        self.key = _bytes(key, "PskInfo.key")

    def __repr__(self):
        return "PskInfo(identity=%r, key=<%d bytes>)" % (self.identity, len(self.key))


_TIMEOUTS = (1000, 60000)
_FIELDS = (
    "version",
    "server_name_indication",
    "session_resumption_buffer",
    "dtls_handshake_timeouts",
    "ciphersuites",
    "use_connection_id",
    "backend_configuration",
)


class SSLConfig:
    # Defaults on the class: a config's own dict holds only what was given (heap).
    version = 0  # TLS_DEFAULT
    server_name_indication = None
    session_resumption_buffer = None
    dtls_handshake_timeouts = _TIMEOUTS
    ciphersuites = None
    use_connection_id = False
    backend_configuration = None

    def __init__(
        self,
        security,
        version=0,
        server_name_indication=None,
        session_resumption_buffer=None,
        dtls_handshake_timeouts=_TIMEOUTS,
        ciphersuites=None,
        use_connection_id=False,
        backend_configuration=None,
    ):
        self.security = security
        given = (
            version,
            server_name_indication,
            session_resumption_buffer,
            dtls_handshake_timeouts,
            ciphersuites,
            use_connection_id,
            backend_configuration,
        )
        for name, value in zip(_FIELDS, given):
            if value is not getattr(SSLConfig, name):
                setattr(self, name, value)
        self.validate()

    def validate(self):
        security = self.security
        if not isinstance(security, PskInfo) and not isinstance(security, __getattr__("CertInfo")):
            _bad("SSLConfig.security", 9, type(security).__name__)
        value = self.version
        if type(value) is not int or value not in (0, 6, 7):
            _bad("SSLConfig.version", 10, value)
        # the optional fields' checks load only when a config sets one
        if (
            self.server_name_indication is not None
            or self.session_resumption_buffer is not None
            or self.dtls_handshake_timeouts is not _TIMEOUTS
            or self.ciphersuites is not None
            or self.use_connection_id is not False
            or self.backend_configuration is not None
        ):
            from twinsock.tlsoptions import check_options

            check_options(self)


def __getattr__(name):
    if name == "CertInfo":
        from twinsock.certinfo import CertInfo

        return CertInfo
    raise AttributeError(name)
