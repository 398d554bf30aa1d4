# The engine core every TLS engine shares (as avs_commons keeps
# avs_ssl_common.h): DTLS record scanning and renumbering, flight keeping and
# resending, MTU packing. Portable (CPython and
# MicroPython). Kept small: a board pays for every line; what a successful
# handshake never runs is in tls_rare, the tables in tls_suites.

from twinsock.clock import ticks_add as _ticks_add, ticks_diff as _ticks_diff, ticks_ms as _ticks_ms
from twinsock.errors import ENOMEM

# Contiguous heap a MicroPython TLS socket needs (16 KB in + 4 KB out
# buffers, rounded as PLATFORMS.md measured it).
TLS_HEAP_BYTES = 17 * 1024

DTLS_RECORD_HEADER = 13


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


def rare():
    """tls_rare: what a handshake that succeeds never needs, imported then."""
    from twinsock_port import tls_rare

    return tls_rare


def memory_error(free_bytes, lib_code=None):
    from twinsock.tlserror import TLSError  # a failure: loaded only then

    return TLSError(
        "TLS needs about %d KB of contiguous heap; %d KB free"
        % (TLS_HEAP_BYTES // 1024, free_bytes // 1024),
        code=ENOMEM,
        lib_code=lib_code,
    )


def check_heap():
    """ENOMEM unless the heap has room for mbedTLS's buffers (on rp2 it
    allocates its ~17 KB from the Python heap)."""
    import gc

    gc.collect()
    if gc.mem_free() < TLS_HEAP_BYTES:
        raise memory_error(gc.mem_free())


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
        # validated by SSLConfig and set_opt (twinsock/tlsoptions.py); None: the default
        self.min_ms, self.max_ms = timeouts or (1000, 60000)
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
            raise rare().timeout_error(waited, self.epoch > 0, psk)
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
