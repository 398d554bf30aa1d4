# What a (D)TLS handshake that succeeds never runs, loaded when first needed
# (a board pays heap for every line loaded): the error messages, alert names
# and record overhead (for OPT_INNER_MTU). Portable. (Picking the configured
# ciphersuites is tls_suites', beside the table: a session that goes well runs it.)
import gc

from twinsock.clock import ticks_add as _ticks_add, ticks_diff as _ticks_diff, ticks_ms as _ticks_ms
from twinsock.errors import (
    ECONNRESET,
    ENOMEM,
    ENOTCONN,
    EPIPE,
    ETIMEDOUT,
    NetError,
    TLSError,
    unsupported,
)

from twinsock_port.tls_common import DTLS_RECORD_HEADER, fatal_alert, memory_error


def record_overhead(suite_name, dtls=True):
    """Bytes a (D)TLS 1.2 record adds to its payload under `suite_name`
    (OpenSSL or mbedTLS spelling), the worst case for CBC padding."""
    header = DTLS_RECORD_HEADER if dtls else 5
    name = (suite_name or "").upper().replace("_", "-")
    if "CHACHA20" in name:
        return header + 16
    if "CCM-8" in name or "CCM8" in name:
        return header + 8 + 8
    if "GCM" in name or "CCM" in name:
        return header + 8 + 16
    # CBC: explicit IV + MAC + up to a full block of padding
    mac = 20
    if name.endswith("SHA256"):
        mac = 32
    elif name.endswith("SHA384"):
        mac = 48
    return header + 16 + mac + 16


# Alerts that end a PSK handshake when the peer does not know our identity or
# derived other keys from a different PSK.
PSK_REJECT_ALERTS = (20, 40, 51, 115)


def alert_text(number):
    from twinsock_port.tls_suites import ALERTS

    return "%s (%d)" % (ALERTS.get(number, "alert"), number)


def alert_error(number, psk=False, lib_code=None, sent=False, hello=False):
    """TLSError for an alert the peer sent (or, with `sent`, that we sent).
    `hello`: it came before we sent our key exchange, so it is about our hello
    (suites, extensions, version), never the PSK, which the peer has not used yet."""
    if hello and number == 40:
        return TLSError(
            "handshake failed: peer sent alert %s in answer to our hello: it refused"
            " our ciphersuites or parameters" % alert_text(number),
            alert=number,
            lib_code=lib_code,
        )
    if psk and number in PSK_REJECT_ALERTS and not hello:
        return TLSError(
            "PSK identity rejected: %s alert %s (wrong identity or key)"
            % ("we sent" if sent else "peer sent", alert_text(number)),
            alert=number,
            lib_code=lib_code,
        )
    if number == 70:
        return TLSError(
            "TLS version too low: peer sent alert protocol_version (70); "
            "the peer and the configured minimum version share no version",
            alert=number,
            lib_code=lib_code,
        )
    return TLSError(
        "handshake failed: %s alert %s" % ("we sent" if sent else "peer sent", alert_text(number)),
        alert=number,
        lib_code=lib_code,
    )


def late_alert(sock, alert, wait_ms=100):
    """The fatal alert that explains a peer's close during a DTLS handshake:
    `alert` if one came already, else one arriving within `wait_ms` (tinydtls
    sends close_notify, then the fatal alert), or None."""
    if alert is not None:
        return alert
    try:
        import select
    except ImportError:
        import uselect as select
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    deadline = _ticks_add(_ticks_ms(), wait_ms)
    try:
        while True:
            left = _ticks_diff(deadline, _ticks_ms())
            if left <= 0 or not poller.poll(left):
                break
            alert = fatal_alert(sock.recv(2048))
            if alert is not None:
                return alert
    except OSError:
        pass
    return None


def verify_error(reason, hostname=None, lib_code=None, alert=None):
    """TLSError for a certificate the engine rejected; `reason` is one of
    "hostname", "unknown_ca", "expired", "not_yet_valid", "revoked" or a
    library message."""
    if reason == "hostname":
        text = "hostname mismatch (wanted %s)" % hostname
    elif reason == "unknown_ca":
        text = "unknown CA"
    elif reason == "expired":
        text = "certificate expired"
    elif reason == "not_yet_valid":
        text = "certificate not yet valid"
    elif reason == "revoked":
        text = "certificate revoked"
    else:
        text = reason
    return TLSError("certificate verify failed: " + text, alert=alert, lib_code=lib_code)


def not_tls_error(lib_code=None):
    return TLSError("peer is not speaking TLS", lib_code=lib_code)


def closed_error(lib_code=None):
    return TLSError("peer closed the connection during the handshake", lib_code=lib_code)


def timeout_error(waited_ms, finished_sent=False, psk=False):
    text = "DTLS handshake timed out: no answer after %d ms of retransmissions" % waited_ms
    if finished_sent and psk:
        # DTLS drops records it cannot decrypt instead of sending an alert
        text += " to our Finished; PSK identity rejected? (wrong identity or key)"
    elif finished_sent:
        text += " to our Finished"
    return TLSError(text, code=ETIMEDOUT)


# negative mbedTLS codes MicroPython's tls raises as OSError(code)
_CONN_EOF = -0x7280
_FATAL_ALERT = -0x7780
_INVALID_RECORD = -0x7200
_BAD_INPUT = -0x7100
_TIMEOUT = -0x6800
_HANDSHAKE_FAILURE = -0x6E00
_BAD_PROTOCOL_VERSION = -0x6E80
_UNKNOWN_IDENTITY = -0x6C80
_INVALID_MAC = -0x7180
_ALLOC_FAILED = -0x7F00


def mbedtls_error(e, hostname, psk, handshake=False):
    """TLSError (or NetError) for what MicroPython's tls raised (`handshake`:
    while the handshake ran)."""
    if isinstance(e, NetError):
        return e
    if isinstance(e, MemoryError):
        return memory_error(gc.mem_free())
    if isinstance(e, ValueError):
        text = str(e)
        low = text.lower()
        if "does not match" in low or "common name" in low or "cn)" in low:
            return verify_error("hostname", hostname)
        if "not correctly signed" in low or "trusted ca" in low:
            return verify_error("unknown_ca")
        if "expired" in low:
            return verify_error("expired")
        if "future" in low:
            return verify_error("not_yet_valid")
        if "revoked" in low:
            return verify_error("revoked")
        return verify_error(text.replace("\n", "; ").strip("; "))
    code = e.args[0] if e.args else None
    if code == ENOMEM or code == _ALLOC_FAILED:
        return memory_error(gc.mem_free(), lib_code=code)
    if not isinstance(code, int):
        return TLSError("handshake failed: %s" % (e,))
    if handshake and code in (EPIPE, ECONNRESET, ENOTCONN):
        return closed_error(lib_code=code)  # the peer hung up on the handshake
    if code > 0:
        return NetError(code, "TLS backend socket failed: %s" % (e,))
    if code == _CONN_EOF or code == _BAD_INPUT:
        return closed_error(lib_code=code)
    if code == _INVALID_MAC and psk:
        return TLSError("PSK identity rejected: wrong identity or key", lib_code=code)
    if code == _INVALID_RECORD:
        return not_tls_error(lib_code=code)
    if code == _TIMEOUT:
        return timeout_error(60000)
    if code == _FATAL_ALERT:
        if psk:
            return TLSError(
                "PSK identity rejected: peer sent a fatal alert (wrong identity or key)",
                lib_code=code,
            )
        return TLSError("handshake failed: peer sent a fatal alert", lib_code=code)
    if code == _UNKNOWN_IDENTITY:
        return TLSError("PSK identity rejected: the peer's identity is unknown", lib_code=code)
    if code == _BAD_PROTOCOL_VERSION:
        return TLSError(
            "TLS version too low: the peer offers only versions below TLS 1.2",
            alert=70,
            lib_code=code,
        )
    if code == _HANDSHAKE_FAILURE:
        if psk:
            return TLSError(
                "PSK identity rejected: handshake failure (wrong identity or key)",
                alert=40,
                lib_code=code,
            )
        return TLSError("handshake failed: handshake_failure (40)", alert=40, lib_code=code)
    return TLSError("handshake failed: mbedTLS error -0x%04X" % -code, lib_code=code)


# -- the MicroPython engine's (tls_mbedtls.py) refusals and queries --------

_MBEDTLS_REFUSALS = (
    "TLS 1.3 is not built into this MicroPython's mbedTLS",
    "CRLs are not available in MicroPython's tls module",
    # the rest are TLSError
    "CertInfo.client_cert given without client_key",
    "certificate validation is on but CertInfo.trusted_certs is empty; "
    "give the CA, or server_cert_validation=False",
    "certificate validation needs a server name to check",
)


def mbedtls_refusal(number):
    """The error for a socket tls_mbedtls cannot make: ENOTSUP for what the
    firmware lacks (0-1), TLSError for a certificate setup it refuses (2-4)."""
    text = _MBEDTLS_REFUSALS[number]
    return unsupported(text) if number < 2 else TLSError(text)


def mbedtls_ciphersuites():
    """The IANA ids of the table's suites this firmware's mbedTLS has."""
    try:
        import tls
    except ImportError:
        return []
    from twinsock_port.tls_suites import SUITES

    have = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT).get_ciphers()
    return sorted(i for i in SUITES if SUITES[i][2] in have)


_POLLER = []  # tls_mbedtls's pending(): one poll object, made on first use


def mbedtls_pending(engine):
    """Decrypted bytes waiting in mbedTLS (1 means "some": mbedTLS only tells
    whether there are any)."""
    if engine._early is not None:
        return 1
    if engine._drained:  # TLS only (tls_mbedtls.recv_into); DTLS datagrams hold several records
        return 0
    # Ask mbedTLS through a poll: on the unix port that waits 1 ms, timeout 0 or not,
    # for an object without a file descriptor (extmod/modselect.c:350-388, v1.26.1)
    if not _POLLER:
        import select

        _POLLER.append(select.poll())
    poller = _POLLER[0]
    poller.register(engine._tls, 1)  # select.POLLIN
    try:
        return 1 if poller.poll(0) else 0
    finally:
        poller.unregister(engine._tls)


def mbedtls_cipher(engine):
    return engine._tls.cipher()[0] if engine._done else None


def mbedtls_version(engine):
    return engine._tls.cipher()[1] if engine._done else None


def mbedtls_record_overhead(engine):
    if not engine._done:
        return None
    return record_overhead(engine.cipher(), engine._dtls)
