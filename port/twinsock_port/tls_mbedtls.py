# The MicroPython TLS engine (the `tls` module, mbedTLS) for TLS over TCP,
# and what its DTLS side shares; the DTLS side (flights, datagrams, the
# server's cookie exchange) is in tls_micropython.py, loaded with the first
# DTLS socket. Engine() picks the one a socket needs.
#
# The tls object never sees the platform socket: it gets the engine itself,
# an io.IOBase stream over the (connected, non-blocking) socket. Through it the
# engine
#   - knows when the handshake is over (it reads the record headers that pass:
#     our and the peer's ChangeCipherSpec + Finished); tls has no API for it
#     and SSLSocket.cipher() crashes while the handshake runs;
#   - reports pending() exactly: polling the tls object only asks mbedTLS
#     (the engine answers "not ready" for the socket).
import gc
import sys

from micropython import const

try:
    import tls as _tls
except ImportError:  # firmware older than v1.23
    _tls = None
import io  # the tls module (v1.23+) came long after io lost its u-prefix


def _rare():
    """tls_rare: error text, queries, what a session that goes well never runs."""
    from twinsock_port import tls_rare

    return tls_rare


def __getattr__(name):
    # ciphersuites() (twinsock.ciphersuites) is in tls_rare
    if name == "ciphersuites":
        return _rare().mbedtls_ciphersuites
    raise AttributeError(name)


_EAGAIN = (11, 115, 119)  # EAGAIN, EINPROGRESS (Linux), EINPROGRESS (newlib)


def _io_result(e):
    """What a wire read or write returns to mbedTLS for the OSError e: never raise
    through mbedTLS; None for "would block", else the negative errno (IOBase's
    stream glue), which tls raises as OSError(errno)."""
    code = e.args[0] if e.args and isinstance(e.args[0], int) else 5
    return None if code in _EAGAIN else -abs(code)


# negative mbedTLS codes MicroPython raises as OSError(code); the rest: tls_rare
_CONN_EOF = const(-0x7280)
_PEER_CLOSE_NOTIFY = const(-0x7880)

_CCS = const(20)
_HANDSHAKE = const(22)

_PROBE = bytearray(1)  # one byte read to drive the handshake (one thread per runtime)

# What this firmware's tls module can do, read once at import: this code runs
# once and is freed, features() only hands the table out. PSK came as
# SSLContext attributes (psk_identity, psk_key, server_psk_keys) after v1.28.
_FEATURES = {
    "tls": _tls is not None,
    "dtls": _tls is not None and hasattr(_tls, "PROTOCOL_DTLS_CLIENT"),
    "psk": _tls is not None and hasattr(_tls.SSLContext(_tls.PROTOCOL_TLS_CLIENT), "psk_identity"),
    "session_resumption": False,
    "connection_id": False,
    "dane": False,
}


def features():
    return _FEATURES


class MbedTLSEngine(io.IOBase):
    """A TLS session over a connected, non-blocking socket (the DTLS one:
    tls_micropython.MbedTLSEngine), and the stream its tls object reads and
    writes (see the module comment). See docs/TLS_ENGINES.md for the contract."""

    name = "mbedtls"
    # Defaults on the class: an instance holds only what differs (heap).
    scan = None  # the record scanners while the handshake runs (see __init__)
    # handshake progress per direction: 0 nothing, 1 CCS seen, 2 Finished seen
    sent = 0
    received = 0
    _early = None
    # the last read came up short of its buffer: over TCP mbedTLS reads one record
    # at a time and has handed all of it over, so it holds nothing (pending())
    _drained = False
    _done = False
    _closed = False
    _dtls = False
    _server_side = False
    _hostname = None
    _psk = False
    connection_id = None  # none in MicroPython's tls (twinsock.tls asks, at close)

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
        # twinsock.tls asked features() first: the firmware has what this socket
        # needs (tls, DTLS, PSK). What is False/None stays a class default: an
        # instance holds only the rest.
        if dtls:
            self._dtls = True
        if server_side:
            self._server_side = True
        if server_hostname:
            self._hostname = server_hostname
        security = config.security
        if hasattr(security, "identity"):
            self._psk = True
        version = getattr(config, "version", 0)
        if version == 7:
            raise _rare().mbedtls_refusal(0)
        self.sock = sock
        if dtls:
            from twinsock_port.tls_common import Flight

            self.flight = Flight(handshake_timeouts)
        else:
            # TLS record scanners, in and out: [header bytes still needed,
            # body bytes left, header]
            self.scan = ([5, 0, bytearray(5)], [5, 0, bytearray(5)])
        if pending_datagram:
            self.preload = bytes(pending_datagram)
        if sys.platform == "rp2":  # mbedTLS's buffers come from the Python heap there
            from twinsock_port.tls_common import check_heap

            check_heap()
        try:
            if dtls:
                proto = _tls.PROTOCOL_DTLS_SERVER if server_side else _tls.PROTOCOL_DTLS_CLIENT
            else:
                proto = _tls.PROTOCOL_TLS_SERVER if server_side else _tls.PROTOCOL_TLS_CLIENT
            ctx = _tls.SSLContext(proto)
            if self._psk:
                if server_side:
                    ctx.server_psk_keys = {bytes(security.identity): bytes(security.key)}
                else:
                    ctx.psk_identity = bytes(security.identity)
                    ctx.psk_key = bytes(security.key)
                ctx.verify_mode = _tls.CERT_NONE
            else:  # CertInfo: tls_mbedtls_cert.py, loaded with the first one
                from twinsock_port.tls_mbedtls_cert import load_certificates

                load_certificates(ctx, security, server_side, self._hostname)
            ids = getattr(config, "ciphersuites", None)
            if ids:
                from twinsock_port.tls_suites import pick_suites

                ctx.set_ciphers(pick_suites(ids, 2, ctx.get_ciphers(), "mbedTLS"))
            kwargs = {"server_side": server_side, "do_handshake_on_connect": False}
            if server_side:
                if dtls:
                    kwargs["client_id"] = client_id or b"twinsock"
            elif server_hostname:
                kwargs["server_hostname"] = server_hostname
            self._tls = ctx.wrap_socket(self, **kwargs)
        except (OSError, MemoryError, ValueError) as e:
            raise self._error(e)
        if server_side and dtls:
            self._rewrap = (ctx, kwargs)  # for the session after a HelloVerifyRequest

    def _error(self, e, handshake=False):
        if isinstance(e, MemoryError):  # no tls_rare: the heap is short
            from twinsock_port.tls_common import memory_error

            return memory_error(gc.mem_free())
        return _rare().mbedtls_error(e, self._hostname, self._psk, handshake)

    # ---- the stream mbedTLS reads and writes ----------------------------

    def _progress(self, state, content_type):
        if content_type == _CCS:
            return 1 if state == 0 else state
        if content_type == _HANDSHAKE and state == 1:
            return 2
        return state

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
        try:
            n = self.sock.readinto(buf)
        except OSError as e:
            return _io_result(e)
        if self.scan is not None and n:  # handshaking
            self._scan_stream(memoryview(buf)[:n], True)
        return n

    def write(self, buf):
        try:
            n = self.sock.write(buf)
        except OSError as e:
            return _io_result(e)
        if self.scan is not None and n:  # handshaking
            self._scan_stream(memoryview(buf)[:n], False)
        return n

    def ioctl(self, request, arg):
        # POLL: only mbedTLS's own buffer counts (see pending()); CLOSE: the
        # platform socket belongs to the caller.
        return 0

    # ---- handshake -----------------------------------------------------

    def handshake_step(self):
        if self._done:
            return None
        try:
            n = self._tls.readinto(_PROBE)
        except (OSError, MemoryError, ValueError) as e:
            # the peer hanging up on us mid-handshake (e.g. it wanted a client
            # certificate) is a TLS failure, not a bare socket error
            raise self._error(e, True)
        if n:
            # application data right behind the peer's Finished: keep it
            self._early = _PROBE[0]
        if self.sent == 2 and self.received == 2:  # both Finished passed
            self._done = True
            self.scan = None  # the handshake's record scanners: it is over
            return None
        if n == 0:
            raise _rare().closed_error()
        return "read"

    # ---- data ----------------------------------------------------------

    def recv_into(self, buf, nbytes=0):
        size = nbytes or len(buf)
        if self._early is not None:
            buf[0] = self._early
            self._early = None
            return 1
        try:
            n = self._tls.readinto(memoryview(buf)[:size])
        except OSError as e:
            if e.args and e.args[0] in (_CONN_EOF, _PEER_CLOSE_NOTIFY):
                return 0
            raise self._error(e)
        self._drained = n is None or n < size
        return n

    def send(self, data):
        try:
            # DTLS: write1 (`send`) makes one record, one datagram; `write`
            # would loop and split a long payload into several
            n = (self._tls.send if self._dtls else self._tls.write)(data)
        except OSError as e:
            raise self._error(e)
        return n

    # ---- session facts -------------------------------------------------

    def session(self):
        return None

    def session_resumed(self):
        return False

    def __getattr__(self, name):
        # the queries (pending, cipher, version, record_overhead) are in
        # tls_rare; any other name is an AttributeError from there
        if name[:2] == "__":
            raise AttributeError(name)
        setattr(MbedTLSEngine, name, getattr(_rare(), "mbedtls_" + name))
        return getattr(self, name)

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


def Engine(sock, config, dtls=False, *args, **kwargs):
    """The engine for a socket: this module's over TCP, tls_micropython's for
    DTLS (loaded then)."""
    if dtls:
        from twinsock_port.tls_micropython import MbedTLSEngine as engine
    else:
        engine = MbedTLSEngine
    return engine(sock, config, dtls, *args, **kwargs)
