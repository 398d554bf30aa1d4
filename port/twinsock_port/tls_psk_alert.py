# The words for the PSK engine's failures (tls_psk): loaded only when a
# handshake fails or a configuration does not fit the engine, so a session
# that works never holds these strings. Alert names and the messages every
# engine shares come from tls_rare; here only what is the PSK engine's own.
from twinsock.errors import EMSGSIZE, EPROTO, NetError, TLSError, unsupported

_UNSUPPORTED = {
    "tls": "speaks DTLS only; TLS needs the platform's engine",
    "cert": "has no certificates; use the platform's engine",
    "1.3": "speaks DTLS 1.2 only (SSLConfig.version is 1.3)",
    "urandom": "needs os.urandom (a CSPRNG); this platform has none",
}
# errno (None: the OSError's), text with a %s for the detail
_NET = {
    "send": (None, "DTLS send failed: %s"),
    "receive": (None, "DTLS receive failed: %s"),
    "closed": (32, "send: the DTLS session is closed"),
    "early": (EPROTO, "send: the DTLS handshake is not done"),
    "size": (EMSGSIZE, "send: %s bytes is more than one DTLS record"),
}


def error(number, sent=False, dtls=None):
    """TLSError for an alert the peer sent to `dtls` (or we sent, with
    `sent`); number None: our retransmissions ran out (`sent`: (ms, after
    our Finished)); "late": the peer closed the handshake with datagram
    `sent` (the fatal alert behind its close_notify, when one comes);
    "suites": ENOTSUP naming the configured suites `sent` the engine lacks;
    a key of _UNSUPPORTED: ENOTSUP for a configuration; a key of _NET: that
    NetError, `sent` its detail (an OSError for send/receive)."""
    if number in _NET:
        code, text = _NET[number]
        return NetError(code or sent.args[0], text % (sent,) if "%" in text else text)
    if number in _UNSUPPORTED:
        return unsupported("the PSK engine " + _UNSUPPORTED[number])
    from twinsock_port import tls_rare

    if number == "suites":
        from twinsock_port.tls_psk import NAMES
        from twinsock_port.tls_suites import pick_suites

        pick_suites(sent, 1, NAMES.values(), "the DTLS-PSK engine")
    if number is None:  # DTLS drops what it cannot decrypt, with no alert
        return tls_rare.timeout_error(sent[0], sent[1], True)
    if number == "late":
        # tinydtls sends close_notify, then the fatal alert
        number = tls_rare.late_alert(dtls._sock, tls_rare.fatal_alert(sent))
        sent = False
    if number == 0 or number is None:
        return TLSError("peer closed the connection during the handshake", alert=0)
    # a client before its ClientKeyExchange: the peer has not used the PSK
    hello = dtls is not None and not dtls.server and dtls._state < 2
    return tls_rare.alert_error(number, True, sent=sent, hello=hello)
