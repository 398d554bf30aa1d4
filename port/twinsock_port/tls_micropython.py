# The MicroPython engine's DTLS side: the `tls` module (mbedTLS) over datagrams.
# TLS over TCP and what both share is in tls_mbedtls.py; this module's engine
# runs both (use_tls_engine(tls_micropython) takes either kind of socket).
#
# The tls object never sees the platform socket: it gets the engine itself,
# an io.IOBase stream over the (connected, non-blocking) socket. Through it the
# engine
#   - knows when the handshake is over (it reads the record headers that pass:
#     our and the peer's ChangeCipherSpec + Finished); tls has no API for it
#     and SSLSocket.cipher() crashes while the handshake runs;
#   - passes every DTLS datagram mbedTLS writes through tls_common.Flight
#     (renumbered epoch-0 records, our timer for epoch-0 flights, mbedTLS's own
#     resends of encrypted ones, whose timer it follows from outside);
#   - hands mbedTLS one datagram per recv_into, so a record larger than the
#     caller's buffer can be detected (and its rest dropped) as truncation;
#   - reports pending() exactly: polling the tls object only asks mbedTLS
#     (the engine answers "not ready" for the socket).
import time

from micropython import const
from twinsock.errors import ECONNRESET, ENOTCONN, EPIPE, MessageTruncated

from twinsock_port import tls_common as common, tls_mbedtls as _stream

# the engine-module functions are tls_mbedtls's
from twinsock_port.tls_mbedtls import _EAGAIN, _PROBE, __getattr__, _io_result, features  # noqa: F401

_MAX_DATAGRAM = const(2048)  # the largest DTLS datagram read in one piece

# negative mbedTLS codes MicroPython raises as OSError(code); the rest: tls_rare
_CONN_EOF = const(-0x7280)
_FATAL_ALERT = const(-0x7780)
_PEER_CLOSE_NOTIFY = const(-0x7880)
_HELLO_VERIFY_REQUIRED = const(-0x6A80)

_ALERT = const(21)
_LIB_MIN_MS = const(1000)  # mbedTLS's hs_timeout_min/max defaults (not settable)
_LIB_MAX_MS = const(60000)


class MbedTLSEngine(_stream.MbedTLSEngine):
    """A (D)TLS session over a connected, non-blocking socket, and the stream
    its tls object reads and writes (see the module comment). See
    docs/TLS_ENGINES.md for the contract."""

    # Defaults on the class: an instance holds only what changed (heap).
    handshaking = True
    budget = -1  # datagrams mbedTLS may read now; -1: no limit
    flight = None  # DTLS: tls_common.Flight
    alert = None  # DTLS: a fatal alert the peer sent during the handshake
    preload = None  # a datagram read before the engine existed
    alert_seen = False  # DTLS: the peer sent an alert after the handshake
    # mbedTLS's own retransmission timer (1 s doubling to 60 s), followed
    # from outside: in an encrypted flight its resends matter (see write)
    lib_timeout = _LIB_MIN_MS
    lib_deadline = None

    def _scan_datagram(self, data, incoming):
        pos = 0
        epoch = 0
        while pos + 13 <= len(data):
            kind = data[pos]
            epoch = max(epoch, (data[pos + 3] << 8) | data[pos + 4])
            if incoming:
                self.received = self._progress(self.received, kind)
            else:
                self.sent = self._progress(self.sent, kind)
            pos += 13 + ((data[pos + 11] << 8) | data[pos + 12])
        return epoch

    def readinto(self, buf):
        if self.budget == 0:
            return None
        if self.preload is not None:
            data = self.preload
            self.preload = None
            n = len(data)
            buf[:n] = data
            if self.budget > 0:
                self.budget -= 1
            self._scan_datagram(data, True)
            return n
        try:
            if self._dtls:
                # one datagram: readinto would join every datagram queued.
                # recv allocates: ask for what a datagram can be, not for
                # mbedTLS's whole ~16 KB input buffer
                data = self.sock.recv(min(len(buf), _MAX_DATAGRAM))
                n = len(data)
                buf[:n] = data
            else:
                n = self.sock.readinto(buf)
        except OSError as e:
            return _io_result(e)
        if n is None:
            return None
        if self.budget > 0:
            self.budget -= 1
        if self.handshaking and n:
            view = memoryview(buf)[:n]
            if self._dtls:
                self._scan_datagram(view, True)
                self.alert = common.fatal_alert(view) or self.alert
            else:
                self._scan_stream(view, True)
        elif self._dtls and n:
            # An alert record (close_notify) can share a datagram with data:
            # tls.readinto then reads both and its end-of-stream is lost.
            pos = 0
            while pos + 13 <= n:
                if buf[pos] == _ALERT:
                    self.alert_seen = True
                pos += 13 + ((buf[pos + 11] << 8) | buf[pos + 12])
        return n

    def write(self, buf):
        if not self.handshaking:
            if self._dtls and not (buf[3] or buf[4]):
                buf = bytearray(buf)  # our last flight again: number it on
                self.flight._number(buf)
            try:
                return self.sock.write(buf)
            except OSError as e:
                return _io_result(e)
        if self._dtls:
            data = bytearray(buf)
            flight = self.flight
            first = not flight.mode
            if not flight.take(data):
                return len(buf)  # mbedTLS resending an epoch-0 flight: ours does that
            self._scan_datagram(data, False)
            if first:
                self._follow_library(flight.mode == 1)
            try:
                self.sock.write(data)
            except OSError as e:
                failed = _io_result(e)
                if failed is not None:
                    return failed
            return len(buf)  # a datagram the kernel refused is lost: resent on a timer
        try:
            n = self.sock.write(buf)
        except OSError as e:
            return _io_result(e)
        if n:
            self._scan_stream(memoryview(buf)[:n], False)
        return n

    def _follow_library(self, new):
        # mbedTLS's timer: min at each new flight; a resend on that timer doubles
        # it first, one answering a peer's resend keeps it (ssl_msg.c)
        now = time.ticks_ms()
        if new:
            self.lib_timeout = _LIB_MIN_MS
        elif self.lib_deadline is not None and time.ticks_diff(now, self.lib_deadline) >= -20:
            self.lib_timeout = min(self.lib_timeout * 2, _LIB_MAX_MS)
        self.lib_deadline = time.ticks_add(now, self.lib_timeout + 10)

    # ---- handshake -----------------------------------------------------

    def handshake_step(self):
        if self._done:
            return None
        flight = self.flight
        lib_due = self.lib_deadline
        if lib_due is not None and time.ticks_diff(lib_due, time.ticks_ms()) > 0:
            lib_due = None
        try:
            if flight:
                # This call's writes must be one flight or one resend (Flight.take
                # decides by the first), so mbedTLS reads one datagram per call.
                # Given a resent ClientHello and the Finished behind it, a server
                # would resend its ServerHello flight, then write its Finished in
                # the same call, and that would be dropped as part of the resend.
                flight.mode = 0
                self.budget = 1
            n = self._tls.readinto(_PROBE)
        except (OSError, MemoryError, ValueError) as e:
            if flight:
                flight.stop()
            code = e.args[0] if e.args else None
            if self._server_side and code == _HELLO_VERIFY_REQUIRED:
                return self._after_hello_verify()
            if not self._dtls and code in (EPIPE, ECONNRESET, ENOTCONN):
                # the peer hung up on us mid-handshake (e.g. it wanted a client
                # certificate): a TLS failure, not a bare socket error
                raise common.rare().closed_error(lib_code=code)
            if self._dtls and code in (_CONN_EOF, _PEER_CLOSE_NOTIFY, _FATAL_ALERT):
                # the alert that says why, even behind a close_notify (tinydtls)
                alert = common.rare().late_alert(self.sock, self.alert)
                if alert is not None:
                    raise common.rare().alert_error(alert, self._psk, code, hello=self._hello())
            raise self._error(e)
        finally:
            if flight:
                self.budget = -1
        if lib_due is not None and self.lib_deadline == lib_due:
            # mbedTLS did not resend when we thought its timer ran out: ask again
            # soon rather than lose its timer (our own timer still gives up)
            self.lib_deadline = time.ticks_add(time.ticks_ms(), 50)
        if n:
            # application data right behind the peer's Finished: keep it
            self._early = _PROBE[0]
        if self.sent == 2 and self.received == 2:  # both Finished passed
            self._done = True
            self.handshaking = False
            if not self._dtls:
                self.scan = None  # the handshake's record scanners
            if flight:
                flight.stop()
            return None
        if n == 0:
            alert = common.rare().late_alert(self.sock, self.alert) if self._dtls else None
            if alert is not None:
                raise common.rare().alert_error(alert, self._psk, hello=self._hello())
            raise common.rare().closed_error()
        return "read"

    def _hello(self):
        # a DTLS client that has sent no ChangeCipherSpec has not used its key yet
        flight = self.flight
        return flight is not None and not self._server_side and not flight.ccs

    def _after_hello_verify(self):
        # mbedTLS sent a HelloVerifyRequest and dropped the session, as a
        # stateless DTLS server does: a new one checks the cookie the client
        # sends with its next ClientHello (same client_id).
        self.flight.restart()
        self.sent = self.received = 0
        ctx, kwargs = self._rewrap
        try:
            self._tls = ctx.wrap_socket(self, **kwargs)
        except (OSError, MemoryError) as e:
            raise self._error(e)
        return "read"

    def dtls_timeout_ms(self):
        if self._done or not self._dtls:
            return None
        ours = self.flight.remaining_ms()
        if ours is not None and self.flight.epoch and self.lib_deadline is not None:
            left = time.ticks_diff(self.lib_deadline, time.ticks_ms())
            left = left if left > 0 else 0
            if left < ours:
                return left
        return ours

    def dtls_handle_timeout(self):
        if self._done or not self._dtls:
            return
        flight = self.flight
        if flight.remaining_ms() != 0:
            return
        for datagram in flight.expire(self._psk):
            try:
                self.sock.write(datagram)
            except OSError as e:
                if e.args[0] not in _EAGAIN:
                    raise

    # ---- data ----------------------------------------------------------

    def recv_into(self, buf, nbytes=0):
        size = nbytes or len(buf)
        view = memoryview(buf)
        start = 0
        if self._early is not None:
            view[0] = self._early
            self._early = None
            if size == 1 or not self._dtls:
                return 1
            start = 1
        if self._dtls:
            # one datagram per call; none when finishing the early record
            self.budget = 0 if start else 1
        try:
            n = self._tls.readinto(view[start:size])
        except OSError as e:
            if e.args and e.args[0] in (_CONN_EOF, _PEER_CLOSE_NOTIFY):
                return 0
            raise self._error(e)
        finally:
            self.budget = -1
        if n is None or n == 0:
            if start:
                return start
            return 0 if self.alert_seen or n == 0 else None
        n += start
        if self._dtls and n == size:
            # A full buffer: did the datagram hold more? Read on from what mbedTLS
            # already holds (budget 0: no datagram from the wire) and drop it, as
            # UDP does. Not pending(): on the unix port a poll of the tls object,
            # which has no file descriptor, waits 1 ms even with timeout 0
            # (extmod/modselect.c:350-388, v1.26.1), at every full buffer.
            self.budget = 0
            truncated = False
            try:
                while self._tls.readinto(_PROBE):
                    truncated = True
            except OSError:
                pass  # an alert behind the data: the wire has noted it (alert_seen)
            finally:
                self.budget = -1
            if truncated:
                raise MessageTruncated(n)
        return n


Engine = MbedTLSEngine
