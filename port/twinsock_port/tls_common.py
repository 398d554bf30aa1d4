# What both TLS engines share: DTLS record overhead, the DTLS retransmission
# schedule and the human-readable messages. Portable (CPython and MicroPython);
# imported only by the tls_* engines. Kept small: a board pays for every line
# (tables only one engine needs live in that engine).

from twinsock.clock import ticks_add as _ticks_add, ticks_diff as _ticks_diff, ticks_ms as _ticks_ms
from twinsock.errors import ENOMEM, ETIMEDOUT, TLSError, unsupported

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


def pack(data, mtu):
    """Whole DTLS records of `data` (what a library wrote) packed into
    datagrams of at most `mtu` bytes (a longer record travels alone)."""
    out = []
    current = None
    pos = 0
    while pos + DTLS_RECORD_HEADER <= len(data):
        end = pos + DTLS_RECORD_HEADER + ((data[pos + 11] << 8) | data[pos + 12])
        if current is not None and len(current) + end - pos > mtu:
            out.append(current)
            current = None
        if current is None:
            current = bytearray()
        current += data[pos:end]
        pos = end
    if current is not None:
        out.append(current)
    return out


# Alerts that end a PSK handshake when the peer does not know our identity or
# derived other keys from a different PSK.
PSK_REJECT_ALERTS = (20, 40, 51, 115)


def alert_text(number):
    from twinsock_port.tls_suites import ALERTS

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


def pick_suites(ids, column, available, library):
    """The names (column 1: OpenSSL, 2: mbedTLS) of the configured suites
    `ids` that `available` holds; ENOTSUP naming them all when none is."""
    from twinsock_port.tls_suites import SUITES

    names = [SUITES[i][column] for i in ids if i in SUITES and SUITES[i][column] in available]
    if not names:
        raise unsupported(
            "none of the configured ciphersuites is built into %s: %s"
            % (library, ", ".join(SUITES[i][0] if i in SUITES else "0x%04X" % i for i in ids)),
        )
    return names


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


# The longest wait of the libraries' own retransmission timers (1 s doubling to
# 60 s), plus a margin: how long an encrypted flight waits for the library.
_LIBRARY_WAIT_MS = 61000


class Flight:
    """Our DTLS handshake flights (RFC 6347 4.2.4), kept here for every engine.

    Every record we send in epoch 0 takes the next number of one counter (header
    bytes 5-10): epoch-0 records carry no MAC, and a peer drops a record whose
    number it has seen, so no resend may reuse one. A write carrying a handshake
    message or ChangeCipherSpec not sent before starts a new flight; one that does
    not is the library resending. We resend an epoch-0 flight on our timer (min
    doubling to max, as mbedTLS's ssl_double_retransmit_timeout) and drop the
    library's own resends of it. An encrypted flight (our Finished) only the
    library can resend (fresh numbers under the MAC): the engine wakes for the
    library's timer and lets those through; such a flight gets as many resends
    as our schedule would have made, at the library's times (1 s doubling), then
    fails when max_ms passes without an answer."""

    def __init__(self, timeouts):
        self.min_ms, self.max_ms = check_timeouts(timeouts)
        wait = self.min_ms
        self.resends = 0  # how many our schedule makes: min doubling until max
        while wait < self.max_ms:
            wait *= 2
            self.resends += 1
        self.left = 0  # resends left to the library in an encrypted flight
        self.current = None  # the wait in ms; None: no flight in the air
        self.deadline = 0
        self.started = 0
        self.datagrams = None
        self.epoch = 0  # 1 when the flight in the air has encrypted records
        self.number = 0  # the next epoch-0 record number
        self.msg_seq = -1  # the highest handshake message_seq sent
        self.ccs = False
        self.mode = 0  # this call's writes: 0 none yet, 1 a new flight, 2 a resend
        self.seen_epoch = 0  # 1 when the last datagram numbered had encrypted records

    def restart(self):
        """The library started the handshake over (a stateless server after
        its HelloVerifyRequest); record numbers still count on."""
        self.msg_seq = -1
        self.ccs = False
        self.datagrams = None
        self.current = None

    def _number(self, data):
        # renumber the epoch-0 records of `data`; True if it holds something new
        new = False
        pos = 0
        end = len(data)
        self.seen_epoch = 0
        while pos + 13 <= end:
            kind = data[pos]
            if data[pos + 3] or data[pos + 4]:
                self.seen_epoch = 1
            else:
                n = self.number
                self.number = n + 1
                for i in range(10, 4, -1):
                    data[pos + i] = n & 0xFF
                    n >>= 8
                if kind == 22 and pos + 19 <= end:
                    seq = (data[pos + 17] << 8) | data[pos + 18]
                    if seq > self.msg_seq:
                        self.msg_seq = seq
                        new = True
            if kind == 20 and not self.ccs:
                self.ccs = new = True
            pos += 13 + ((data[pos + 11] << 8) | data[pos + 12])
        return new

    def take(self, data):
        """`data` (a bytearray of whole records) is what the library wrote during
        the handshake; True to send it. The first write of a call into the
        library decides whether the call's writes are a new flight or a resend;
        the engine sets `mode` to 0 before each call."""
        new = self._number(data)
        if not self.mode:
            self.mode = 1 if new else 2
            if new:
                self.datagrams = []
                self.epoch = 0
                self.left = self.resends
                now = _ticks_ms()
                self.started = now
                self.current = self.min_ms
                self.deadline = _ticks_add(now, self.min_ms)
            elif self.epoch and self.current is not None:
                # the library's resend, the one the peer takes: after the last
                # one allowed, wait max_ms for the answer
                self.left -= 1
                wait = self.max_ms if self.left <= 0 else _LIBRARY_WAIT_MS
                self.deadline = _ticks_add(_ticks_ms(), wait)
        if self.mode == 1:
            self.datagrams.append(data)
            self.epoch |= self.seen_epoch
            return True
        return self.epoch > 0

    def stop(self):
        self.current = None

    def remaining_ms(self):
        if self.current is None:
            return None
        left = _ticks_diff(self.deadline, _ticks_ms())
        return left if left > 0 else 0

    def expire(self, psk=False):
        """Our wait has run out: the datagrams to send again (renumbered; none for
        an encrypted flight), or raise ETIMEDOUT when the longest wait passed."""
        if self.epoch and self.left > 0:
            # only the library can resend this flight: wait for its timer
            self.deadline = _ticks_add(_ticks_ms(), _LIBRARY_WAIT_MS)
            return ()
        if self.epoch or self.current >= self.max_ms:
            waited = _ticks_diff(_ticks_ms(), self.started)
            self.current = None
            raise timeout_error(waited, self.epoch > 0, psk)
        self.current = min(self.current * 2, self.max_ms)
        self.deadline = _ticks_add(_ticks_ms(), self.current)
        if self.epoch:
            return ()
        for datagram in self.datagrams:
            self._number(datagram)
        return self.datagrams


def fatal_alert(data):
    """The description of a plaintext fatal alert in datagram `data`, or None."""
    pos = 0
    while pos + 15 <= len(data):
        if data[pos] == 21 and not data[pos + 3] and not data[pos + 4] and data[pos + 13] == 2:
            return data[pos + 14]
        pos += 13 + ((data[pos + 11] << 8) | data[pos + 12])
    return None


def check_timeouts(timeouts):
    if timeouts is None:
        return (1000, 60000)
    low, high = timeouts
    if low <= 0 or high < low:
        raise TLSError("dtls_handshake_timeouts must be (min_ms, max_ms) with 0 < min <= max")
    return (int(low), int(high))
