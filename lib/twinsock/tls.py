# TLS and DTLS sockets: a secure socket owns a backend UDP/TCP socket,
# forwards address and option calls to it, and drives a TLS engine (from
# port/) over the backend's non-blocking platform socket. Every wait is a
# poll here, so a receive timeout never latches the engine.
from twinsock import platform
from twinsock.clock import deadline_after, ms_left
from twinsock.const import (
    OPT_ADDR_FAMILY,
    OPT_BYTES_RECEIVED,
    OPT_BYTES_SENT,
    OPT_CONNECTION_ID_RESUMED,
    OPT_DANE_TLSA_ARRAY,
    OPT_DTLS_HANDSHAKE_TIMEOUTS,
    OPT_FORCED_ADDR_FAMILY,
    OPT_HAS_BUFFERED_DATA,
    OPT_INNER_MTU,
    OPT_MTU,
    OPT_PREFERRED_ADDR_FAMILY,
    OPT_RECV_TIMEOUT,
    OPT_SESSION_RESUMED,
    OPT_STATE,
    SEND_TIMEOUT_MS,
    STATE_ACCEPTED,
    STATE_CONNECTED,
)
from twinsock.endpoint import check_host, check_port
from twinsock.errors import (
    EBADF,
    EISCONN,
    ENOMEM,
    EPIPE,
    ETIMEDOUT,
    MessageTruncated,
    NetError,
    TLSError,
    invalid,
    unsupported,
)
from twinsock.net import TcpSocket, UdpSocket, check_buffer, check_key, check_size, option_name
from twinsock.tlsconfig import PskInfo, SSLConfig, check_handshake_timeouts

_FORWARDED = (
    OPT_RECV_TIMEOUT,
    OPT_STATE,
    OPT_ADDR_FAMILY,
    OPT_MTU,
    OPT_PREFERRED_ADDR_FAMILY,
    OPT_FORCED_ADDR_FAMILY,
)


def engine_module(dtls, psk, config=None):
    """The TLS engine module a socket with `config` runs on, or ENOTSUP naming
    what is missing."""
    p = platform.get()
    select = None
    if dtls and psk and config is not None and not platform.tls_engine_registered():
        # twinsock's own DTLS-PSK engine where the platform's lacks what config
        # asks for (docs/TLS_ENGINES.md); loaded only then
        select = platform.load_or_enomem("the DTLS-PSK engine", _psk_select)
    if select is not None:
        engine = platform.load_or_enomem(
            "the DTLS-PSK engine", lambda: select.choose(config, platform.tls_engine)
        )
    else:
        engine = platform.tls_engine()  # the first call imports it (ENOMEM if it cannot)
    have = engine.features() if engine is not None else {}
    what = "DTLS" if dtls else "TLS"
    if not have.get("dtls" if dtls else "tls"):
        raise unsupported("%s is not available on %s: %s" % (what, p.name, p.tls_missing(dtls)))
    if psk and not have.get("psk"):
        raise unsupported(
            "%s with PSK is not available on %s: %s" % (what, p.name, p.tls_missing(dtls))
        )
    return engine


class SecureSocket:
    """A TLS (over TCP) or DTLS (over UDP) socket with the avs_net v-table."""

    # Defaults on the class: a socket's own dict holds only what changed (heap).
    _session = None  # the last session, resumed by the next connect()
    _engine = None
    _timeouts = None  # OPT_DTLS_HANDSHAKE_TIMEOUTS once set; else the config's
    _sent = 0
    _received = 0
    _resumed = False
    _cid_engine = None  # a Connection ID session close() kept for connect()
    _cid_resumed = False
    _shut_down = False
    _cleaned = False
    _dtls = False

    def __init__(self, ssl_config, dtls):
        if not isinstance(ssl_config, SSLConfig):
            raise invalid("ssl_config must be an SSLConfig, not %r" % type(ssl_config).__name__)
        ssl_config.validate()
        # the engine module of this socket (twinsock's own DTLS-PSK engine or the platform's)
        self._engines = engine_module(dtls, isinstance(ssl_config.security, PskInfo), ssl_config)
        if dtls:
            self._dtls = True
        self._config = ssl_config
        self._backend = (UdpSocket if dtls else TcpSocket)(ssl_config.backend_configuration)

    @property
    def kind(self):
        return "dtls" if self._dtls else "tls"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def __repr__(self):
        return "<twinsock %s socket over %r>" % (self.kind, self._backend)

    # -- checks ---------------------------------------------------------------

    def _check_alive(self, what):
        if self._cleaned:
            raise NetError(EBADF, "%s: socket was cleaned up" % what)

    def _failed(self, exc, what):
        self._check_alive(what)
        if self._engine is None:
            return NetError(EBADF, "%s: socket is not connected" % what)
        if self._shut_down:
            return NetError(EPIPE, "%s: socket was shut down" % what)
        if isinstance(exc, NetError):
            return exc
        if isinstance(exc, MemoryError):
            return TLSError("%s: out of memory" % what, ENOMEM)
        return platform.fail(exc, what)

    # -- connecting -----------------------------------------------------------

    # Rarer calls: their code loads on first use (lib/twinsock/tls_server.py).
    def decorate(self, backend):
        """Take over `backend` (a UDP socket for DTLS, TCP for TLS), for
        example after a plain-text STARTTLS exchange; a connected backend
        handshakes at once."""
        from twinsock.tls_server import decorate

        decorate(self, backend)

    def bind(self, address, port):
        from twinsock.tls_server import bind

        bind(self, address, port)

    def accept(self):
        """A new socket in STATE_ACCEPTED whose server-side handshake is done."""
        from twinsock.tls_server import accept

        return accept(self)

    def connect(self, host, port):
        self._check_alive("connect")
        if self._engine is not None:
            raise NetError(EISCONN, "connect: %s socket is already connected" % self.kind)
        check_host(host)
        check_port(port)
        if self._backend.get_opt(OPT_STATE) not in (STATE_CONNECTED, STATE_ACCEPTED):
            self._backend.connect(host, port)
        self._handshake(host, False)

    def _handshake(self, host, server_side, client_id=None):
        config = self._config
        hostname = config.server_name_indication or host
        backend = self._backend
        raw = backend.get_system_socket()
        kept = self._cid_engine
        if self._cid_resumed:
            self._cid_resumed = False
        if kept is not None:
            self._cid_engine = None
            if not server_side:
                # the peer knows the session by its Connection ID, whatever our
                # new address: carry on without a handshake (RFC 9146)
                kept.adopt(raw)
                self._engine = kept
                self._cid_resumed = True
                return
            kept.close()
        try:
            if not self._dtls:
                platform.get().no_delay(raw)  # handshake flights must not wait for ACKs
            self._engine = self._engines.Engine(
                raw,
                config,
                self._dtls,
                server_side,
                hostname,
                None
                if server_side
                else _stored_session(config.session_resumption_buffer) or self._session,
                self._timeouts or config.dtls_handshake_timeouts,
                backend._inner_mtu() if self._dtls else 1400,
                client_id,
            )
            self._drive_handshake()
        except Exception as e:
            if self._engine is not None:
                self._engine.close()
            self._engine = None
            backend.close()
            if isinstance(e, NetError):
                raise
            if isinstance(e, MemoryError):
                raise TLSError("handshake: out of memory", ENOMEM)
            raise platform.fail(e, "%s handshake" % self.kind)
        if self._engine.session_resumed() or self._resumed:
            self._resumed = self._engine.session_resumed()
        if not server_side:
            self._keep_session(self._engine.session())

    def _keep_session(self, session):
        # for the next connect() of this object (as avs_net resumes), and for the
        # caller's resumption buffer; None where the engine cannot resume
        if session:
            self._session = session
            _store_session(self._config.session_resumption_buffer, session)

    def _drive_handshake(self):
        engine = self._engine
        backend = self._backend
        timeout = backend._timeout
        # TLS: one deadline for the whole handshake, however the peer drips its
        # bytes; DTLS: bounded by the handshake timeouts, not OPT_RECV_TIMEOUT.
        deadline = None if self._dtls else deadline_after(timeout)
        writable = None
        while True:
            want = engine.handshake_step()
            if want is None:
                return
            if self._dtls:
                wait = engine.dtls_timeout_ms()
                if wait is None:  # no flight of ours in the air: the peer's turn
                    wait = (self._timeouts or self._config.dtls_handshake_timeouts)[1]
                    if not backend._wait_until(deadline_after(wait)):
                        raise TLSError(
                            "DTLS handshake: nothing from the peer in %d ms" % wait, ETIMEDOUT
                        )
                elif not backend._wait_until(deadline_after(wait)):
                    engine.dtls_handle_timeout()
                continue
            if want == "read":
                ready = backend._wait_until(deadline)
            else:
                if writable is None:
                    writable = platform.get().waiter(backend.get_system_socket(), True)
                ready = writable(ms_left(deadline))
            if not ready:
                raise TLSError(
                    "TLS handshake: no answer from the peer in %d ms" % timeout, ETIMEDOUT
                )

    def shutdown(self):
        self._check_alive("shutdown")
        if self._engine is not None:
            self._engine.close()
        self._backend.shutdown()
        self._shut_down = True

    def close(self):
        if self._cleaned:
            return
        engine = self._engine
        self._engine = None
        self._shut_down = False
        if engine is not None:
            # TLS 1.3 tickets arrive after the handshake: keep the session again.
            if self._session is not None:
                self._keep_session(engine.session())
            cid = getattr(engine, "connection_id", None)
            if cid and cid():
                self._cid_engine = engine  # connect() continues it (OPT_CONNECTION_ID_RESUMED)
            else:
                engine.close()
        self._backend.close()

    def cleanup(self):
        if self._cleaned:
            return
        self.close()
        if self._cid_engine is not None:
            self._cid_engine.close()
            self._cid_engine = None
        self._backend.cleanup()
        self._cleaned = True

    # -- data -----------------------------------------------------------------

    def send(self, data):
        if type(data) is str:
            raise invalid("send: data must be bytes-like, not str")
        try:
            n = self._engine.send(data)
        except Exception as e:
            raise self._failed(e, "send")
        if n != len(data):
            n = self._send_rest(data, n or 0)
        self._sent += n

    def _send_rest(self, data, sent):
        view = memoryview(data)
        writable = platform.get().waiter(self._backend.get_system_socket(), True)
        deadline = deadline_after(SEND_TIMEOUT_MS)
        while sent < len(view):
            if not writable(ms_left(deadline)):
                raise NetError(ETIMEDOUT, "send: peer took no data for %d ms" % SEND_TIMEOUT_MS)
            try:
                sent += self._engine.send(view[sent:]) or 0
            except Exception as e:
                raise self._failed(e, "send")
        return sent

    def receive_into(self, buf):
        check_buffer(buf, "receive_into")
        engine = self._engine
        try:
            n = engine.recv_into(buf)
            if n is None:  # nothing decrypted yet: wait for the backend
                backend = self._backend
                deadline = deadline_after(backend._timeout)  # one, however bytes drip
                while n is None:
                    if not backend._wait_until(deadline):
                        raise NetError(
                            ETIMEDOUT, "receive: timed out after %d ms" % backend._timeout
                        )
                    n = engine.recv_into(buf)
        except MessageTruncated as e:
            self._received += e.nbytes
            raise
        except Exception as e:
            if self._shut_down and self._engine is not None:
                return 0  # after our shutdown nothing more arrives, as on TCP
            raise self._failed(e, "receive")
        self._received += n
        return n

    def receive(self, bufsize):
        check_size(bufsize)
        buf = bytearray(bufsize)
        try:
            n = self.receive_into(buf)
        except MessageTruncated as e:
            e.data = bytes(buf)
            raise
        return bytes(buf[:n])

    def send_to(self, data, host, port):
        self._check_alive("send_to")
        raise unsupported("send_to: %s sockets are connected; use send" % self.kind)

    def receive_from(self, bufsize):
        self._check_alive("receive_from")
        raise unsupported("receive_from: %s sockets are connected; use receive" % self.kind)

    def receive_from_into(self, buf):
        self._check_alive("receive_from_into")
        raise unsupported(
            "receive_from_into: %s sockets are connected; use receive_into" % self.kind
        )

    # -- queries, forwarded to the backend -------------------------------------

    def get_system_socket(self):
        self._check_alive("get_system_socket")
        return self._backend.get_system_socket()

    def get_interface_name(self):
        self._check_alive("get_interface_name")
        return self._backend.get_interface_name()

    def get_remote_host(self):
        self._check_alive("get_remote_host")
        return self._backend.get_remote_host()

    def get_remote_hostname(self):
        self._check_alive("get_remote_hostname")
        return self._backend.get_remote_hostname()

    def get_remote_port(self):
        self._check_alive("get_remote_port")
        return self._backend.get_remote_port()

    def get_local_host(self):
        self._check_alive("get_local_host")
        return self._backend.get_local_host()

    def get_local_port(self):
        self._check_alive("get_local_port")
        return self._backend.get_local_port()

    # -- options ----------------------------------------------------------------

    def _feature(self, name, what):
        if not self._engines.features().get(name):
            raise unsupported("%s is not available on %s" % (what, platform.get().name))

    def _has_buffered_data(self):
        return self._engine is not None and self._engine.pending() > 0

    def get_opt(self, key):
        self._check_alive("get_opt")
        check_key(key, "get_opt")
        if key in _FORWARDED:
            return self._backend.get_opt(key)
        if key == OPT_INNER_MTU:
            if not self._dtls:
                raise unsupported("get_opt: OPT_INNER_MTU applies to datagram sockets")
            overhead = self._engine.record_overhead() if self._engine is not None else None
            inner = self._backend.get_opt(OPT_INNER_MTU) - (overhead or _WORST_DTLS_OVERHEAD)
            # one record carries at most 2^14 plaintext bytes (RFC 6347 4.1)
            return min(inner, _MAX_RECORD_PLAINTEXT)
        if key == OPT_BYTES_SENT:
            return self._sent
        if key == OPT_BYTES_RECEIVED:
            return self._received
        if key == OPT_HAS_BUFFERED_DATA:
            return self._has_buffered_data()
        if key == OPT_SESSION_RESUMED:
            return self._resumed  # False where the engine cannot resume
        if key == OPT_CONNECTION_ID_RESUMED:
            return self._cid_resumed  # False where the engine has no Connection ID
        if key == OPT_DTLS_HANDSHAKE_TIMEOUTS:
            return self._timeouts or self._config.dtls_handshake_timeouts
        if key == OPT_DANE_TLSA_ARRAY:
            raise invalid("get_opt: OPT_DANE_TLSA_ARRAY is write-only")
        raise invalid("get_opt: unknown option key %s" % option_name(key))

    def set_opt(self, key, value):
        self._check_alive("set_opt")
        check_key(key, "set_opt")
        if key in (OPT_RECV_TIMEOUT, OPT_PREFERRED_ADDR_FAMILY, OPT_FORCED_ADDR_FAMILY):
            self._backend.set_opt(key, value)
        elif key == OPT_DTLS_HANDSHAKE_TIMEOUTS:
            self._timeouts = check_handshake_timeouts(value, "OPT_DTLS_HANDSHAKE_TIMEOUTS")
        elif key == OPT_DANE_TLSA_ARRAY:
            self._feature("dane", "OPT_DANE_TLSA_ARRAY (DANE)")
        elif key in (
            OPT_STATE,
            OPT_ADDR_FAMILY,
            OPT_MTU,
            OPT_INNER_MTU,
            OPT_BYTES_SENT,
            OPT_BYTES_RECEIVED,
            OPT_HAS_BUFFERED_DATA,
            OPT_SESSION_RESUMED,
            OPT_CONNECTION_ID_RESUMED,
        ):
            raise invalid("set_opt: %s is read-only" % option_name(key))
        else:
            raise invalid("set_opt: unknown option key %s" % option_name(key))

    # -- readiness, for poll() ----------------------------------------------------

    def _poll_socket(self):
        return self._backend._poll_socket()

    def _timer_ms(self):
        """ms until the engine's DTLS retransmission is due (0: now), None
        when no flight is in the air: poll() wakes for it, then _on_timer()."""
        engine = self._engine
        return engine.dtls_timeout_ms() if self._dtls and engine is not None else None

    def _on_timer(self):
        self._engine.dtls_handle_timeout()


# DTLS 1.2 record header plus the largest AEAD/CBC expansion: what OPT_INNER_MTU
# subtracts before a handshake has chosen the suite.
_WORST_DTLS_OVERHEAD = 13 + 16 + 48 + 16
_MAX_RECORD_PLAINTEXT = 16384


def _psk_select():
    try:
        from twinsock_port import tls_psk_select
    except ImportError:  # a port without twinsock's own engine
        return None
    return tls_psk_select


def _stored_session(buf):
    """The session bytes kept in a caller's resumption buffer, or None.
    Layout: 2-byte big-endian length, then the engine's session bytes."""
    if not buf or len(buf) < 2:
        return None
    size = buf[0] << 8 | buf[1]
    if not size or size > len(buf) - 2:
        return None
    return bytes(buf[2 : 2 + size])


def _store_session(buf, session):
    if buf is None or not session or len(session) > len(buf) - 2:
        return
    buf[0] = len(session) >> 8
    buf[1] = len(session) & 0xFF
    buf[2 : 2 + len(session)] = session


def ciphersuites():
    """The IANA ids of the ciphersuites the running TLS engine can negotiate
    (for SSLConfig.ciphersuites), sorted; [] without an engine. Unless the
    application registered an engine, this includes the suites twinsock's own
    DTLS-PSK engine brings to DTLS with PSK where it can run."""
    engine = platform.tls_engine()
    have = engine.ciphersuites() if engine is not None else []
    select = None if platform.tls_engine_registered() else _psk_select()
    return select.ciphersuites(have) if select is not None else have


def ssl_socket(ssl_config):
    return SecureSocket(ssl_config, False)


def dtls_socket(ssl_config):
    return SecureSocket(ssl_config, True)
