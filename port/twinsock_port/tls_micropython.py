# The MicroPython TLS/DTLS engine: the `tls` module (mbedTLS) directly.
#
# The tls object never sees the platform socket: it gets a _Wire, a small
# io.IOBase stream over the (connected, non-blocking) socket. Through it the
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
#     (the _Wire answers "not ready" for the socket).
import gc
import sys
import time

from micropython import const

try:
    import tls as _tls
except ImportError:  # firmware older than v1.23
    _tls = None
try:
    import io as _io
except ImportError:
    import uio as _io
try:
    import select as _select
except ImportError:
    import uselect as _select
try:
    import binascii as _binascii
except ImportError:
    import ubinascii as _binascii

from twinsock.errors import (
    ECONNRESET,
    ENOTCONN,
    EPIPE,
    MessageTruncated,
    TLSError,
    unsupported,
)


class _Common:
    """tls_common on first use: DTLS needs it (flights, alerts), a TLS-over-TCP
    socket only when it fails."""

    def __getattr__(self, name):
        from twinsock_port import tls_common

        return getattr(tls_common, name)


common = _Common()

_MAX_DATAGRAM = const(2048)  # the largest DTLS datagram read in one piece
_EAGAIN = (11, 115, 119)  # EAGAIN, EINPROGRESS (Linux), EINPROGRESS (newlib)

# negative mbedTLS codes MicroPython raises as OSError(code); the rest: tls_rare
_CONN_EOF = const(-0x7280)
_FATAL_ALERT = const(-0x7780)
_PEER_CLOSE_NOTIFY = const(-0x7880)
_HELLO_VERIFY_REQUIRED = const(-0x6A80)

_CCS = const(20)
_ALERT = const(21)
_HANDSHAKE = const(22)
_LIB_MIN_MS = const(1000)  # mbedTLS's hs_timeout_min/max defaults (not settable)
_LIB_MAX_MS = const(60000)

_features = None
_PROBE = bytearray(1)  # one byte read to drive the handshake (one thread per runtime)
_POLLER = None  # made on the first pending()


def features():
    global _features
    if _features is None:
        dtls = _tls is not None and hasattr(_tls, "PROTOCOL_DTLS_CLIENT")
        psk = False
        if _tls is not None:
            # PSK came as SSLContext attributes (psk_identity, psk_key,
            # server_psk_keys) after v1.28
            psk = hasattr(_tls.SSLContext(_tls.PROTOCOL_TLS_CLIENT), "psk_identity")
        _features = {
            "tls": _tls is not None,
            "dtls": dtls,
            "psk": psk,
            "session_resumption": False,
            "connection_id": False,
            "dane": False,
        }
    return _features


def ciphersuites():
    """The IANA ids of the table's suites this firmware's mbedTLS has."""
    if _tls is None:
        return []
    from twinsock_port.tls_suites import SUITES

    have = _tls.SSLContext(_tls.PROTOCOL_TLS_CLIENT).get_ciphers()
    return sorted(i for i in SUITES if SUITES[i][2] in have)


def _der_list(blobs):
    """PEM or DER bytes (or a sequence of them) -> a list of DER blobs."""
    if blobs is None:
        return []
    if isinstance(blobs, (bytes, bytearray, memoryview)):
        blobs = (blobs,)
    out = []
    for blob in blobs:
        blob = bytes(blob)
        if b"-----BEGIN" not in blob:
            out.append(blob)
            continue
        for part in blob.split(b"-----BEGIN")[1:]:
            body = part.split(b"-----", 1)[1].split(b"-----END", 1)[0]
            out.append(_binascii.a2b_base64(body.replace(b"\r", b"").replace(b"\n", b"")))
    return out


class _Wire(_io.IOBase):
    """The stream mbedTLS reads and writes: see the module comment."""

    # Defaults on the class: an instance holds only what changed (heap).
    handshaking = True
    budget = -1  # datagrams mbedTLS may read now; -1: no limit
    flight = None  # DTLS: tls_common.Flight
    alert = None  # DTLS: a fatal alert the peer sent during the handshake
    # handshake progress per direction: 0 nothing, 1 CCS seen, 2 Finished seen
    sent = 0
    received = 0
    preload = None  # a datagram read before the engine existed
    alert_seen = False  # DTLS: the peer sent an alert after the handshake
    # mbedTLS's own retransmission timer (1 s doubling to 60 s), followed
    # from outside: in an encrypted flight its resends matter (see write)
    lib_timeout = _LIB_MIN_MS
    lib_deadline = None

    dtls = False

    def __init__(self, sock, dtls):
        self.sock = sock
        if dtls:
            self.dtls = True
        else:
            # TLS record scanners, in and out: [header bytes still needed,
            # body bytes left, header]
            self.scan = ([5, 0, bytearray(5)], [5, 0, bytearray(5)])

    def done(self):
        return self.sent == 2 and self.received == 2

    def _progress(self, state, content_type):
        if content_type == _CCS:
            return 1 if state == 0 else state
        if content_type == _HANDSHAKE and state == 1:
            return 2
        return state

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

    def _scan_stream(self, data, incoming):
        state = self.scan[0 if incoming else 1]
        pos = 0
        end = len(data)
        while pos < end:
            if state[1]:
                step = min(state[1], end - pos)
                state[1] -= step
                pos += step
                continue
            header = state[2]
            header[5 - state[0]] = data[pos]
            state[0] -= 1
            pos += 1
            if state[0] == 0:
                if incoming:
                    self.received = self._progress(self.received, header[0])
                else:
                    self.sent = self._progress(self.sent, header[0])
                state[0] = 5
                state[1] = (header[3] << 8) | header[4]

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
            if self.dtls:
                # one datagram: readinto would join every datagram queued.
                # recv allocates: ask for what a datagram can be, not for
                # mbedTLS's whole ~16 KB input buffer
                data = self.sock.recv(min(len(buf), _MAX_DATAGRAM))
                n = len(data)
                buf[:n] = data
            else:
                n = self.sock.readinto(buf)
        except OSError as e:
            # never raise through mbedTLS: a negative return is the errno
            # (IOBase's stream glue), which tls raises as OSError(errno)
            code = e.args[0] if e.args and isinstance(e.args[0], int) else 5
            return None if code in _EAGAIN else -abs(code)
        if n is None:
            return None
        if self.budget > 0:
            self.budget -= 1
        if self.handshaking and n:
            view = memoryview(buf)[:n]
            if self.dtls:
                self._scan_datagram(view, True)
                self.alert = common.fatal_alert(view) or self.alert
            else:
                self._scan_stream(view, True)
        elif self.dtls and n:
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
            if self.dtls and not (buf[3] or buf[4]):
                buf = bytearray(buf)  # our last flight again: number it on
                self.flight._number(buf)
            try:
                return self.sock.write(buf)
            except OSError as e:
                code = e.args[0] if e.args and isinstance(e.args[0], int) else 5
                return None if code in _EAGAIN else -abs(code)
        if self.dtls:
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
                code = e.args[0] if e.args and isinstance(e.args[0], int) else 5
                if code not in _EAGAIN:
                    return -abs(code)
            return len(buf)  # a datagram the kernel refused is lost: resent on a timer
        try:
            n = self.sock.write(buf)
        except OSError as e:
            code = e.args[0] if e.args and isinstance(e.args[0], int) else 5
            return None if code in _EAGAIN else -abs(code)
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

    def ioctl(self, request, arg):
        # POLL: only mbedTLS's own buffer counts (see pending()); CLOSE: the
        # platform socket belongs to the caller.
        return 0


class MbedTLSEngine:
    """A (D)TLS session over a connected, non-blocking socket. See
    docs/TLS_ENGINES.md for the contract."""

    name = "mbedtls"

    def __init__(
        self,
        sock,
        config,
        dtls=False,
        server_side=False,
        server_hostname=None,
        session=None,
        handshake_timeouts=None,
        mtu=1400,
        client_id=None,
        pending_datagram=None,
    ):
        if _tls is None:
            raise unsupported("TLS needs the `tls` module (MicroPython v1.23 or later)")
        if dtls and not features()["dtls"]:
            raise unsupported("DTLS needs MicroPython v1.25 or later")
        # what is False/None stays a class default: an instance holds only the rest
        if dtls:
            self._dtls = True
        if server_side:
            self._server_side = True
        if server_hostname:
            self._hostname = server_hostname
        security = config.security
        if hasattr(security, "identity"):
            self._psk = True
        if self._psk and not features()["psk"]:
            raise unsupported("PSK needs a MicroPython `tls` module with psk_identity (v1.29)")
        version = getattr(config, "version", 0)
        if version == 7:
            raise unsupported("TLS 1.3 is not built into this MicroPython's mbedTLS")
        self._wire = wire = _Wire(sock, dtls)
        if dtls:
            wire.flight = common.Flight(handshake_timeouts)
        if pending_datagram:
            wire.preload = bytes(pending_datagram)
        if sys.platform == "rp2":
            # mbedTLS allocates its ~17 KB from the Python heap here
            gc.collect()
            if gc.mem_free() < common.TLS_HEAP_BYTES:
                raise common.memory_error(gc.mem_free())
        try:
            ctx = self._make_context(config, security)
            kwargs = {"server_side": server_side, "do_handshake_on_connect": False}
            if server_side:
                if dtls:
                    kwargs["client_id"] = client_id or b"twinsock"
            elif server_hostname:
                kwargs["server_hostname"] = server_hostname
            self._tls = ctx.wrap_socket(self._wire, **kwargs)
        except (OSError, MemoryError, ValueError) as e:
            raise self._error(e)
        if server_side and dtls:
            self._rewrap = (ctx, kwargs)  # for the session after a HelloVerifyRequest

    def _make_context(self, config, security):
        if self._dtls:
            proto = _tls.PROTOCOL_DTLS_SERVER if self._server_side else _tls.PROTOCOL_DTLS_CLIENT
        else:
            proto = _tls.PROTOCOL_TLS_SERVER if self._server_side else _tls.PROTOCOL_TLS_CLIENT
        ctx = _tls.SSLContext(proto)
        if self._psk:
            if self._server_side:
                ctx.server_psk_keys = {bytes(security.identity): bytes(security.key)}
            else:
                ctx.psk_identity = bytes(security.identity)
                ctx.psk_key = bytes(security.key)
            ctx.verify_mode = _tls.CERT_NONE
        else:
            if getattr(security, "crls", ()):
                raise unsupported("CRLs are not available in MicroPython's tls module")
            trusted = _der_list(getattr(security, "trusted_certs", ()))
            for cert in trusted:
                ctx.load_verify_locations(cert)
            own_cert = getattr(security, "client_cert", None)
            if own_cert is not None:
                key = getattr(security, "client_key", None)
                if key is None:
                    raise TLSError("CertInfo.client_cert given without client_key")
                ctx.load_cert_chain(_der_list(own_cert)[0], _der_list(key)[0])
            validate = getattr(security, "server_cert_validation", True)
            if self._server_side:
                ctx.verify_mode = _tls.CERT_REQUIRED if validate and trusted else _tls.CERT_NONE
            elif validate:
                if not trusted:
                    raise TLSError(
                        "certificate validation is on but CertInfo.trusted_certs is empty; "
                        "give the CA, or server_cert_validation=False"
                    )
                if not self._hostname:
                    raise TLSError("certificate validation needs a server name to check")
                ctx.verify_mode = _tls.CERT_REQUIRED
            else:
                ctx.verify_mode = _tls.CERT_NONE
        ids = getattr(config, "ciphersuites", None)
        if ids:
            ctx.set_ciphers(common.rare().pick_suites(ids, 2, ctx.get_ciphers(), "mbedTLS"))
        return ctx

    # ---- errors --------------------------------------------------------

    def _error(self, e):
        if isinstance(e, MemoryError):  # no import: the heap is short
            return common.memory_error(gc.mem_free())
        return common.rare().mbedtls_error(e, self._hostname, self._psk)

    # ---- handshake -----------------------------------------------------

    def handshake_step(self):
        if self._done:
            return None
        wire = self._wire
        flight = wire.flight
        lib_due = wire.lib_deadline
        if lib_due is not None and time.ticks_diff(lib_due, time.ticks_ms()) > 0:
            lib_due = None
        try:
            if flight:
                flight.mode = 0  # this call's writes are one flight or one resend
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
                alert = common.rare().late_alert(wire.sock, wire.alert)
                if alert is not None:
                    raise common.rare().alert_error(alert, self._psk, code, hello=self._hello())
            raise self._error(e)
        if lib_due is not None and wire.lib_deadline == lib_due:
            # mbedTLS did not resend when we thought its timer ran out: ask again
            # soon rather than lose its timer (our own timer still gives up)
            wire.lib_deadline = time.ticks_add(time.ticks_ms(), 50)
        if n:
            # application data right behind the peer's Finished: keep it
            self._early = _PROBE[0]
        if wire.done():
            self._done = True
            wire.handshaking = False
            if not self._dtls:
                wire.scan = None  # the handshake's record scanners
            if flight:
                flight.stop()
            return None
        if n == 0:
            alert = common.rare().late_alert(wire.sock, wire.alert) if self._dtls else None
            if alert is not None:
                raise common.rare().alert_error(alert, self._psk, hello=self._hello())
            raise common.rare().closed_error()
        return "read"

    def _hello(self):
        # a DTLS client that has sent no ChangeCipherSpec has not used its key yet
        flight = self._wire.flight
        return flight is not None and not self._server_side and not flight.ccs

    _early = None
    _done = False
    _closed = False
    _dtls = False
    _server_side = False
    _hostname = None
    _psk = False

    def _after_hello_verify(self):
        # mbedTLS sent a HelloVerifyRequest and dropped the session, as a
        # stateless DTLS server does: a new one checks the cookie the client
        # sends with its next ClientHello (same client_id).
        wire = self._wire
        wire.flight.restart()
        wire.sent = wire.received = 0
        ctx, kwargs = self._rewrap
        try:
            self._tls = ctx.wrap_socket(wire, **kwargs)
        except (OSError, MemoryError) as e:
            raise self._error(e)
        return "read"

    def dtls_timeout_ms(self):
        if self._done or not self._dtls:
            return None
        wire = self._wire
        ours = wire.flight.remaining_ms()
        if ours is not None and wire.flight.epoch and wire.lib_deadline is not None:
            left = time.ticks_diff(wire.lib_deadline, time.ticks_ms())
            left = left if left > 0 else 0
            if left < ours:
                return left
        return ours

    def dtls_handle_timeout(self):
        if self._done or not self._dtls:
            return
        flight = self._wire.flight
        if flight.remaining_ms() != 0:
            return
        for datagram in flight.expire(self._psk):
            try:
                self._wire.sock.write(datagram)
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
        wire = self._wire
        if self._dtls:
            # one datagram per call; none when finishing the early record
            wire.budget = 0 if start else 1
        try:
            n = self._tls.readinto(view[start:size])
        except OSError as e:
            if e.args and e.args[0] in (_CONN_EOF, _PEER_CLOSE_NOTIFY):
                return 0
            raise self._error(e)
        finally:
            wire.budget = -1
        if n is None or n == 0:
            if start:
                return start
            return 0 if wire.alert_seen or n == 0 else None
        n += start
        if self._dtls and n == size:
            if self.pending():
                wire.budget = 0
                try:
                    while self._tls.readinto(_PROBE):
                        pass
                except OSError:
                    pass
                finally:
                    wire.budget = -1
                raise MessageTruncated(n)
        return n

    def send(self, data):
        try:
            # DTLS: write1 (`send`) makes one record, one datagram; `write`
            # would loop and split a long payload into several
            n = (self._tls.send if self._dtls else self._tls.write)(data)
        except OSError as e:
            raise self._error(e)
        return n

    def pending(self):
        """Decrypted bytes waiting in mbedTLS (1 means "some": mbedTLS only
        tells whether there are any)."""
        if self._early is not None:
            return 1
        global _POLLER
        if _POLLER is None:
            _POLLER = _select.poll()
        _POLLER.register(self._tls, _select.POLLIN)
        try:
            return 1 if _POLLER.poll(0) else 0
        finally:
            _POLLER.unregister(self._tls)

    # ---- session facts -------------------------------------------------

    def session(self):
        return None

    def session_resumed(self):
        return False

    def cipher(self):
        return self._tls.cipher()[0] if self._done else None

    def version(self):
        return self._tls.cipher()[1] if self._done else None

    def record_overhead(self):
        if not self._done:
            return None
        return common.rare().record_overhead(self.cipher(), self._dtls)

    def close(self):
        """MicroPython's tls cannot send close_notify; this frees mbedTLS's
        buffers. The platform socket stays open (it is the caller's)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._tls.close()
        except OSError:
            pass


Engine = MbedTLSEngine
