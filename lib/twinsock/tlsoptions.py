# SSLConfig's checks of the fields a config may set (version, server name,
# resumption buffer, handshake timeouts, ciphersuites, Connection ID, backend
# configuration), loaded when a config sets one (SSLConfig.validate,
# twinsock/tls.py).
from twinsock.errors import ERANGE, NetError
from twinsock.tls import _TIMEOUTS, _bad


def check_options(config):
    value = config.version
    if type(value) is not int or value not in (0, 6, 7):
        _bad("SSLConfig.version", 10, value)
    value = config.server_name_indication
    what = "SSLConfig.server_name_indication"
    if value is not None:
        if type(value) is not str or not value:
            _bad(what, 11, value)
        if len(value) > 255:
            raise NetError(ERANGE, what + " is over 255 characters")
        # a NUL would cut the name mbedTLS verifies against; labels are 1..63
        for label in value.rstrip(".").split("."):
            if not 0 < len(label) <= 63 or "\x00" in label:
                _bad(what, 12, value[:64])
    value = config.session_resumption_buffer
    if value is not None and type(value) is not bytearray:
        _bad("SSLConfig.session_resumption_buffer", 13, type(value).__name__)
    value = config.dtls_handshake_timeouts
    if value is not _TIMEOUTS:
        config.dtls_handshake_timeouts = check_handshake_timeouts(
            value, "SSLConfig.dtls_handshake_timeouts"
        )
    value = config.ciphersuites
    if value is not None:
        ok = type(value) in (list, tuple)
        for suite in value if ok else ():
            ok = ok and type(suite) is int and 0 <= suite <= 0xFFFF
        if not ok:
            _bad("SSLConfig.ciphersuites", 15, value)
    if type(config.use_connection_id) is not bool:
        _bad("SSLConfig.use_connection_id", 8, config.use_connection_id)
    value = config.backend_configuration
    if value is not None:
        from twinsock.config import SocketConfig  # only when one is given

        if not isinstance(value, SocketConfig):
            _bad("SSLConfig.backend_configuration", 16, value)


# SSLConfig.dtls_handshake_timeouts and OPT_DTLS_HANDSHAKE_TIMEOUTS: the one rule;
# engines take the pair as validated here
def check_handshake_timeouts(value, what):
    ok = type(value) in (tuple, list) and len(value) == 2
    if not (ok and type(value[0]) is int and type(value[1]) is int and 0 < value[0] <= value[1]):
        _bad(what, 14, value)
    return tuple(value)
