# The server side and datagrams to any address: bind, accept, shutdown,
# send_to, receive_from and receive_from_into. Loaded on first use, like
# twinsock/extras.py: install() puts these methods on twinsock.net.Socket.
from twinsock import net
from twinsock.checks import check_buffer, check_host, check_port, check_size
from twinsock.errors import EISCONN, MessageTruncated, NetError, invalid, unsupported
from twinsock.extras import _check_open, _local_pending, unmap
from twinsock.net import STATE_NAMES, fail, resolve_entries

_WILDCARD = {1: "0.0.0.0", 2: "::"}
METHODS = "bind accept shutdown send_to receive_from receive_from_into _start_datagrams"


def install(cls):
    """Put the methods below on `cls` (twinsock.net.Socket)."""
    for name in METHODS.split():
        setattr(cls, name, globals()["_" + name.lstrip("_")])


def _bind(self, address, port):
    self._check_alive("bind")
    if self._state != 0:
        raise NetError(EISCONN, "bind: socket is already %s" % STATE_NAMES[self._state])
    port = check_port(port)
    if address is None or address == "":
        address = _WILDCARD[self._forced or self._preferred or 1]
    else:
        check_host(address, "address")
    entries = resolve_entries(address, port, self._forced, self.kind, self._preferred, True)
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
        self.close()
        raise fail(e, "bind to %s port %d" % (address, port))
    self._state = 2  # BOUND


def _accept(self):
    if self.kind != "tcp":
        self._check_alive("accept")
        raise unsupported("accept: UDP sockets do not accept connections")
    _check_open(self, "accept")
    if self._state != 2:
        raise invalid("accept: socket is not listening; bind it first")
    start = net.ticks_ms()
    try:
        self._wait("accept")
        raw, host, port = self._p.accept(self._sock)
    except Exception as e:
        raw, host, port = self._recover(e, start, "accept", self._p.accept, (self._sock,), None)
    peer = net.TcpSocket(self._config)
    peer._adopt(raw, self._family())
    peer._addresses = (host, port) + self._addresses[2:]  # a wildcard: asked on need
    peer._timeout = self._timeout
    peer._state = 3  # ACCEPTED
    return peer


def _at_once(timeout_ms):
    return True


def _shutdown(self):
    _check_open(self, "shutdown")
    if _local_pending(self):  # a shutdown that closes the socket ends the asking
        try:
            self._settle_local("shutdown")
        except NetError:
            pass
    if self._state != 1:
        try:
            # Without a real shutdown, closing is what tells the peer we are done.
            getattr(self._p, "shutdown", self._p.close)(self._sock)
        except Exception as e:
            raise fail(e, "shutdown")
    self._state = 1  # SHUT DOWN
    # Nothing more will arrive: receives end at once, also where shutdown
    # closed the platform socket and a poll on it would just wait.
    self._wait_readable = _at_once


# -- datagrams to and from any address --------------------------------------------


def _start_datagrams(self, family):
    """An unconnected UDP socket about to send_to: bound, non-blocking."""
    self._open(family)
    try:
        self._bind_local(family)
        self._p.start_datagrams(self._sock)
        self._learn_local()
    except Exception as e:
        self.close()
        raise fail(e, "send_to")
    self._state = 2  # BOUND


def _send_to(self, data, host, port):
    self._check_alive("send_to")
    if self.kind != "udp":
        raise unsupported("send_to: TCP sockets are connected; use send")
    check_host(host)
    port = check_port(port)
    if self._state == 4:
        raise NetError(EISCONN, "send_to: socket is connected; use send")
    if type(data) is str:
        raise invalid("send_to: data must be bytes-like, not str")
    family = self._family() if self._sock is not None else self._forced
    entry = resolve_entries(host, port, family, "udp", self._preferred)[0]
    if self._sock is None:
        self._start_datagrams(entry[0])
    while True:
        try:
            n = self._sock.sendto(data, entry[3])
            break
        except Exception as e:
            if not self._would_block(e):
                if isinstance(e, TypeError):
                    raise invalid("send_to: data must be bytes-like")
                raise self._failed(e, "send_to")
            self._wait_writable("send_to")
    self._sent += n or 0


def _receive_from_into(self, buf, what="receive_from_into"):
    self._check_alive(what)
    if self.kind != "udp":
        raise unsupported("%s: TCP sockets are connected; use receive_into" % what)
    check_buffer(buf, what)
    start = net.ticks_ms()
    p = self._p
    receive = None
    if self._sock is not None:
        receive = p.datagram_from_receiver(self._sock)
    try:
        self._wait(what)
        got = receive(buf)
    except Exception as e:
        got = self._recover(e, start, what, receive, (buf,), None)
    if got is None:
        got = self._recover(None, start, what, receive, (buf,), None)
    n, host, port = got
    host = unmap(host)
    if n > len(buf):
        self._received += len(buf)
        raise MessageTruncated(len(buf), None, host, port)
    if n == 0 and len(buf) == 0 and what != "receive_from":
        raise invalid("%s: buffer is empty" % what)
    self._received += n
    return n, host, port


def _receive_from(self, bufsize):
    self._check_alive("receive_from")
    if self.kind != "udp":
        raise unsupported("receive_from: TCP sockets are connected; use receive")
    check_size(bufsize)
    buf = bytearray(bufsize)
    try:
        n, host, port = self.receive_from_into(buf, "receive_from")
    except MessageTruncated as e:
        e.data = bytes(buf)
        raise
    return (bytes(buf) if n == bufsize else bytes(buf[:n])), host, port
