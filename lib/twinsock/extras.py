# The part of the avs_net v-table most applications never call: address
# queries, the rarer options, the slow send path, IP stickiness, poll() and
# features(). Loaded on first use: install() puts the methods below on
# twinsock.net.Socket, so a board that only connects, sends and receives never
# pays their heap. The argument checks are in twinsock/checks.py, what a (D)TLS
# socket asks of its backend in twinsock/backend.py, the server side and
# datagrams to any address in twinsock/server.py.
from twinsock import net
from twinsock.checks import check_key, option_name
from twinsock.clock import deadline_after, ms_left
from twinsock.const import SEND_TIMEOUT_MS
from twinsock.errors import (
    EBADF,
    ENOTCONN,
    ETIMEDOUT,
    MessageTruncated,
    NetError,
    invalid,
    unsupported,
)
from twinsock.net import MAX_INT32, fail

# OPT_STATE, OPT_ADDR_FAMILY, OPT_MTU, OPT_INNER_MTU, OPT_BYTES_SENT,
# OPT_BYTES_RECEIVED, OPT_HAS_BUFFERED_DATA; and what only (D)TLS sockets have.
_READ_ONLY = (1, 2, 3, 4, 6, 7, 9)
_SECURE_ONLY = (5, 8, 10, 11)
_DEFAULT_CONFIG = []


def unmap(host):
    """'::ffff:1.2.3.4' -> '1.2.3.4'; other hosts unchanged."""
    if host[:7].lower() == "::ffff:" and "." in host:
        return host[7:]
    return host


def check_timeout(value, what):
    if value is not None and (type(value) is not int or not 0 <= value <= MAX_INT32):
        raise invalid(
            "%s must be None (no limit) or milliseconds as an int in 0..%d, not %r"
            % (what, MAX_INT32, value)
        )
    return value


def default_config():
    # One shared default, validated once: a socket only reads its config.
    if not _DEFAULT_CONFIG:
        from twinsock.config import SocketConfig

        _DEFAULT_CONFIG.append(SocketConfig())
    return _DEFAULT_CONFIG[0]


def configure(sock, config):
    """A socket made with an explicit SocketConfig."""
    from twinsock.config import SocketConfig

    if not isinstance(config, SocketConfig):
        raise invalid("config must be a SocketConfig or None, not %r" % type(config).__name__)
    config.validate()
    sock._p.check_config(config)
    sock._config = config
    if config.address_family:
        sock._forced = config.address_family
    if config.preferred_family:
        sock._preferred = config.preferred_family


def prefer(entries, preferred_endpoint):
    """Move the entry equal to the sticky endpoint to the front."""
    if preferred_endpoint is None or preferred_endpoint._entry is None:
        return entries
    want = preferred_endpoint._entry[1:3]
    first = [e for e in entries if e[1:3] == want]
    return first + [e for e in entries if e[1:3] != want]


def install(cls):
    """Put the methods below, and twinsock.backend's, on `cls` (twinsock.net.Socket)."""
    from twinsock import backend

    backend.install(cls)
    for name in _METHODS.split():
        setattr(cls, name, globals()["_" + name.lstrip("_")])


_METHODS = (
    "get_interface_name get_remote_host get_remote_port get_remote_hostname get_local_host "
    "get_local_port _learn_local _settle_local _has_buffered_data _get_opt _poll_socket "
    "_set_opt _send_failed _send_rest _wait_writable _wait_until"
)


# -- sending: the slow paths --------------------------------------------------


def _send_failed(self, data, exc):
    if self._sock is not None and self._would_block(exc):
        return self._send_rest(data, 0)
    if self._sock is not None and self._state not in (3, 4):  # ACCEPTED, CONNECTED
        self._check_alive("send")
        if self._state != 1:  # SHUTDOWN
            raise NetError(ENOTCONN, "send: socket is not connected")
    if isinstance(exc, TypeError):
        raise invalid("send: data must be bytes-like, not %s" % type(data).__name__)
    raise self._failed(exc, "send")


def _wait_writable(self, what):
    """Wait for room to send, up to avs_net's send timeout: a peer that never
    reads cannot hang us."""
    if not self._p.waiter(self._sock, True)(SEND_TIMEOUT_MS):
        raise NetError(ETIMEDOUT, "%s: peer took no data for %d ms" % (what, SEND_TIMEOUT_MS))


def _send_rest(self, data, sent):
    view = memoryview(data)
    while sent < len(view):
        self._wait_writable("send")
        try:
            sent += self._sock.send(view[sent:]) or 0
        except Exception as e:
            if not self._would_block(e):
                raise self._failed(e, "send")
    return sent


# -- binding and accepting ------------------------------------------------------


def _check_open(self, what):
    self._check_alive(what)
    if self._sock is None:
        raise NetError(EBADF, "%s: socket is closed" % what)


# -- queries --------------------------------------------------------------------


def _get_interface_name(self):
    _check_open(self, "get_interface_name")
    self._settle_local("get_interface_name")
    interface_name = getattr(self._p, "interface_name", None)
    if interface_name is None:
        raise unsupported("get_interface_name is not supported on platform %s" % self._p.name)
    local_host = self._addresses[2]
    return interface_name(self._sock, unmap(local_host) if local_host else None)


def _remote_part(self, what, index):
    self._check_alive(what)
    host, port = self._addresses[:2]
    if host is None:
        raise NetError(ENOTCONN, "%s: socket is not connected" % what)
    return port if index == 1 else (index == 2 and self._remote_name) or unmap(host)


def _get_remote_host(self):
    return _remote_part(self, "get_remote_host", 0)


def _get_remote_port(self):
    return _remote_part(self, "get_remote_port", 1)


def _get_remote_hostname(self):
    return _remote_part(self, "get_remote_hostname", 2)


def _learn_local(self):
    remote_host, _, host, port = self._addresses
    bound = None if host is None else (host, port)
    local = self._p.local_address(self._sock, bound, remote_host and unmap(remote_host))
    if local is not None:
        self._addresses = self._addresses[:2] + (local[0], local[1])


def _local_pending(self):
    """Connected or accepted, and the local host not learnt yet: asked on
    first need (on a modem, local_address is an AT round trip)."""
    host = self._addresses[2]
    return self._state in (3, 4) and (host is None or host in ("0.0.0.0", "::"))


def _settle_local(self, what):
    if _local_pending(self):
        try:
            self._learn_local()
        except Exception as e:
            raise fail(e, what)


def _local_part(self, what, index):
    self._check_alive(what)
    self._settle_local(what)
    host, port = self._addresses[2:]
    if host is None:
        if self._sock is not None:  # connected, but the platform cannot tell
            raise unsupported(
                "%s: platform %s cannot tell the local address" % (what, self._p.name)
            )
        raise NetError(ENOTCONN, "%s: socket is neither bound nor connected" % what)
    return port if index else unmap(host)


def _get_local_host(self):
    return _local_part(self, "get_local_host", 0)


def _get_local_port(self):
    return _local_part(self, "get_local_port", 1)


# -- options --------------------------------------------------------------------


def _poll_socket(self):
    return self._sock


def _wait_until(self, deadline):
    """True once readable, False at `deadline` (clock.deadline_after; None: no
    limit). The one wait that TLS engines use on their backend socket."""
    return self._wait_readable(ms_left(deadline))


def receive_nothing(sock):
    """UDP receive(0): takes one datagram; MessageTruncated unless it was empty."""
    try:
        n = sock.receive_into(bytearray(1), "receive")
    except MessageTruncated:
        n = 2
    sock._received -= min(n, 1)
    if n:
        raise MessageTruncated(0, b"")
    return b""


def _has_buffered_data(self):
    return False


def _get_opt(self, key):
    check_key(key, "get_opt")
    if key == 2:
        return self._family()
    if key == 3:
        return self._mtu()
    if key == 4:
        if self.kind != "udp":
            raise unsupported("get_opt: OPT_INNER_MTU applies to datagram sockets")
        return self._inner_mtu()
    if key == 6:
        return self._sent
    if key == 7:
        return self._received
    if key == 9:
        return self._has_buffered_data()
    if key == 12:
        return self._preferred
    if key == 13:
        return self._forced
    if key in _SECURE_ONLY:
        raise unsupported("get_opt: %s applies to (D)TLS sockets" % option_name(key))
    raise invalid("get_opt: unknown option key %s" % option_name(key))


def _set_opt(self, key, value):
    from twinsock.config import check_family

    check_key(key, "set_opt")
    if key == 0:
        self._timeout = check_timeout(value, "OPT_RECV_TIMEOUT")
    elif key == 12:
        self._preferred = check_family(value, "OPT_PREFERRED_ADDR_FAMILY")
    elif key == 13:
        self._forced = check_family(value, "OPT_FORCED_ADDR_FAMILY")
    elif key in _READ_ONLY:
        raise invalid("set_opt: %s is read-only" % option_name(key))
    elif key in _SECURE_ONLY:
        raise unsupported("set_opt: %s applies to (D)TLS sockets" % option_name(key))
    else:
        raise invalid("set_opt: unknown option key %s" % option_name(key))


# -- module functions -------------------------------------------------------------


def poll(sockets, timeout_ms):
    """The sockets among `sockets` that are readable now or become readable
    within timeout_ms (None: no limit), counting data buffered in TLS. A DTLS
    socket with a flight in the air (_timer_ms()) is woken in time to resend
    it (_on_timer()), and the wait goes on."""
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
    deadline = deadline_after(timeout_ms)
    while True:
        wait = 0 if ready else ms_left(deadline)
        timed = False  # the wait ends at a DTLS retransmission
        for s in sockets:
            due = s._timer_ms() if hasattr(s, "_timer_ms") else None
            if due is not None and (wait is None or due < wait):
                wait = due
                timed = True
        try:
            got = net.get().poll(raws, wait)
        except Exception as e:
            raise fail(e, "poll")
        for s, raw in zip(sockets, raws):
            if s not in ready and any(r is raw for r in got):
                ready.append(s)
        if ready or not timed:
            return ready
        for s in sockets:
            if hasattr(s, "_timer_ms") and s._timer_ms() == 0:
                s._on_timer()


def features():
    """What the running platform really has, as booleans. The names of the
    public contract (ipv6 ... dane, server) say what every socket kind the
    platform serves has; dtls_server, psk_session_resumption and
    psk_connection_id say what one kind has (docs/TLS_ENGINES.md)."""
    from twinsock import platform

    have = net.get().features()
    engine = platform.tls_engine()  # the first call imports it (ENOMEM if it cannot)
    if engine is not None:
        have.update(engine.features())
    out = {}
    # dtls_server: DTLS server sockets work (the platform can peek at a sender)
    names = "ipv6 server dtls_server tls dtls psk session_resumption connection_id dane"
    for name in names.split():
        out[name] = bool(have.get(name, False))
    # psk_*: a DTLS-PSK socket that asks for it gets it. Unless the application
    # registered an engine, one the platform's engine cannot serve so gets
    # twinsock's own (port/twinsock_port/tls_psk_select.py), which has both
    # where it runs.
    own = False
    if not platform.tls_engine_registered():
        try:
            own = net.load_or_enomem("twinsock_port.tls_psk_select").own_engine_runs()
        except ImportError:  # a port without twinsock's own engine
            pass
    dtls_psk = out["dtls"] and out["psk"]
    for name in ("session_resumption", "connection_id"):
        out["psk_" + name] = own or (dtls_psk and out[name])
    return out
