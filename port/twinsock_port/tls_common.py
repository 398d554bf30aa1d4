# What both TLS engines share: DTLS record overhead, the DTLS retransmission
# schedule and the human-readable messages. Portable (CPython and MicroPython);
# imported only by the tls_* engines. Kept small: a board pays for every line
# (tables only one engine needs live in that engine).

from twinsock.clock import ticks_add as _ticks_add, ticks_diff as _ticks_diff, ticks_ms as _ticks_ms
from twinsock.errors import ENOMEM, ETIMEDOUT, TLSError

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
        self.deadline = _ticks_add(now, self.min_ms)

    def stop(self):
        self.current = None

    def restart_wait(self):
        """A resend the peer accepts just left (the library's own, with fresh
        record numbers, in an encrypted flight): the current wait counts from
        now, so the handshake is not given up just before its answer."""
        if self.current is not None:
            self.deadline = _ticks_add(_ticks_ms(), self.current)

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
        self.deadline = _ticks_add(_ticks_ms(), self.current)
        return True


def check_timeouts(timeouts):
    if timeouts is None:
        return (1000, 60000)
    low, high = timeouts
    if low <= 0 or high < low:
        raise TLSError("dtls_handshake_timeouts must be (min_ms, max_ms) with 0 < min <= max")
    return (int(low), int(high))
