# UDP and TCP sockets: the avs_net v-table over one platform socket.
#
# The platform socket is kept non-blocking; every wait is a poll with the
# socket's receive timeout, so timeouts hold on every runtime and sends pay
# nothing for them. send and receive_into are nearly direct platform calls.
# This module holds what every application calls (connect, send, receive,
# close, the receive timeout); the rest of the v-table (bind, accept,
# send_to, receive_from*, shutdown, address queries, most options) lives in
# twinsock/extras.py and joins the socket classes on first use (__getattr__).
try:
    from micropython import const
except ImportError:  # CPython: const(x) is x
    const = int

from twinsock.clock import ticks_diff, ticks_ms
from twinsock.errors import (
    EADDRINUSE,
    EADDRNOTAVAIL,
    EAGAIN,
    EBADF,
    ECONNRESET,
    EISCONN,
    EMSGSIZE,
    ENOMEM,
    ENOTCONN,
    ENOTSUP,
    EPIPE,
    ETIMEDOUT,
    MessageTruncated,
    NetError,
    invalid,
)

_AF_UNSPEC = const(0)
_AF_INET4 = const(1)
_STATE_CLOSED = const(0)
_STATE_SHUTDOWN = const(1)
_STATE_BOUND = const(2)
_STATE_ACCEPTED = const(3)
_STATE_CONNECTED = const(4)
_OPT_RECV_TIMEOUT = const(0)
_OPT_STATE = const(1)
_DEFAULT_RECV_TIMEOUT_MS = const(30000)
_CONNECT_TIMEOUT_MS = const(10000)
# The longest wait poll() takes (int milliseconds), and the largest size a
# receive can allocate on every runtime (MicroPython cuts larger ones to 32 bits).
MAX_INT32 = const(0x7FFFFFFF)
STATE_NAMES = ("closed", "shut down", "bound", "accepted", "connected")

# -- the platform: chosen once, on first use -------------------------------

_current = None  # set here, or by twinsock.use_platform()


def get():
    if _current is None:
        use(load_or_enomem("twinsock_port").load())
    return _current


def use(platform):
    """Make `platform` the one every socket uses (set on the class: no
    per-socket reference)."""
    global _current
    _current = Socket._p = platform
    platform.initialize()


def load_or_enomem(name, load=None):
    """Module `name`, imported on first use (or, given `load`, what load()
    returns); a heap too small for the code is NetError(ENOMEM), and what the
    failed import left behind is dropped."""
    import sys

    if load is None and name in sys.modules:
        return sys.modules[name]
    before = set(sys.modules)
    try:
        if load is not None:
            return load()
        __import__(name)
        return sys.modules[name]
    except MemoryError:
        for loaded in set(sys.modules) - before:
            del sys.modules[loaded]
        import gc

        gc.collect()
        free = getattr(gc, "mem_free", lambda: -1024)()
        raise NetError(ENOMEM, "loading %s: out of memory (%d KB free)" % (name, free // 1024))


def fail(exc, what):
    """`exc` from the platform as a NetError whose message says what failed."""
    if isinstance(exc, NetError):
        return exc
    if isinstance(exc, AttributeError):  # a platform socket without that method
        return NetError(ENOTSUP, "%s: not supported on platform %s (%s)" % (what, get().name, exc))
    code = get().errno_of(exc)
    return NetError(code, "%s: %s" % (what, load_or_enomem("twinsock.errtext").describe(code, exc)))


# -- argument checks (their messages and the rarer ones: twinsock.checks) -------


def check_address(host, port):
    """connect()'s arguments: a non-empty str host and a port 0..65535 (an int
    or a numeric string); anything else is EINVAL. Returns the int port."""
    if type(host) is not str or not host or "\x00" in host or len(host) > 255:
        _checks().bad_argument("host", host)
    if type(port) is not int or not 0 <= port <= 65535:
        port = _checks().port_number(port, "port")
    return port


def resolve_entries(host, port, family, kind, preferred_family=_AF_UNSPEC, passive=False):
    """Platform entries for host:port, preferred family first."""
    try:
        entries = get().resolve(host, port, family, kind, passive)
    except Exception as e:  # noqa: BLE001 - every platform failure becomes a NetError
        error = fail(e, "resolve %r" % host)
        if error.errno == EADDRNOTAVAIL:
            error = NetError(EADDRNOTAVAIL, "cannot resolve %r: no such name, or no address" % host)
        raise error
    if not entries:
        raise NetError(EADDRNOTAVAIL, "cannot resolve %r: no address of the wanted family" % host)
    if preferred_family:
        entries = [e for e in entries if e[0] == preferred_family] + [
            e for e in entries if e[0] != preferred_family
        ]
    return entries


_SERVER_METHODS = ("bind", "accept", "shutdown", "send_to", "receive_from", "receive_from_into")
# What a (D)TLS socket asks of its backend beyond connect, send and receive.
_BACKEND_METHODS = ("get_system_socket", "_mtu", "_inner_mtu")


def _extras():
    return load_or_enomem("twinsock.extras")


def _checks():
    return load_or_enomem("twinsock.checks")


def __getattr__(name):
    # The argument checks (check_key, option_name, ...) from their small
    # module; poll and features with the rarer methods.
    if name[:2] == "__":  # CPython's import machinery asks for __path__ and more
        raise AttributeError(name)
    value = getattr(_checks(), name, None)
    return getattr(_extras(), name) if value is None else value


class Socket:
    """What UDP and TCP sockets share. Per-socket state is only what differs
    from these class defaults."""

    kind = None
    _p = None  # the platform (twinsock.net.use)
    _config = None  # None: the default SocketConfig
    _sock = None  # the platform socket
    _poller = None  # the platform's readiness handle for _sock
    _state = _STATE_CLOSED
    _timeout = _DEFAULT_RECV_TIMEOUT_MS
    _sent = 0
    _received = 0
    _forced = _AF_UNSPEC
    _preferred = _AF_UNSPEC
    _cleaned = False
    # (remote host, remote port, local host, local port), None where unknown:
    # one tuple, as a board pays for each attribute and object per socket. Hosts
    # as the platform gave them (an IPv4-mapped one stays mapped: it tells the
    # family; twinsock.extras unmaps them for the queries). A local wildcard
    # host is asked for on need.
    _addresses = (None, None, None, None)
    _remote_name = None  # the host given to connect, where not the numeric one
    _was_reset = False
    _rx = None  # the platform's receiver for _sock

    def __init__(self, config=None):
        if _current is None:
            get()
        if config is not None:
            _extras().configure(self, config)

    def __getattr__(self, name):
        # The rest of the v-table: twinsock.extras (or twinsock.server) puts
        # its methods on this class the first time one is asked for.
        if name[:2] == "__":
            raise AttributeError(name)
        if name in _SERVER_METHODS:
            load_or_enomem("twinsock.server").install(Socket)
        elif name in _BACKEND_METHODS:
            load_or_enomem("twinsock.backend").install(Socket)
        else:
            _extras().install(Socket)
        if not hasattr(Socket, name):
            raise AttributeError("twinsock socket has no attribute %r" % name)
        return getattr(self, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    # -- the platform socket ------------------------------------------------

    def _open(self, family):
        raw = None
        try:
            raw = self._p.socket(family, self.kind, self._config)  # None: the defaults
            self._adopt(raw, family)  # allocates too: out of heap is ENOMEM here as well
        except Exception as e:
            if raw is not None:
                self._sock = None
                self._p.close(raw)
            raise fail(e, "create %s socket" % self.kind)

    def _adopt(self, raw, family):
        p = self._p
        self._sock = raw  # its family shows in the addresses (_family)
        self._poller = p.poller(raw)
        self._rx = p.datagram_receiver(raw) if self.kind == "udp" else p.stream_receiver(raw)

    def _drop(self):
        raw = self._sock
        self._sock = self._poller = self._rx = None
        try:
            del self._wait_readable  # the always-ready one of shutdown()
        except AttributeError:
            pass
        if raw is not None:
            try:
                self._p.close(raw)
            except Exception:  # noqa: BLE001 - closing must never fail
                pass

    def _family(self):
        """AF_INET4/AF_INET6 of the open platform socket (AF_UNSPEC: none)."""
        host = self._addresses[0] or self._addresses[2]
        if self._sock is None or host is None:
            return _AF_UNSPEC
        return 2 if ":" in host else _AF_INET4

    def _bind_local(self, family, host=None, port=0):
        """Bind to host:port. Port 0 where the platform cannot tell which port
        it picked: choose one ourselves, so get_local_port() stays right."""
        p = self._p
        host = host or ("::" if family == 2 else "0.0.0.0")
        # the host's own TIME_WAIT sockets can hold a good part of the range
        tries = 32 if port == 0 and p.picks_local_port else 1
        for attempt in range(tries):
            chosen = p.ephemeral_port() if tries > 1 else port
            addr = resolve_entries(host, chosen, family, self.kind, 0, True)[0][3]
            try:
                p.bind(self._sock, addr)
            except Exception as e:
                if attempt + 1 < tries and p.errno_of(e) == EADDRINUSE:
                    continue
                raise fail(e, "bind to %s port %d" % (host, chosen))
            self._addresses = self._addresses[:2] + (host, chosen)
            return

    # -- checks and errors (slow paths) -------------------------------------

    def _check_alive(self, what):
        if self._cleaned:
            raise NetError(EBADF, "%s: socket was cleaned up" % what)

    def _failed(self, exc, what):
        """The NetError for `exc` raised by `what` on this socket."""
        self._check_alive(what)
        if self._sock is None:
            return NetError(EBADF, "%s: socket is closed" % what)
        if isinstance(exc, NetError):
            return exc
        if self._state == _STATE_SHUTDOWN:
            return NetError(EPIPE, "%s: socket was shut down" % what)
        return fail(exc, what)

    def _would_block(self, exc):
        return isinstance(exc, OSError) and self._p.errno_of(exc) == EAGAIN

    def _timed_out(self, what):
        return NetError(ETIMEDOUT, "%s: timed out after %d ms" % (what, self._timeout))

    # -- sending --------------------------------------------------------------

    def send(self, data):
        if type(data) is str:  # MicroPython would send it; CPython would not
            raise invalid("send: data must be bytes-like, not str")
        try:
            n = self._sock.send(data)
        except Exception as e:
            n = self._send_failed(data, e)  # twinsock.extras
        else:
            if n != len(data):
                n = self._send_rest(data, n or 0)  # twinsock.extras
        self._sent += n

    # -- receiving: the waits -------------------------------------------------

    def _wait_readable(self, timeout_ms):
        """True once readable, False after timeout_ms (None: no limit).
        shutdown() shadows it with one that is always ready."""
        return self._p.wait(self._poller, timeout_ms)

    def _wait(self, what, start=None):
        """Wait for readable until the receive timeout, counted from `start`
        (ticks_ms() when the call began; None: now), else ETIMEDOUT."""
        timeout = self._timeout
        if timeout is not None and start is not None:
            timeout = max(0, timeout - ticks_diff(ticks_ms(), start))
        if not self._wait_readable(timeout):
            raise self._timed_out(what)

    def _recover(self, exc, start, what, receive, args, at_shutdown):
        """Slow path of every receive. `exc` is what the first try raised, or
        None when it found nothing after all (readiness that was not): then
        wait for what is left of the timeout that began at `start` and try
        `receive(*args)` again. A shut-down socket gives `at_shutdown` (None:
        ENOTCONN); anything else becomes a NetError."""
        while True:
            if exc is not None and not (self._sock is not None and self._would_block(exc)):
                if not isinstance(exc, NetError) and self._state == _STATE_SHUTDOWN:
                    if self._sock is not None:
                        if at_shutdown is None:
                            raise NetError(ENOTCONN, "%s: socket was shut down" % what)
                        return at_shutdown
                error = self._failed(exc, what)
                if error.errno == ECONNRESET:
                    self._was_reset = True
                raise error
            exc = None
            try:
                self._wait(what, start)
                result = receive(*args)
            except Exception as e:
                exc = e
                continue
            if result is not None:
                return result

    def receive(self, bufsize):
        stream = self.kind == "tcp"
        if type(bufsize) is not int or not stream <= bufsize <= MAX_INT32:
            _checks().bad_argument("receive: bufsize" if stream else "bufsize", bufsize)
        if bufsize == 0:
            return _extras().receive_nothing(self)
        buf = bytearray(bufsize)
        try:
            n = self.receive_into(buf, "receive")
        except NetError as e:
            if e.errno == EMSGSIZE:  # MessageTruncated: the datagram's first bytes
                e.data = bytes(buf)
            raise
        return bytes(buf) if n == bufsize else bytes(buf[:n])

    def _received_nothing(self, buf, what):
        """receive_into got 0 bytes: an empty buffer is EINVAL; on a stream
        it is the end, unless the stream ended in a reset (which stays an
        error: the data is cut)."""
        if len(buf) == 0:
            raise invalid("%s: buffer is empty" % what)
        if self._was_reset:
            raise NetError(
                ECONNRESET, "%s: connection was reset by the peer; data is missing" % what
            )

    # -- connecting and closing -------------------------------------------------

    def connect(self, host, port):
        self._check_alive("connect")
        state = self._state
        if state != _STATE_CLOSED and not (state == _STATE_BOUND and self.kind == "udp"):
            raise NetError(EISCONN, "connect: socket is already %s" % STATE_NAMES[state])
        port = check_address(host, port)
        family = self._family() if self._sock is not None else self._forced
        entries = resolve_entries(host, port, family, self.kind, self._preferred)
        sticky = self._config and self._config.preferred_endpoint
        if sticky is not None:
            entries = _extras().prefer(entries, sticky)
        p = self._p
        error = None
        # imported here, not at the top: out of this module's globals (core heap)
        from twinsock.clock import deadline_after, ms_left

        deadline = deadline_after(_CONNECT_TIMEOUT_MS)  # one for all the addresses
        for entry in entries:
            left = ms_left(deadline)
            if not left and error is not None:
                break  # the time is up: the last address's error says why
            fresh = self._sock is None
            if fresh:
                self._open(entry[0])
            try:
                if fresh and p.picks_local_port:
                    self._bind_local(entry[0])
                p.connect(self._sock, entry[3], left)
            except Exception as e:
                if fresh:
                    self._drop()  # a fresh socket per address: esp32 cannot reuse a failed one
                    self._addresses = Socket._addresses
                error = fail(e, "connect to %s port %d" % (entry[1], port))
                continue
            if sticky is not None:
                sticky._entry = entry  # IP stickiness: try it first next time
            self._addresses = (entry[1], port) + self._addresses[2:]
            if host != entry[1]:
                self._remote_name = host
            self._state = _STATE_CONNECTED
            return
        raise error

    def close(self):
        if self._cleaned:
            return
        self._drop()
        self._state = _STATE_CLOSED
        self._addresses = Socket._addresses
        self._remote_name = None

    def cleanup(self):
        self.close()
        self._cleaned = True

    def get_opt(self, key):
        self._check_alive("get_opt")
        if key == _OPT_RECV_TIMEOUT and type(key) is int:
            return self._timeout
        if key == _OPT_STATE and type(key) is int:
            return self._state
        return self._get_opt(key)

    def set_opt(self, key, value):
        self._check_alive("set_opt")
        if key == _OPT_RECV_TIMEOUT and type(key) is int:
            if value is not None and (type(value) is not int or not 0 <= value <= MAX_INT32):
                self._set_opt(key, value)  # raises the EINVAL
            self._timeout = value
        else:
            self._set_opt(key, value)


class UdpSocket(Socket):
    kind = "udp"

    def receive_into(self, buf, what="receive_into"):
        kind = type(buf)
        if kind is not bytearray and kind is not memoryview:
            _checks().check_buffer(buf, what)
        start = ticks_ms()  # one deadline for the whole call
        p = self._p
        try:
            # The wait inlined: one method frame less on the hot path.
            if not self._wait_readable(self._timeout):
                raise self._timed_out(what)
            n = p.receive_datagram(self._rx, buf)
        except Exception as e:
            n = self._recover(e, start, what, p.receive_datagram, (self._rx, buf), 0)
        if n is None:  # readiness that was not
            n = self._recover(None, start, what, p.receive_datagram, (self._rx, buf), 0)
        if n > len(buf):
            self._received += len(buf)
            raise MessageTruncated(len(buf))
        if n == 0:
            self._received_nothing(buf, what)
        self._received += n
        return n


class TcpSocket(Socket):
    kind = "tcp"

    def receive_into(self, buf, what="receive_into"):
        kind = type(buf)
        if kind is not bytearray and kind is not memoryview:
            _checks().check_buffer(buf, what)
        try:
            # Read first, wait only when nothing is there: on a busy stream the
            # data is already waiting, and a poll per call costs up to half the
            # throughput (tools/bench).
            n = self._rx(buf)
        except Exception as e:  # CPython: EAGAIN when nothing is there yet
            if self._sock is None or not self._would_block(e):
                n = self._recover(e, None, what, self._rx, (buf,), 0)
            else:
                n = None
        if n is None:  # nothing there yet (MicroPython says None): wait for it
            start = ticks_ms()
            try:
                # The usual wait inlined: no allocation on a stream that catches up.
                if not self._wait_readable(self._timeout):
                    raise self._timed_out(what)
                n = self._rx(buf)
            except Exception as e:
                n = self._recover(e, start, what, self._rx, (buf,), 0)
            if n is None:  # readiness that was not
                n = self._recover(None, start, what, self._rx, (buf,), 0)
        if n == 0:
            self._received_nothing(buf, what)
        self._received += n
        return n
