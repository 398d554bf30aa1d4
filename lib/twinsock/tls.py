# TLS and DTLS sockets and their configuration (SSLConfig, PskInfo): a secure
# socket owns a backend UDP/TCP socket, forwards address and option calls to
# it, and drives a TLS engine (from port/) over the backend's non-blocking
# platform socket. Every wait is a poll here, so a receive timeout never
# latches the engine.
try:
    from micropython import const
except ImportError:  # CPython: const(x) is x
    const = int

import sys

# errors as one name here, not five: each module global costs a board heap
from twinsock import errors, net
from twinsock.clock import deadline_after, ms_left

# -- SSLConfig and its security modes (avs_net_ssl_configuration_t) ----------
# Every check raises through _bad() with one message shape ("<field> must be
# <what>, not <value>"), its words in twinsock/errtext.py. CertInfo is in
# twinsock/certinfo.py (twinsock.CertInfo): a PSK client never loads it.


def _bad(what, must, value):
    """Raise EINVAL: `what` must be errtext's template number `must`."""
    from twinsock.errtext import must as message

    raise message(what, must, value)


def _bytes(value, what):
    """Non-empty bytes-like `value` as bytes."""
    if not isinstance(value, (bytes, bytearray, memoryview)) or not len(value):
        _bad(what, 6, type(value).__name__)
    return bytes(value)


class PskInfo:
    """Pre-shared key: identity and key, both raw bytes."""

    def __init__(self, identity, key):
        self.identity = _bytes(identity, "PskInfo.identity")
        self.key = _bytes(key, "PskInfo.key")


_TIMEOUTS = (1000, 60000)
_FIELDS = (
    "version",
    "server_name_indication",
    "session_resumption_buffer",
    "dtls_handshake_timeouts",
    "ciphersuites",
    "use_connection_id",
    "backend_configuration",
)


class SSLConfig:
    # Defaults on the class: a config's own dict holds only what was given (heap).
    version = 0  # TLS_DEFAULT
    server_name_indication = None
    session_resumption_buffer = None
    dtls_handshake_timeouts = _TIMEOUTS
    ciphersuites = None
    use_connection_id = False
    backend_configuration = None

    def __init__(
        self,
        security,
        version=0,
        server_name_indication=None,
        session_resumption_buffer=None,
        dtls_handshake_timeouts=_TIMEOUTS,
        ciphersuites=None,
        use_connection_id=False,
        backend_configuration=None,
    ):
        self.security = security
        given = (
            version,
            server_name_indication,
            session_resumption_buffer,
            dtls_handshake_timeouts,
            ciphersuites,
            use_connection_id,
            backend_configuration,
        )
        for name, value in zip(_FIELDS, given):
            if value is not getattr(SSLConfig, name):
                setattr(self, name, value)
        self.validate()

    def validate(self):
        security = self.security
        if not isinstance(security, PskInfo):
            from twinsock.certinfo import CertInfo  # loaded with the first one

            if not isinstance(security, CertInfo):
                _bad("SSLConfig.security", 9, type(security).__name__)
        # A config's own dict holds only the fields given (the rest are class
        # defaults): their checks, the version's too, load only when it has one.
        if len(self.__dict__) > 1:
            from twinsock.tlsoptions import check_options

            check_options(self)


# twinsock.const's values, as literals: an import would hold each name here
_OPT_RECV_TIMEOUT = const(0)
_OPT_STATE = const(1)
_STATE_ACCEPTED = const(3)
_STATE_CONNECTED = const(4)


def _tls_engine():
    """The TLS engine module registered with use_tls_engine(), else the
    platform's own (None: it has none); the first call imports it (ENOMEM if
    it cannot). twinsock.platform holds the registration: an application that
    never registered an engine never loads it."""
    registry = sys.modules.get("twinsock.platform")
    if registry is not None:
        return registry.tls_engine()
    return net.load_or_enomem("the TLS engine", net.get().tls_engine)


def engine_module(dtls, psk, config=None):
    """The TLS engine module a socket with `config` runs on, or ENOTSUP naming
    what is missing. Where the application registered none, a DTLS-PSK socket
    may run on twinsock's own engine (docs/TLS_ENGINES.md), loaded only then."""
    registry = sys.modules.get("twinsock.platform")
    engine = None
    if dtls and psk and config is not None and not (registry and registry.tls_engine_registered()):
        try:
            select = net.load_or_enomem("twinsock_port.tls_psk_select")
        except ImportError:  # a port without twinsock's own engine
            select = None
        if select is not None:
            engine = select.choose(config, _tls_engine)
    if engine is None:
        engine = _tls_engine()
    # a registered engine's features() may allocate: a short heap is ENOMEM here too
    have = net.load_or_enomem("the TLS engine", engine.features) if engine is not None else {}
    if not have.get("dtls" if dtls else "tls") or psk and not have.get("psk"):
        raise net.load_or_enomem("twinsock.tls_extras").missing(dtls, psk, have)
    return engine


class SecureSocket:
    """A TLS (over TCP) or DTLS (over UDP) socket with the avs_net v-table.
    What most clients never call (server side, queries, the rarer options,
    shutdown) is in twinsock/tls_extras.py (the server side in
    twinsock/tls_server.py, served through it), put on this class the first
    time one is asked for (__getattr__)."""

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

    def __init__(self, ssl_config, dtls=False):
        if not isinstance(ssl_config, SSLConfig):
            raise errors.invalid(
                "ssl_config must be an SSLConfig, not %r" % type(ssl_config).__name__
            )
        ssl_config.validate()
        # the engine module of this socket (twinsock's own DTLS-PSK engine or the platform's)
        self._engines = engine_module(dtls, isinstance(ssl_config.security, PskInfo), ssl_config)
        if dtls:
            self._dtls = True
        self._config = ssl_config
        self._backend = (net.UdpSocket if dtls else net.TcpSocket)(ssl_config.backend_configuration)

    def __getattr__(self, name):
        if name[:2] == "__":
            raise AttributeError(name)
        # `kind` too: a property in tls_extras; the server side comes through it
        setattr(SecureSocket, name, getattr(net.load_or_enomem("twinsock.tls_extras"), name))
        return getattr(self, name)

    # net.Socket's own functions, shared rather than copied: a method costs a board
    # ~200 B of heap, a class entry 16 B
    __enter__ = net.Socket.__enter__
    __exit__ = net.Socket.__exit__  # -> self.cleanup()
    _check_alive = net.Socket._check_alive  # EBADF once cleaned up

    # -- connecting -----------------------------------------------------------

    def connect(self, host, port):
        self._check_alive("connect")
        if self._engine is not None:
            raise errors.NetError(
                errors.EISCONN, "connect: %s socket is already connected" % self.kind
            )
        net.check_address(host, port)
        if self._backend.get_opt(_OPT_STATE) not in (_STATE_CONNECTED, _STATE_ACCEPTED):
            self._backend.connect(host, port)
        self._handshake(host, False)

    def _handshake(self, host, server_side, client_id=None):
        config = self._config
        backend = self._backend
        raw = backend._sock  # the platform socket (get_system_socket without twinsock.backend)
        if (self._cid_engine is not None or self._cid_resumed) and self._cid_continue(
            raw, server_side
        ):  # twinsock/tls_extras.py
            return
        session = self._session
        if config.session_resumption_buffer and not server_side:
            session = self._stored_session() or session
        try:
            if not self._dtls:
                net.get().no_delay(raw)  # handshake flights must not wait for ACKs
            self._engine = self._engines.Engine(
                raw,
                config,
                self._dtls,
                server_side,
                config.server_name_indication or host,
                None if server_side else session,
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
            if isinstance(e, errors.NetError):
                raise
            raise self._handshake_failed(e)  # twinsock/tls_extras.py
        if self._engine.session_resumed() or self._resumed:
            self._resumed = self._engine.session_resumed()
        if not server_side:
            self._keep_session(self._engine)

    def _keep_session(self, engine):
        # for the next connect() of this object (as avs_net resumes), and for the
        # caller's resumption buffer; nothing where the engine cannot resume
        session = engine.session()
        if session:
            self._session = session
            if self._config.session_resumption_buffer is not None:
                self._store_session(session)  # twinsock/tls_extras.py

    def _drive_handshake(self):
        engine = self._engine
        backend = self._backend
        timeout = backend._timeout
        # TLS: one deadline for the whole handshake, however the peer drips its
        # bytes; DTLS: bounded by the handshake timeouts, not OPT_RECV_TIMEOUT.
        deadline = None if self._dtls else deadline_after(timeout)
        while True:
            want = engine.handshake_step()
            if want is None:
                return
            if self._dtls:
                wait = engine.dtls_timeout_ms()
                if wait is None:  # no flight of ours in the air: the peer's turn
                    wait = (self._timeouts or self._config.dtls_handshake_timeouts)[1]
                    if not backend._wait_readable(wait):
                        raise self._handshake_timeout(wait)  # twinsock/tls_extras.py
                elif not backend._wait_readable(wait):
                    engine.dtls_handle_timeout()
                continue
            if not (
                backend._wait_readable(ms_left(deadline))
                if want == "read"
                else self._wait_writable(deadline)  # twinsock/tls_extras.py
            ):
                raise self._handshake_timeout(timeout)

    def close(self):
        if self._cleaned:
            return
        engine = self._engine
        self._engine = None
        if self._shut_down:
            self._shut_down = False
        if engine is not None:
            # TLS 1.3 tickets arrive after the handshake: keep the session again.
            if self._session is not None:
                self._keep_session(engine)
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
            raise errors.invalid("send: data must be bytes-like, not str")
        try:
            n = self._engine.send(data)
        except Exception as e:
            raise self._failed(e, "send")
        if n != len(data):
            n = self._send_rest(data, n or 0)  # twinsock/tls_extras.py
        self._sent += n

    def receive_into(self, buf):
        if type(buf) is not bytearray and type(buf) is not memoryview:
            net.check_buffer(buf, "receive_into")
        engine = self._engine
        try:
            n = engine.recv_into(buf)
            if n is None:  # nothing decrypted yet: wait for the backend
                backend = self._backend
                deadline = deadline_after(backend._timeout)  # one, however bytes drip
                while n is None:
                    if not backend._wait_readable(ms_left(deadline)):
                        raise errors.NetError(
                            errors.ETIMEDOUT, "receive: timed out after %d ms" % backend._timeout
                        )
                    n = engine.recv_into(buf)
        except errors.MessageTruncated as e:
            self._received += e.nbytes
            raise
        except Exception as e:
            if self._shut_down and self._engine is not None:
                return 0  # after our shutdown nothing more arrives, as on TCP
            raise self._failed(e, "receive")
        self._received += n
        return n

    def receive(self, bufsize):
        if type(bufsize) is not int or not 0 <= bufsize <= 0x7FFFFFFF:
            net.check_size(bufsize)
        buf = bytearray(bufsize)
        try:
            n = self.receive_into(buf)
        except errors.MessageTruncated as e:
            e.data = bytes(buf)
            raise
        return bytes(buf[:n])

    # -- options: the receive timeout here, the rest in twinsock/tls_extras.py --

    def get_opt(self, key):
        if key in (_OPT_RECV_TIMEOUT, _OPT_STATE) and not self._cleaned:
            return self._backend.get_opt(key)
        return self._get_opt(key)

    def set_opt(self, key, value):
        if key == _OPT_RECV_TIMEOUT and not self._cleaned:
            self._backend.set_opt(key, value)
        else:
            self._set_opt(key, value)


ssl_socket = SecureSocket  # ssl_socket(ssl_config): a TLS socket; one function less on a board


def dtls_socket(ssl_config):
    return SecureSocket(ssl_config, True)
