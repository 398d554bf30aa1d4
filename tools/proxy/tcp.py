"""TCP relay with stalls, slow reads, mid-stream reset and half-close.

Every accepted client gets its own upstream connection. One event-loop thread serves
all of them: a stall or a throttle is a time before which a direction does not read,
never a sleep, so the other direction and the other connections keep moving, and a
reset is done by the thread that owns both sockets (no close racing a blocked recv).

A direction reads from its source only when everything it read before has been
written to its destination: a slow destination slows the source down (backpressure),
as a real slow link would, and byte offsets in the impairments are exact.
"""

import dataclasses
import selectors
import socket
import struct
import sys
import time

from tools.proxy.common import (
    Relay,
    check_non_negative,
    check_probability,
    family_of,
    resolve,
    stream,
)

DIRECTIONS = ("up", "down")
_LINGER_ZERO = struct.pack("ii", 1, 0)
_TIOCOUTQ = 0x5411  # Linux: bytes in a socket's send queue not yet acknowledged
_DRAIN_LIMIT_S = 2.0
_DRAIN_TICK_S = 0.005


@dataclasses.dataclass
class TcpImpairment:
    """What happens to the bytes of one direction ("up": client -> upstream,
    "down": upstream -> client). Offsets count the bytes of this direction.

    read_size: most bytes read (and forwarded) at a time; random_read_size draws each
    read's size uniformly in 1..read_size from the seeded stream (slow, ragged reads).
    rate: bytes per second forwarded at most (0: no limit).
    stall_at: offsets at which forwarding pauses stall_ms; stall_every: a pause every
    that many bytes; stall_chance: probability per read of a pause before it.
    reset_after: after that many bytes were forwarded (and, on Linux, acknowledged by
    the receiver, up to 2 s), both connections are aborted with RST (SO_LINGER 0).
    half_close_after: after that many bytes the destination gets a FIN (shutdown of
    writing); later bytes of this direction are read and discarded.
    """

    read_size: int = 65536
    random_read_size: bool = False
    rate: float = 0.0
    stall_at: tuple = ()
    stall_every: int = 0
    stall_chance: float = 0.0
    stall_ms: float = 0.0
    reset_after: int = None
    half_close_after: int = None

    def __post_init__(self):
        if self.read_size < 1:
            raise ValueError("read_size must be >= 1")
        self.stall_at = tuple(sorted(int(x) for x in self.stall_at))
        self.stall_chance = check_probability("stall_chance", self.stall_chance)
        for name in ("rate", "stall_every", "stall_ms", "reset_after", "half_close_after"):
            check_non_negative(name, getattr(self, name))
        if any(x < 0 for x in self.stall_at):
            raise ValueError("stall_at offsets must be >= 0")

    def next_boundary(self, offset):
        """The nearest offset > `offset` at which something happens, or None."""
        points = [x for x in self.stall_at if x > offset]
        if self.stall_every:
            points.append((offset // self.stall_every + 1) * self.stall_every)
        for x in (self.reset_after, self.half_close_after):
            if x is not None and x > offset:
                points.append(x)
        return min(points) if points else None

    def stalls_at(self, offset):
        if offset in self.stall_at:
            return True
        return bool(self.stall_every) and offset > 0 and offset % self.stall_every == 0


def new_counters():
    return {
        "bytes_in": 0,
        "bytes_out": 0,
        "reads": 0,
        "stalls": 0,
        "stalled_ms": 0.0,
        "resets": 0,
        "half_closes": 0,
        "discarded": 0,
        "eofs": 0,
        "errors": 0,
    }


def _abort(sock):
    """Close with RST instead of FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    except OSError:
        pass
    sock.close()


def _unsent(sock):
    if not sys.platform.startswith("linux"):
        return 0
    import fcntl

    try:
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), _TIOCOUTQ, b"\0\0\0\0"))[0]
    except OSError:
        return 0


class _Direction:
    def __init__(self, conn, name, src, dst, rng):
        self.conn = conn
        self.name = name
        self.src = src
        self.dst = dst
        self.rng = rng
        self.offset = 0  # bytes forwarded
        self.pending = b""  # read, not yet written
        self.resume_at = 0.0  # no reading before this (stall, throttle)
        self.stalled_offset = -1  # the offset of the last stall (one stall per point)
        self.started = None  # time of the first forwarded byte (rate limit)
        self.eof = False
        self.done = False  # FIN passed on (or connection gone)
        self.discarding = False  # after a half-close
        self.drain_until = None  # waiting for dst to drain before a reset

    def wants_read(self, now, frozen):
        return (
            not frozen
            and not self.done
            and not self.eof
            and not self.pending
            and self.drain_until is None
            and now >= self.resume_at
        )

    def wants_write(self, frozen):
        return not frozen and bool(self.pending) and not self.done


class _Connection:
    def __init__(self, number, client, upstream, peer, seed):
        self.number = number
        self.client = client
        self.upstream = upstream
        self.peer = peer
        self.up = _Direction(self, "up", client, upstream, stream(seed, "tcp", number, "up"))
        self.down = _Direction(self, "down", upstream, client, stream(seed, "tcp", number, "down"))
        self.closed = False

    def directions(self):
        return (self.up, self.down)


class TcpProxy(Relay):
    """A TCP impairment relay. `listen` and `upstream` are (host, port); port 0 in
    `listen` picks a free port (see `.port`). `up`/`down` are `TcpImpairment`s."""

    proto = "tcp"

    def __init__(
        self,
        upstream,
        listen=("127.0.0.1", 0),
        up=None,
        down=None,
        seed=0,
        log=None,
        lifetime=None,
        connect_timeout=5.0,
    ):
        super().__init__(seed, log, lifetime)
        self.impairments = {"up": up or TcpImpairment(), "down": down or TcpImpairment()}
        self._counters = {d: new_counters() for d in DIRECTIONS}
        self._counters.update(connections=0, active=0, upstream_failures=0)
        self.upstream = upstream
        self._upstream_family, self._upstream_addr = resolve(upstream[0], upstream[1], "tcp")
        self._connect_timeout = connect_timeout
        self._listen = socket.socket(family_of(listen[0]), socket.SOCK_STREAM)
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listen.bind(listen)
        self._listen.listen(64)
        self._listen.setblocking(False)
        self.address = self._listen.getsockname()[:2]
        self.port = self.address[1]
        self._connections = []
        self._frozen = False
        self._reset_requested = False
        self._selector = selectors.DefaultSelector()
        self._masks = {}  # socket -> registered event mask

    # -- control, from any thread ---------------------------------------------------

    def configure(self, direction=None, **changes):
        """Change the impairment of one direction ('up'/'down') or both (None); it
        applies to every connection from its next read on."""
        with self._lock:
            for d in DIRECTIONS if direction is None else (direction,):
                self.impairments[d] = dataclasses.replace(self.impairments[d], **changes)
        self.wake()

    def freeze(self, frozen=True):
        """Stop forwarding anything, keeping every connection open: a peer that
        vanished without a FIN or RST (power cut, lost link). `freeze(False)` resumes."""
        with self._lock:
            self._frozen = frozen
        self.wake()

    def reset_all(self):
        """Abort every open connection now, both sides, with RST."""
        with self._lock:
            self._reset_requested = True
        self.wake()

    def stats(self):
        with self._lock:
            out = {d: dict(self._counters[d]) for d in DIRECTIONS}
            for name in ("connections", "active", "upstream_failures"):
                out[name] = self._counters[name]
            return out

    # -- the loop ---------------------------------------------------------------------

    def _count(self, direction, name, n=1):
        with self._lock:
            self._counters[direction][name] += n

    def _run(self):
        self._selector.register(self._listen, selectors.EVENT_READ, "listen")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        while True:
            now = time.monotonic()
            if self._expired(now):
                return
            with self._lock:
                frozen = self._frozen
                reset = self._reset_requested
                self._reset_requested = False
            if reset:
                for conn in list(self._connections):
                    self._abort_connection(conn, None, "reset_all")
            self._check_drains(now)
            timeout = self._update_interest(now, frozen)
            for key, events in self._selector.select(timeout):
                if key.data == "wake":
                    self._drain_wake()
                elif key.data == "listen":
                    self._accept()
                else:
                    self._service(key.fileobj, events, frozen)

    def _update_interest(self, now, frozen):
        wanted = {}
        times = []
        if self._deadline is not None:
            times.append(self._deadline)
        for conn in self._connections:
            for d in conn.directions():
                if d.wants_read(now, frozen):
                    wanted[d.src] = wanted.get(d.src, 0) | selectors.EVENT_READ
                elif not frozen and not d.done and not d.eof and d.resume_at > now:
                    times.append(d.resume_at)
                if d.wants_write(frozen):
                    wanted[d.dst] = wanted.get(d.dst, 0) | selectors.EVENT_WRITE
                if d.drain_until is not None:
                    times.append(now + _DRAIN_TICK_S)
        for sock in list(self._masks):
            if sock not in wanted:
                self._selector.unregister(sock)
                del self._masks[sock]
        for sock, mask in wanted.items():
            old = self._masks.get(sock)
            if old is None:
                self._selector.register(sock, mask, sock)
            elif old != mask:
                self._selector.modify(sock, mask, sock)
            self._masks[sock] = mask
        if not times:
            return None
        return max(0.0, min(times) - now)

    def _accept(self):
        while True:
            try:
                client, peer = self._listen.accept()
            except BlockingIOError:
                return
            except OSError:
                return
            upstream = socket.socket(self._upstream_family, socket.SOCK_STREAM)
            upstream.settimeout(self._connect_timeout)
            try:
                upstream.connect(self._upstream_addr)
            except OSError as e:
                upstream.close()
                with self._lock:
                    self._counters["upstream_failures"] += 1
                _abort(client)  # the client sees what a refused connect would give it
                self.log.write(event="upstream_failed", error=str(e))
                continue
            for s in (client, upstream):
                s.setblocking(False)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._counters["connections"] += 1
                self._counters["active"] += 1
                number = self._counters["connections"]
            conn = _Connection(number, client, upstream, peer, self.seed)
            self._connections.append(conn)
            self.log.write(event="connection", conn=number, client=list(peer[:2]))
            with self._lock:
                imps = dict(self.impairments)
            for d in conn.directions():  # "after 0 bytes": at once
                if imps[d.name].reset_after == 0:
                    d.drain_until = time.monotonic()
                elif imps[d.name].half_close_after == 0:
                    self._half_close(d)

    def _service(self, sock, events, frozen):
        for conn in list(self._connections):
            if conn.closed:
                continue
            for d in conn.directions():
                if conn.closed:
                    break
                if events & selectors.EVENT_WRITE and d.dst is sock and d.wants_write(frozen):
                    self._write(d)
                if conn.closed:
                    break
                now = time.monotonic()
                if events & selectors.EVENT_READ and d.src is sock and d.wants_read(now, frozen):
                    self._read(d, now)

    def _read(self, d, now):
        with self._lock:
            imp = self.impairments[d.name]
        u_size, u_stall = d.rng.random(), d.rng.random()
        if d.stalled_offset != d.offset and not d.discarding:
            stall = imp.stalls_at(d.offset) or u_stall < imp.stall_chance
            if stall and imp.stall_ms > 0:
                d.stalled_offset = d.offset
                d.resume_at = now + imp.stall_ms / 1000.0
                self._count(d.name, "stalls")
                self._count(d.name, "stalled_ms", imp.stall_ms)
                self.log.write(
                    event="stall", conn=d.conn.number, dir=d.name, offset=d.offset, ms=imp.stall_ms
                )
                return
        size = imp.read_size
        if imp.random_read_size:
            size = 1 + int(u_size * imp.read_size)
        boundary = None if d.discarding else imp.next_boundary(d.offset)
        if boundary is not None:
            size = min(size, boundary - d.offset)
        try:
            data = d.src.recv(size)
        except BlockingIOError:
            return
        except OSError as e:  # ECONNRESET from the source: pass the reset on
            self._count(d.name, "errors")
            self._abort_connection(d.conn, d, "source_error", error=str(e))
            return
        if not data:
            d.eof = True
            self._count(d.name, "eofs")
            self.log.write(event="eof", conn=d.conn.number, dir=d.name, offset=d.offset)
            self._finish(d)
            return
        self._count(d.name, "bytes_in", len(data))
        self._count(d.name, "reads")
        if d.discarding:
            self._count(d.name, "discarded", len(data))
            return
        d.pending = data
        self._write(d)

    def _write(self, d):
        try:
            n = d.dst.send(d.pending)
        except BlockingIOError:
            return
        except OSError as e:  # EPIPE/ECONNRESET: the destination is gone
            self._count(d.name, "errors")
            self._abort_connection(d.conn, d, "destination_error", error=str(e))
            return
        d.pending = d.pending[n:]
        d.offset += n
        self._count(d.name, "bytes_out", n)
        now = time.monotonic()
        if d.started is None:
            d.started = now
        if d.pending:
            return
        with self._lock:
            imp = self.impairments[d.name]
        if imp.rate:
            d.resume_at = max(d.resume_at, d.started + d.offset / imp.rate)
        if imp.reset_after is not None and d.offset >= imp.reset_after:
            d.drain_until = now + _DRAIN_LIMIT_S
            self._check_drains(now)
        elif imp.half_close_after is not None and d.offset >= imp.half_close_after:
            self._half_close(d)
        elif d.eof:
            self._finish(d)

    def _check_drains(self, now):
        for conn in list(self._connections):
            for d in conn.directions():
                if d.drain_until is not None and not conn.closed:
                    if _unsent(d.dst) == 0 or now >= d.drain_until:
                        self._count(d.name, "resets")
                        self._abort_connection(conn, d, "reset_after", offset=d.offset)

    def _half_close(self, d):
        if d.discarding:
            return
        d.discarding = True
        self._count(d.name, "half_closes")
        self.log.write(event="half_close", conn=d.conn.number, dir=d.name, offset=d.offset)
        try:
            d.dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _finish(self, d):
        """The source sent FIN and everything was written: pass the FIN on."""
        if d.pending or d.done:
            return
        d.done = True
        if not d.discarding:
            try:
                d.dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        conn = d.conn
        if conn.up.done and conn.down.done:
            self._close_connection(conn)

    def _forget(self, conn):
        conn.closed = True
        for d in conn.directions():
            d.done = True
        for s in (conn.client, conn.upstream):
            if s in self._masks:
                self._selector.unregister(s)
                del self._masks[s]
        if conn in self._connections:
            self._connections.remove(conn)
        with self._lock:
            self._counters["active"] -= 1

    def _close_connection(self, conn):
        self._forget(conn)
        conn.client.close()
        conn.upstream.close()
        self.log.write(event="closed", conn=conn.number)

    def _abort_connection(self, conn, d, why, **fields):
        if conn.closed:
            return
        self._forget(conn)
        _abort(conn.client)
        _abort(conn.upstream)
        self.log.write(
            event="reset", conn=conn.number, dir=d.name if d else None, why=why, **fields
        )

    def _close_all(self):
        for conn in list(self._connections):
            self._close_connection(conn)
        self._listen.close()
        self._selector.close()
