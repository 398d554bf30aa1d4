# twinsock's own DTLS 1.2 PSK engine, in the shape of the other TLS engines
# (see docs/TLS_ENGINES.md): the glue between a connected, non-blocking
# platform UDP socket and the I/O-free protocol in tls_psk_core. Runs on
# MicroPython (cryptolib + hashlib) and CPython (cryptography): it brings
# LwM2M's CCM-8, Connection ID and session resumption to stock firmware.
import sys

from twinsock.errors import MessageTruncated, NetError, TLSError, unsupported

from twinsock_port.tls_psk_core import NAMES, new

# the largest datagram read in one piece: recv allocates its size, and a
# board's heap has no 16 KB to spare (mbedTLS's engine reads 2 KB too)
_MAX_DATAGRAM = 2048 if sys.implementation.name == "micropython" else 16384 + 512
_EAGAIN = (11, 35, 115, 119)  # EAGAIN (Linux, BSD), EINPROGRESS (Linux, newlib)


def features():
    return {
        "tls": False,
        "dtls": True,
        "psk": True,
        "session_resumption": True,
        "connection_id": True,
        "dane": False,
    }


def _would_block(e):
    code = e.args[0] if e.args and isinstance(e.args[0], int) else None
    return code in _EAGAIN or type(e).__name__ == "BlockingIOError"


class PskEngine:
    """A DTLS 1.2 PSK session over a connected, non-blocking UDP socket."""

    name = "twinsock-psk"

    def __init__(
        self,
        sock,
        config,
        dtls=True,
        server_side=False,
        server_hostname=None,
        session=None,
        handshake_timeouts=None,
        mtu=1400,
        client_id=None,
        pending_datagram=None,
    ):
        if not dtls:
            raise unsupported("the PSK engine speaks DTLS only; TLS needs the platform's engine")
        security = config.security
        if not hasattr(security, "identity"):
            raise unsupported("the PSK engine has no certificates; use the platform's engine")
        if getattr(config, "version", 0) == 7:
            raise unsupported("the PSK engine speaks DTLS 1.2 only (SSLConfig.version is 1.3)")
        self._sock = sock
        self._closed = False
        self._core = new(
            server_side,
            security.identity,
            security.key,
            getattr(config, "ciphersuites", None),
            handshake_timeouts or (1000, 60000),
            mtu,
            bool(getattr(config, "use_connection_id", False)),
            session,
            client_id or b"",
        )
        self._flush()
        if pending_datagram:
            self._feed(bytes(pending_datagram))

    def __repr__(self):
        return "<PskEngine %r>" % (self._core,)

    # ---- datagrams -----------------------------------------------------

    def _flush(self):
        out = self._core.out
        while out:
            datagram = out.pop(0)
            try:
                self._sock.send(datagram)
            except OSError as e:
                if not _would_block(e):  # a lost datagram is resent by the timer
                    raise NetError(e.args[0], "DTLS send failed: %s" % (e,))

    def _read(self):
        """One datagram from the socket, or None when none is waiting."""
        try:
            data = self._sock.recv(_MAX_DATAGRAM)
        except OSError as e:
            if _would_block(e):
                return None
            raise NetError(e.args[0], "DTLS receive failed: %s" % (e,))
        return data

    def _feed(self, data):
        try:
            self._core.feed(data)
        finally:
            self._flush()  # our answer, or the alert that ends the session

    # ---- handshake -----------------------------------------------------

    def handshake_step(self):
        core = self._core
        while not core.done:
            data = self._read()
            if data is None:
                return "read"
            self._feed(data)
        return None

    def dtls_timeout_ms(self):
        return None if self._core.done else self._core.remaining_ms()

    def dtls_handle_timeout(self):
        try:
            self._core.on_timer()
        finally:
            self._flush()

    # ---- data ----------------------------------------------------------

    def recv_into(self, buf, nbytes=0):
        core = self._core
        while not core.app:
            if core.closed:
                return 0
            data = self._read()
            if data is None:
                return None
            self._feed(data)
        record = core.app.pop(0)
        size = nbytes or len(buf)
        n = min(size, len(record))
        buf[:n] = record[:n]
        if len(record) > n:
            raise MessageTruncated(n)
        return n

    def send(self, data):
        if self._closed:
            raise NetError(32, "send: the DTLS session is closed")
        self._core.send(data)
        self._flush()
        return len(data)

    def pending(self):
        return len(self._core.app[0]) if self._core.app else 0

    # ---- session facts -------------------------------------------------

    def session(self):
        return self._core.export()

    def session_resumed(self):
        return self._core.done and self._core.resumed

    def connection_id(self):
        """The CID the peer gave us, when one was negotiated."""
        return self._core.tx_cid if self._core.done else None

    def adopt(self, sock):
        """Carry on the session over `sock` (a new socket, maybe a new source
        port): the peer finds it by its Connection ID."""
        self._sock = sock
        self._closed = False

    def dropped(self):
        """Records dropped: [bad MAC, replayed, too old, wrong epoch]."""
        return list(self._core.dropped)

    def cipher(self):
        return NAMES.get(self._core.suite) if self._core.done else None

    def version(self):
        return "DTLSv1.2" if self._core.done else None

    def record_overhead(self):
        return self._core.overhead() if self._core.done else None

    def close(self):
        """close_notify when the session is up; never blocks."""
        if self._closed:
            return
        self._closed = True
        self._core.close()
        try:
            self._flush()
        except (NetError, TLSError):
            pass


Engine = PskEngine
