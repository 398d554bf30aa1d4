# What both TLS engines share: alert names, ciphersuite ids, DTLS record
# overhead, the DTLS retransmission schedule and the human-readable messages.
# Portable (CPython and MicroPython); imported only by the tls_* engines.
import time

try:
    _ticks_ms = time.ticks_ms
    _ticks_diff = time.ticks_diff
except AttributeError:  # CPython

    def _ticks_ms():
        return int(time.monotonic() * 1000)

    def _ticks_diff(a, b):
        return a - b


from twinsock.errors import ENOMEM, ETIMEDOUT, TLSError

# TLS alert descriptions (RFC 8446 6.2 plus the TLS 1.2 ones still seen).
ALERTS = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    22: "record_overflow",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    115: "unknown_psk_identity",
    116: "certificate_required",
    120: "no_application_protocol",
}
ALERT_NUMBERS = {name: number for number, name in ALERTS.items()}

# The alerts a PSK handshake ends with when the peer does not know our
# identity or derived other keys from a different PSK.
PSK_REJECT_ALERTS = (20, 40, 51, 115)

# IANA ciphersuite id -> (OpenSSL name, mbedTLS name). A small table of the
# suites an LwM2M client meets; ids not listed here are ignored, as the API
# says for ids an engine lacks.
CIPHERSUITES = {
    0x1301: ("TLS_AES_128_GCM_SHA256", "TLS1-3-AES-128-GCM-SHA256"),
    0x1302: ("TLS_AES_256_GCM_SHA384", "TLS1-3-AES-256-GCM-SHA384"),
    0x1303: ("TLS_CHACHA20_POLY1305_SHA256", "TLS1-3-CHACHA20-POLY1305-SHA256"),
    0x1304: ("TLS_AES_128_CCM_SHA256", "TLS1-3-AES-128-CCM-SHA256"),
    0x1305: ("TLS_AES_128_CCM_8_SHA256", "TLS1-3-AES-128-CCM-8-SHA256"),
    0x008C: ("PSK-AES128-CBC-SHA", "TLS-PSK-WITH-AES-128-CBC-SHA"),
    0x008D: ("PSK-AES256-CBC-SHA", "TLS-PSK-WITH-AES-256-CBC-SHA"),
    0x00A8: ("PSK-AES128-GCM-SHA256", "TLS-PSK-WITH-AES-128-GCM-SHA256"),
    0x00A9: ("PSK-AES256-GCM-SHA384", "TLS-PSK-WITH-AES-256-GCM-SHA384"),
    0x00AE: ("PSK-AES128-CBC-SHA256", "TLS-PSK-WITH-AES-128-CBC-SHA256"),
    0x00AF: ("PSK-AES256-CBC-SHA384", "TLS-PSK-WITH-AES-256-CBC-SHA384"),
    0xC0A4: ("PSK-AES128-CCM", "TLS-PSK-WITH-AES-128-CCM"),
    0xC0A5: ("PSK-AES256-CCM", "TLS-PSK-WITH-AES-256-CCM"),
    0xC0A8: ("PSK-AES128-CCM8", "TLS-PSK-WITH-AES-128-CCM-8"),
    0xC0A9: ("PSK-AES256-CCM8", "TLS-PSK-WITH-AES-256-CCM-8"),
    0xC037: ("ECDHE-PSK-AES128-CBC-SHA256", "TLS-ECDHE-PSK-WITH-AES-128-CBC-SHA256"),
    0xC02B: ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"),
    0xC02C: ("ECDHE-ECDSA-AES256-GCM-SHA384", "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384"),
    0xC02F: ("ECDHE-RSA-AES128-GCM-SHA256", "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256"),
    0xC030: ("ECDHE-RSA-AES256-GCM-SHA384", "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384"),
    0xC023: ("ECDHE-ECDSA-AES128-SHA256", "TLS-ECDHE-ECDSA-WITH-AES-128-CBC-SHA256"),
    0xC027: ("ECDHE-RSA-AES128-SHA256", "TLS-ECDHE-RSA-WITH-AES-128-CBC-SHA256"),
    0xC0AC: ("ECDHE-ECDSA-AES128-CCM", "TLS-ECDHE-ECDSA-WITH-AES-128-CCM"),
    0xC0AE: ("ECDHE-ECDSA-AES128-CCM8", "TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8"),
    0xCCA8: ("ECDHE-RSA-CHACHA20-POLY1305", "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256"),
    0xCCA9: ("ECDHE-ECDSA-CHACHA20-POLY1305", "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256"),
}

# Contiguous heap a MicroPython TLS socket needs (16 KB in + 4 KB out
# buffers, rounded as PLATFORMS.md measured it).
TLS_HEAP_BYTES = 17 * 1024

DTLS_RECORD_HEADER = 13


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


def alert_text(number):
    return "%s (%d)" % (ALERTS.get(number, "alert"), number)


def alert_error(number, psk=False, lib_code=None, sent=False):
    """TLSError for an alert the peer sent (or, with `sent`, that we sent)."""
    if psk and number in PSK_REJECT_ALERTS:
        return TLSError(
            "PSK identity rejected: peer sent alert %s (wrong identity or key)"
            % alert_text(number),
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
    who = "we sent" if sent else "peer sent"
    return TLSError(
        "handshake failed: %s alert %s" % (who, alert_text(number)),
        alert=number,
        lib_code=lib_code,
    )


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


def memory_error(free_bytes, lib_code=None):
    return TLSError(
        "TLS needs about %d KB of contiguous heap; %d KB free"
        % (TLS_HEAP_BYTES // 1024, free_bytes // 1024),
        code=ENOMEM,
        lib_code=lib_code,
    )


def timeout_error(waited_ms, finished_sent=False, psk=False):
    text = "DTLS handshake timed out: no answer after %d ms of retransmissions" % waited_ms
    if finished_sent and psk:
        # DTLS drops records it cannot decrypt instead of sending an alert
        text += " to our Finished; PSK identity rejected? (wrong identity or key)"
    elif finished_sent:
        text += " to our Finished"
    return TLSError(text, code=ETIMEDOUT)


def is_ip_literal(name):
    if not name:
        return False
    if ":" in name:
        return True
    parts = name.split(".")
    return len(parts) == 4 and all(p.isdigit() for p in parts)


class FlightTimer:
    """The DTLS retransmission schedule: wait `min_ms`, then double up to
    `max_ms`; when a wait of `max_ms` has expired too, the handshake fails
    (the same rule as mbedTLS's ssl_double_retransmit_timeout)."""

    def __init__(self, timeouts):
        self.min_ms, self.max_ms = timeouts
        self.current = None  # None: no flight in the air
        self.deadline = 0
        self.started = 0

    def start(self):
        """A new flight has just been sent."""
        now = _ticks_ms()
        self.started = now
        self.current = self.min_ms
        self.deadline = now + self.min_ms

    def stop(self):
        self.current = None

    def remaining_ms(self):
        if self.current is None:
            return None
        left = _ticks_diff(self.deadline, _ticks_ms())
        return left if left > 0 else 0

    def expire(self, finished_sent=False, psk=False):
        """The wait has run out: True to resend (the timer is already
        doubled), or raise ETIMEDOUT when the longest wait has passed."""
        if self.current >= self.max_ms:
            waited = _ticks_diff(_ticks_ms(), self.started)
            self.current = None
            raise timeout_error(waited, finished_sent, psk)
        self.current = min(self.current * 2, self.max_ms)
        self.deadline = _ticks_ms() + self.current
        return True


def check_timeouts(timeouts):
    if timeouts is None:
        return (1000, 60000)
    low, high = timeouts
    if low <= 0 or high < low:
        raise TLSError("dtls_handshake_timeouts must be (min_ms, max_ms) with 0 < min <= max")
    return (int(low), int(high))
