# UDP and TCP sockets: the avs_net v-table over one platform socket.
#
# The platform socket is kept non-blocking; every wait is a poll with the
# socket's receive timeout, so timeouts hold on every runtime and sends pay
# nothing for them. send and receive_into are nearly direct platform calls;
# everything unusual (closed sockets, partial sends, errors) goes through
# the slow paths below them.
from twinsock import platform
from twinsock.clock import ms_left, ticks_add, ticks_diff, ticks_ms
from twinsock.config import SocketConfig, check_family
from twinsock.const import (
    AF_INET4,
    AF_UNSPEC,
    CONNECT_TIMEOUT_MS,
    DEFAULT_RECV_TIMEOUT_MS,
    FALLBACK_MTU,
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
    STATE_BOUND,
    STATE_CLOSED,
    STATE_CONNECTED,
    STATE_SHUTDOWN,
    UDP_HEADER,
)
from twinsock.endpoint import check_host, check_port, prefer, remember, resolve_entries, unmap
from twinsock.errors import (
    EADDRINUSE,
    EAGAIN,
    EBADF,
    ECONNRESET,
    EISCONN,
    ENOTCONN,
    EPIPE,
    ETIMEDOUT,
    MessageTruncated,
    NetError,
    invalid,
    unsupported,
)

_WILDCARD = {AF_INET4: "0.0.0.0", 2: "::"}
_STATE_NAMES = ("closed", "shut down", "bound", "accepted", "connected")
_READ_ONLY = (
    OPT_STATE,
    OPT_ADDR_FAMILY,
    OPT_MTU,
    OPT_INNER_MTU,
    OPT_BYTES_SENT,
    OPT_BYTES_RECEIVED,
    OPT_HAS_BUFFERED_DATA,
)
_SECURE_ONLY = (
    OPT_SESSION_RESUMED,
    OPT_DANE_TLSA_ARRAY,
    OPT_DTLS_HANDSHAKE_TIMEOUTS,
    OPT_CONNECTION_ID_RESUMED,
)
_OPTION_NAMES = (
    "OPT_RECV_TIMEOUT",
    "OPT_STATE",
    "OPT_ADDR_FAMILY",
    "OPT_MTU",
    "OPT_INNER_MTU",
    "OPT_SESSION_RESUMED",
    "OPT_BYTES_SENT",
    "OPT_BYTES_RECEIVED",
    "OPT_DANE_TLSA_ARRAY",
    "OPT_HAS_BUFFERED_DATA",
    "OPT_DTLS_HANDSHAKE_TIMEOUTS",
    "OPT_CONNECTION_ID_RESUMED",
    "OPT_PREFERRED_ADDR_FAMILY",
    "OPT_FORCED_ADDR_FAMILY",
)


# The longest wait poll() takes (int milliseconds), and the largest size a
# receive can allocate on every runtime (MicroPython cuts larger ones to 32 bits).
MAX_INT32 = 0x7FFFFFFF


def check_timeout(value, what):
    if value is not None and (type(value) is not int or not 0 <= value <= MAX_INT32):
        raise invalid(
            "%s must be None (no limit) or milliseconds as an int in 0..%d, not %r"
            % (what, MAX_INT32, value)
        )
    return value


def check_size(value, what="bufsize"):
    if type(value) is not int or not 0 <= value <= MAX_INT32:
        raise invalid("%s must be an int in 0..%d, not %r" % (what, MAX_INT32, value))
    return value


def check_key(key, what):
    if type(key) is not int:
        raise invalid("%s: option key must be an int (OPT_*), not %r" % (what, key))


def check_buffer(buf, what):
    """EINVAL for what receive_into cannot fill, before any waiting: two
    identity tests on the usual bytearray/memoryview path."""
    kind = type(buf)
    if kind is bytearray or kind is memoryview:
        return
    if buf is None or isinstance(buf, (bytes, str, int, float, list, tuple)):
        raise invalid(
            "%s: buffer must be a writable bytearray or memoryview, not %s" % (what, kind.__name__)
        )


def option_name(key):
    if type(key) is int and 0 <= key < len(_OPTION_NAMES):
        return _OPTION_NAMES[key]
    return repr(key)


_DEFAULT_CONFIG = []


def _at_once(timeout_ms):
    return True


def _default_config():
    # One shared default, validated once: a socket only reads its config, and
    # a SocketConfig per socket costs ~200 B of heap.
    if not _DEFAULT_CONFIG:
        _DEFAULT_CONFIG.append(SocketConfig())
    return _DEFAULT_CONFIG[0]


class Socket:
    """What UDP and TCP sockets share."""

    kind = None

    def __init__(self, config=None):
        if config is None:
            config = _default_config()
        elif not isinstance(config, SocketConfig):
            raise invalid("config must be a SocketConfig or None, not %r" % type(config).__name__)
        else:
            config.validate()
        self._p = platform.get()
        self._p.check_config(config)
        self._config = config
        self._sock = None
        self._state = STATE_CLOSED
        self._timeout = DEFAULT_RECV_TIMEOUT_MS
        self._sent = 0
        self._received = 0
        self._forced = config.address_family
        self._preferred = config.preferred_family
        self._cleaned = False
        self._forget_addresses()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def __repr__(self):
        return "<twinsock %s socket, %s>" % (self.kind, _STATE_NAMES[self._state])

    # -- the platform socket ------------------------------------------------

    def _forget_addresses(self):
        self._family = AF_UNSPEC
        self._remote = None
        self._remote_name = None
        self._local = None
        self._local_pending = False  # connected: ask the platform on first need
        self._wait_readable = None

    def _open(self, family):
        raw = None
        try:
            raw = self._p.socket(family, self.kind, self._config)
            self._adopt(raw, family)  # allocates too: out of heap is ENOMEM here as well
        except Exception as e:
            if raw is not None:
                self._sock = None
                self._p.close(raw)
            raise platform.fail(e, "create %s socket" % self.kind)

    def _adopt(self, raw, family):
        self._sock = raw
        self._family = family
        self._wait_readable = self._p.waiter(raw)

    def _drop(self):
        raw = self._sock
        self._sock = None
        self._wait_readable = None
        if raw is not None:
            try:
                self._p.close(raw)
            except Exception:  # noqa: BLE001 - closing must never fail
                pass

    def _bind_local(self, family, host=None, port=0):
        """Bind to host:port. Port 0 where the platform cannot tell which port
        it picked: choose one ourselves, so get_local_port() stays right."""
        p = self._p
        host = host or _WILDCARD[family]
        # the host's own TIME_WAIT sockets can hold a good part of the range
        tries = 32 if port == 0 and p.picks_local_port else 1
        for attempt in range(tries):
            chosen = p.ephemeral_port() if tries > 1 else port
            addr = resolve_entries(host, chosen, family, self.kind, passive=True)[0][3]
            try:
                p.bind(self._sock, addr)
            except Exception as e:
                if attempt + 1 < tries and p.errno_of(e) == EADDRINUSE:
                    continue
                raise platform.fail(e, "bind to %s port %d" % (host, chosen))
            self._local = (host, chosen)
            return

    def _learn_local(self):
        remote_host = self._remote[0] if self._remote else None
        local = self._p.local_address(self._sock, self._local, remote_host)
        if local is not None:
            self._local = (unmap(local[0]), local[1])

    # -- checks and errors (slow paths) -------------------------------------

    def _check_alive(self, what):
        if self._cleaned:
            raise NetError(EBADF, "%s: socket was cleaned up" % what)

    def _check_open(self, what):
        self._check_alive(what)
        if self._sock is None:
            raise NetError(EBADF, "%s: socket is closed" % what)

    def _failed(self, exc, what):
        """The NetError for `exc` raised by `what` on this socket."""
        self._check_open(what)
        if isinstance(exc, NetError):
            return exc
        if self._state == STATE_SHUTDOWN:
            return NetError(EPIPE, "%s: socket was shut down" % what)
        return platform.fail(exc, what)

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
            n = self._send_failed(data, e)
        else:
            if n != len(data):
                n = self._send_rest(data, n or 0)
        self._sent += n

    def _send_failed(self, data, exc):
        if self._would_block(exc):
            return self._send_rest(data, 0)
        if self._sock is not None and self._state not in (STATE_CONNECTED, STATE_ACCEPTED):
            self._check_alive("send")
            if self._state != STATE_SHUTDOWN:
                raise NetError(ENOTCONN, "send: socket is not connected")
        if isinstance(exc, TypeError):
            raise invalid("send: data must be bytes-like, not %s" % type(data).__name__)
        raise self._failed(exc, "send")

    def _send_rest(self, data, sent):
        """Send the rest of `data`, waiting for room up to avs_net's send
        timeout: a peer that never reads cannot hang us."""
        view = memoryview(data)
        wait_writable = self._p.waiter(self._sock, True)
        while sent < len(view):
            if not wait_writable(SEND_TIMEOUT_MS):
                raise NetError(ETIMEDOUT, "send: peer took no data for %d ms" % SEND_TIMEOUT_MS)
            try:
                sent += self._sock.send(view[sent:]) or 0
            except Exception as e:
                if not self._would_block(e):
                    raise self._failed(e, "send")
        return sent

    # -- receiving: shared helpers ------------------------------------------

    def _after_shutdown(self, exc):
        """True when `exc` only says that a shut-down socket has nothing more."""
        return (
            not isinstance(exc, NetError)
            and self._state == STATE_SHUTDOWN
            and self._sock is not None
        )

    def _wait(self, what):
        if not self._wait_readable(self._timeout):
            raise self._timed_out(what)

    def _wait_until(self, deadline):
        """True once readable, False at `deadline` (clock.deadline_after; None: no
        limit). The one wait that TLS engines use on their backend socket."""
        return self._wait_readable(ms_left(deadline))

    def _recover(self, exc, what, receive, arg, at_shutdown):
        """Slow path of every receive. `exc` is what the first try raised, or
        None when it found nothing after all (readiness that was not): then
        wait for the rest of the timeout and try `receive(arg)` again. A
        shut-down socket gives `at_shutdown` (None: ENOTCONN); anything else
        becomes a NetError."""
        deadline = None if self._timeout is None else ticks_add(ticks_ms(), self._timeout)
        while True:
            if exc is not None and not (self._sock is not None and self._would_block(exc)):
                if self._after_shutdown(exc):
                    if at_shutdown is None:
                        raise NetError(ENOTCONN, "%s: socket was shut down" % what)
                    return at_shutdown
                error = self._failed(exc, what)
                if error.errno == ECONNRESET:
                    self._was_reset = True
                raise error
            left = None if deadline is None else max(0, ticks_diff(deadline, ticks_ms()))
            exc = None
            try:
                if not self._wait_readable(left):
                    raise self._timed_out(what)
                result = receive(arg)
            except Exception as e:
                exc = e
                continue
            if result is not None:
                return result

    def _raw_recv(self, size):
        return self._sock.recv(size)

    def _raw_recvfrom(self, size):
        return self._sock.recvfrom(size)

    # -- connecting -----------------------------------------------------------

    def connect(self, host, port):
        self._check_alive("connect")
        state = self._state
        if state != STATE_CLOSED and not (state == STATE_BOUND and self.kind == "udp"):
            raise NetError(EISCONN, "connect: socket is already %s" % _STATE_NAMES[state])
        check_host(host)
        port = check_port(port)
        family = self._family if self._sock is not None else self._forced
        entries = resolve_entries(host, port, family, self.kind, preferred_family=self._preferred)
        sticky = self._config.preferred_endpoint
        error = None
        for entry in prefer(entries, sticky):
            try:
                self._connect_to(entry)
            except NetError as e:
                error = e
                continue
            remember(sticky, entry)
            self._remote_name = host
            self._state = STATE_CONNECTED
            return
        raise error

    def _connect_to(self, entry):
        family, host, port, addr = entry
        fresh = self._sock is None
        if fresh:
            self._open(family)
        try:
            if fresh and self._p.picks_local_port:
                self._bind_local(family)
            self._p.connect(self._sock, addr, CONNECT_TIMEOUT_MS)
        except Exception as e:
            if fresh:
                self._drop()  # a fresh socket per address: esp32 cannot reuse a failed one
                self._local = None
            raise platform.fail(e, "connect to %s port %d" % (host, port))
        self._remote = (unmap(host), port)
        # Asked on first use: on a modem, local_address is an AT round trip.
        self._local_pending = True

    def bind(self, address, port):
        self._check_alive("bind")
        if self._state != STATE_CLOSED:
            raise NetError(EISCONN, "bind: socket is already %s" % _STATE_NAMES[self._state])
        port = check_port(port)
        if address is None or address == "":
            family = self._forced or self._preferred or AF_INET4
            address = _WILDCARD[family]
        else:
            check_host(address, "address")
        entries = resolve_entries(address, port, self._forced, self.kind, True, self._preferred)
        family = entries[0][0]
        self._open(family)
        try:
            self._bind_local(family, entries[0][1], port)
            if self.kind == "tcp":
                self._p.listen(self._sock)
            else:
                self._p.start_datagrams(self._sock)
            self._learn_local()
        except Exception as e:
            self._drop()
            self._forget_addresses()
            raise platform.fail(e, "bind to %s port %d" % (address, port))
        self._state = STATE_BOUND

    def shutdown(self):
        self._check_open("shutdown")
        if self._local_pending:  # a shutdown that closes the socket ends the asking
            try:
                self._settle_local("shutdown")
            except NetError:
                pass
        if self._state != STATE_SHUTDOWN:
            try:
                self._p.shutdown(self._sock)
            except Exception as e:
                raise platform.fail(e, "shutdown")
        self._state = STATE_SHUTDOWN
        # Nothing more will arrive: receives end at once, also where shutdown
        # closed the platform socket and a poll on it would just wait.
        self._wait_readable = _at_once

    def close(self):
        if self._cleaned:
            return
        self._drop()
        self._forget_addresses()
        self._state = STATE_CLOSED

    def cleanup(self):
        self.close()
        self._cleaned = True

    # -- queries --------------------------------------------------------------

    def get_system_socket(self):
        self._check_alive("get_system_socket")
        return self._sock

    def get_interface_name(self):
        self._check_open("get_interface_name")
        self._settle_local("get_interface_name")
        return self._p.interface_name(self._sock, self._local[0] if self._local else None)

    def _remote_part(self, what, index):
        self._check_alive(what)
        if self._remote is None:
            raise NetError(ENOTCONN, "%s: socket is not connected" % what)
        return self._remote[index]

    def get_remote_host(self):
        return self._remote_part("get_remote_host", 0)

    def get_remote_port(self):
        return self._remote_part("get_remote_port", 1)

    def get_remote_hostname(self):
        self._remote_part("get_remote_hostname", 0)
        return self._remote_name or self._remote[0]

    def _settle_local(self, what):
        if self._local_pending:
            self._local_pending = False
            try:
                self._learn_local()
            except Exception as e:
                raise platform.fail(e, what)

    def _local_part(self, what, index):
        self._check_alive(what)
        self._settle_local(what)
        if self._local is None:
            if self._sock is not None:  # connected, but the platform cannot tell
                raise unsupported(
                    "%s: platform %s cannot tell the local address" % (what, self._p.name)
                )
            raise NetError(ENOTCONN, "%s: socket is neither bound nor connected" % what)
        return self._local[index]

    def get_local_host(self):
        return self._local_part("get_local_host", 0)

    def get_local_port(self):
        return self._local_part("get_local_port", 1)

    # -- options --------------------------------------------------------------

    def _mtu(self):
        if self._config.forced_mtu:
            return self._config.forced_mtu
        family = self._family or self._forced or self._preferred or AF_INET4
        mtu = self._p.mtu(self._sock, family) if self._sock is not None else None
        return mtu or FALLBACK_MTU[family]

    def _inner_mtu(self):
        family = self._family or self._forced or self._preferred or AF_INET4
        return self._mtu() - UDP_HEADER[family]

    def _has_buffered_data(self):
        return False

    def get_opt(self, key):
        self._check_alive("get_opt")
        check_key(key, "get_opt")
        if key == OPT_RECV_TIMEOUT:
            return self._timeout
        if key == OPT_STATE:
            return self._state
        if key == OPT_ADDR_FAMILY:
            return self._family
        if key == OPT_MTU:
            return self._mtu()
        if key == OPT_INNER_MTU:
            if self.kind != "udp":
                raise unsupported("get_opt: OPT_INNER_MTU applies to datagram sockets")
            return self._inner_mtu()
        if key == OPT_BYTES_SENT:
            return self._sent
        if key == OPT_BYTES_RECEIVED:
            return self._received
        if key == OPT_HAS_BUFFERED_DATA:
            return self._has_buffered_data()
        if key == OPT_PREFERRED_ADDR_FAMILY:
            return self._preferred
        if key == OPT_FORCED_ADDR_FAMILY:
            return self._forced
        return self._get_other_opt(key)

    def _get_other_opt(self, key):
        if key in _SECURE_ONLY:
            raise unsupported("get_opt: %s applies to (D)TLS sockets" % option_name(key))
        raise invalid("get_opt: unknown option key %s" % option_name(key))

    def set_opt(self, key, value):
        self._check_alive("set_opt")
        check_key(key, "set_opt")
        if key == OPT_RECV_TIMEOUT:
            self._timeout = check_timeout(value, "OPT_RECV_TIMEOUT")
        elif key == OPT_PREFERRED_ADDR_FAMILY:
            self._preferred = check_family(value, "OPT_PREFERRED_ADDR_FAMILY")
        elif key == OPT_FORCED_ADDR_FAMILY:
            self._forced = check_family(value, "OPT_FORCED_ADDR_FAMILY")
        elif key in _READ_ONLY:
            raise invalid("set_opt: %s is read-only" % option_name(key))
        else:
            self._set_other_opt(key, value)

    def _set_other_opt(self, key, value):
        if key in _SECURE_ONLY:
            raise unsupported("set_opt: %s applies to (D)TLS sockets" % option_name(key))
        raise invalid("set_opt: unknown option key %s" % option_name(key))

    # -- readiness, for poll() ----------------------------------------------

    def _poll_socket(self):
        return self._sock


class UdpSocket(Socket):
    kind = "udp"
    _receive_datagram = None

    def _adopt(self, raw, family):
        Socket._adopt(self, raw, family)
        self._receive_datagram = self._p.datagram_receiver(raw)
        self._receive_datagram_from = None  # made on first use: optional for a platform

    def receive_into(self, buf):
        kind = type(buf)
        if kind is not bytearray and kind is not memoryview:
            check_buffer(buf, "receive_into")
        try:
            # The wait inlined: one method frame less on the hot path.
            if not self._wait_readable(self._timeout):
                raise self._timed_out("receive_into")
            n = self._receive_datagram(buf)
        except Exception as e:
            n = self._recover(e, "receive_into", self._receive_datagram, buf, 0)
        if n is None:
            n = self._recover(None, "receive_into", self._receive_datagram, buf, 0)
        if n > len(buf):
            self._received += len(buf)
            raise MessageTruncated(len(buf))
        if n == 0 and len(buf) == 0:  # nothing was read: not an empty datagram
            raise invalid("receive_into: buffer is empty")
        self._received += n
        return n

    def receive(self, bufsize):
        check_size(bufsize)
        try:
            self._wait("receive")
            data = self._sock.recv(bufsize + 1)
        except Exception as e:
            data = self._recover(e, "receive", self._raw_recv, bufsize + 1, b"")
        if len(data) > bufsize:
            data = data[:bufsize]
            self._received += bufsize
            raise MessageTruncated(bufsize, data)
        self._received += len(data)
        return data

    def receive_from_into(self, buf):
        check_buffer(buf, "receive_from_into")
        receive = self._receive_datagram_from
        if receive is None and self._sock is not None:
            receive = self._receive_datagram_from = self._p.datagram_from_receiver(self._sock)
        try:
            self._wait("receive_from_into")
            got = receive(buf)
        except Exception as e:
            got = self._recover(e, "receive_from_into", receive, buf, None)
        if got is None:
            got = self._recover(None, "receive_from_into", receive, buf, None)
        n, host, port = got
        host = unmap(host)
        if n > len(buf):
            self._received += len(buf)
            raise MessageTruncated(len(buf), None, host, port)
        if n == 0 and len(buf) == 0:
            raise invalid("receive_from_into: buffer is empty")
        self._received += n
        return n, host, port

    def receive_from(self, bufsize):
        check_size(bufsize)
        if self._sock is not None and not hasattr(self._sock, "recvfrom"):
            raise unsupported("receive_from: not supported on platform %s" % self._p.name)
        try:
            self._wait("receive_from")
            data, addr = self._sock.recvfrom(bufsize + 1)
        except Exception as e:
            data, addr = self._recover(e, "receive_from", self._raw_recvfrom, bufsize + 1, None)
        host, port = self._p.host_port(addr)
        host = unmap(host)
        if len(data) > bufsize:
            data = data[:bufsize]
            self._received += bufsize
            raise MessageTruncated(bufsize, data, host, port)
        self._received += len(data)
        return data, host, port

    def send_to(self, data, host, port):
        self._check_alive("send_to")
        check_host(host)
        port = check_port(port)
        if self._state == STATE_CONNECTED:
            raise NetError(EISCONN, "send_to: socket is connected; use send")
        if type(data) is str:
            raise invalid("send_to: data must be bytes-like, not str")
        family = self._family if self._sock is not None else self._forced
        entry = resolve_entries(host, port, family, "udp", preferred_family=self._preferred)[0]
        if self._sock is None:
            self._open(entry[0])
            try:
                self._bind_local(entry[0])
                self._p.start_datagrams(self._sock)
                self._learn_local()
            except Exception as e:
                self._drop()
                self._forget_addresses()
                raise platform.fail(e, "send_to")
            self._state = STATE_BOUND
        while True:
            try:
                n = self._sock.sendto(data, entry[3])
                break
            except Exception as e:
                if not self._would_block(e):
                    if isinstance(e, TypeError):
                        raise invalid("send_to: data must be bytes-like")
                    raise self._failed(e, "send_to")
                if not self._p.waiter(self._sock, True)(SEND_TIMEOUT_MS):
                    raise NetError(
                        ETIMEDOUT, "send_to: no room to send for %d ms" % SEND_TIMEOUT_MS
                    )
        self._sent += n or 0

    def accept(self):
        self._check_alive("accept")
        raise unsupported("accept: UDP sockets do not accept connections")


class TcpSocket(Socket):
    kind = "tcp"
    _receive_stream = None
    _was_reset = False

    def _adopt(self, raw, family):
        Socket._adopt(self, raw, family)
        self._receive_stream = self._p.stream_receiver(raw)
        self._was_reset = False

    def receive_into(self, buf):
        kind = type(buf)
        if kind is not bytearray and kind is not memoryview:
            check_buffer(buf, "receive_into")
        try:
            # Read first, wait only when nothing is there: on a busy stream the
            # data is already waiting, and a poll per call costs up to half the
            # throughput (tools/bench).
            n = self._receive_stream(buf)
        except Exception as e:  # CPython: EAGAIN when nothing is there yet
            if self._sock is None or not self._would_block(e):
                n = self._recover(e, "receive_into", self._receive_stream, buf, 0)
            else:
                n = None
        if n is None:  # nothing there yet (MicroPython says None): the usual wait first
            try:
                if not self._wait_readable(self._timeout):
                    raise self._timed_out("receive_into")
                n = self._receive_stream(buf)
            except Exception as e:
                n = self._recover(e, "receive_into", self._receive_stream, buf, 0)
            if n is None:  # readiness that was not
                n = self._recover(None, "receive_into", self._receive_stream, buf, 0)
        if n == 0:
            self._end_of_stream(buf, "receive_into")
        self._received += n
        return n

    def receive(self, bufsize):
        if type(bufsize) is not int or not 0 < bufsize <= MAX_INT32:
            raise invalid("receive: bufsize must be an int in 1..%d, not %r" % (MAX_INT32, bufsize))
        try:
            self._wait("receive")
            data = self._sock.recv(bufsize)
        except Exception as e:
            data = self._recover(e, "receive", self._raw_recv, bufsize, b"")
        if not data:
            self._end_of_stream(None, "receive")
        self._received += len(data)
        return data

    def _end_of_stream(self, buf, what):
        """Zero bytes: the end of the stream, unless the buffer was empty or
        the stream ended in a reset (which stays an error: the data is cut)."""
        if buf is not None and len(buf) == 0:
            raise invalid("%s: buffer is empty" % what)
        if self._was_reset:
            raise NetError(
                ECONNRESET, "%s: connection was reset by the peer; data is missing" % what
            )

    def send_to(self, data, host, port):
        self._check_alive("send_to")
        raise unsupported("send_to: TCP sockets are connected; use send")

    def receive_from(self, bufsize):
        self._check_alive("receive_from")
        raise unsupported("receive_from: TCP sockets are connected; use receive")

    def receive_from_into(self, buf):
        self._check_alive("receive_from_into")
        raise unsupported("receive_from_into: TCP sockets are connected; use receive_into")

    def accept(self):
        self._check_open("accept")
        if self._state != STATE_BOUND:
            raise invalid("accept: socket is not listening; bind it first")
        try:
            self._wait("accept")
            raw, host, port = self._p.accept(self._sock)
        except Exception as e:
            raw, host, port = self._recover(e, "accept", self._p.accept, self._sock, None)
        peer = TcpSocket(self._config)
        peer._adopt(raw, self._family)
        peer._remote = (unmap(host), port)
        peer._remote_name = peer._remote[0]
        peer._local = self._local
        peer._local_pending = True
        peer._timeout = self._timeout
        peer._state = STATE_ACCEPTED
        return peer


def poll(sockets, timeout_ms):
    """The sockets among `sockets` that are readable now or become readable
    within timeout_ms (None: no limit), counting data buffered in TLS."""
    check_timeout(timeout_ms, "timeout_ms")
    try:
        sockets = list(sockets)
    except TypeError:
        raise invalid("poll: sockets must be a list of twinsock sockets")
    raws = []
    ready = []
    for s in sockets:
        if not hasattr(s, "_poll_socket"):
            raise invalid("poll: %r is not a twinsock socket" % (s,))
        raw = s._poll_socket()
        if raw is None:
            raise NetError(EBADF, "poll: a socket in the list is closed")
        raws.append(raw)
        if s._has_buffered_data():
            ready.append(s)
    try:
        got = platform.get().poll(raws, 0 if ready else timeout_ms)
    except Exception as e:
        raise platform.fail(e, "poll")
    for s, raw in zip(sockets, raws):
        if s not in ready and any(r is raw for r in got):
            ready.append(s)
    return ready
