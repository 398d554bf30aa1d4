# The words for the PSK engine's failures (tls_psk_core): loaded only when a
# handshake fails or a configuration does not fit the engine, so a session
# that works never holds these strings.
from twinsock.errors import EMSGSIZE, EPROTO, ETIMEDOUT, NetError, TLSError, unsupported

_UNSUPPORTED = {
    "tls": "speaks DTLS only; TLS needs the platform's engine",
    "cert": "has no certificates; use the platform's engine",
    "1.3": "speaks DTLS 1.2 only (SSLConfig.version is 1.3)",
    "suites": "has none of the configured ciphersuites",
    "urandom": "needs os.urandom (a CSPRNG); this platform has none",
}

_NAMES = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    40: "handshake_failure",
    47: "illegal_parameter",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    80: "internal_error",
    115: "unknown_psk_identity",
}
# errno (None: the OSError's), text with a %s for the detail
_NET = {
    "send": (None, "DTLS send failed: %s"),
    "receive": (None, "DTLS receive failed: %s"),
    "closed": (32, "send: the DTLS session is closed"),
    "early": (EPROTO, "send: the DTLS handshake is not done"),
    "size": (EMSGSIZE, "send: %s bytes is more than one DTLS record"),
}


def error(number, sent=False):
    """TLSError for an alert the peer sent (or we sent, with `sent`);
    number None: our retransmissions ran out (`sent`: (ms, after our
    Finished)); a key of _UNSUPPORTED: ENOTSUP for a configuration; a key
    of _NET: that NetError, `sent` its detail (an OSError for send/receive)."""
    if number in _NET:
        code, text = _NET[number]
        return NetError(code or sent.args[0], text % (sent,) if "%" in text else text)
    if number in _UNSUPPORTED:
        return unsupported("the PSK engine " + _UNSUPPORTED[number])
    if number == 0 and not sent:
        return TLSError("peer closed the connection during the handshake", alert=0)
    if number is None:
        text = "DTLS handshake timed out: no answer after %d ms of retransmissions" % sent[0]
        if sent[1]:  # DTLS drops what it cannot decrypt, with no alert
            text += " to our Finished; PSK identity rejected? (wrong identity or key)"
        return TLSError(text, code=ETIMEDOUT)
    text = "%s alert %s (%d)" % (
        "we sent" if sent else "peer sent",
        _NAMES.get(number, "alert"),
        number,
    )
    if number in (20, 40, 51, 115):
        return TLSError("PSK identity rejected: %s (wrong identity or key)" % text, alert=number)
    return TLSError("DTLS handshake failed: " + text, alert=number)
