"""UDP relay with loss, delay, jitter, reordering, duplication and corruption.

Clients send to the listening socket; each client address gets its own upstream socket
(like a NAT mapping), so replies go back to the client that caused them. Each direction
("up": client -> upstream, "down": upstream -> client) has its own `UdpImpairment` and
its own seeded random stream: per datagram the proxy draws the same six numbers whatever
is enabled, so the loss decisions of seed 7 are the same with or without duplication.
"""

import dataclasses
import heapq
import random
import selectors
import socket
import threading
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
MAX_DATAGRAM = 65535


@dataclasses.dataclass
class UdpImpairment:
    """What happens to the datagrams of one direction.

    loss, duplicate, reorder, corrupt: probabilities per datagram (loss 1.0 drops all).
    delay_ms + jitter_ms: each datagram is held delay_ms +- jitter_ms (uniform, >= 0);
    jitter alone can reorder datagrams.
    reorder: the datagram is held back and sent right after the next one that passes;
    if none comes within reorder_hold_ms it is sent anyway ("reorder_expired").
    corrupt: corrupt_bits bits are flipped at random positions (empty datagrams pass).
    drop_first: the first N datagrams of this direction are dropped (handshake tests).
    drop_at: the datagrams of this direction with these indices (0: the first) are
    dropped: one chosen flight of a handshake, deterministically.
    """

    loss: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    reorder: float = 0.0
    reorder_hold_ms: float = 200.0
    duplicate: float = 0.0
    corrupt: float = 0.0
    corrupt_bits: int = 1
    drop_first: int = 0
    drop_at: tuple = ()

    def __post_init__(self):
        for name in ("loss", "reorder", "duplicate", "corrupt"):
            setattr(self, name, check_probability(name, getattr(self, name)))
        for name in ("delay_ms", "jitter_ms", "reorder_hold_ms", "drop_first"):
            check_non_negative(name, getattr(self, name))
        self.drop_at = tuple(sorted(int(x) for x in self.drop_at))
        if any(x < 0 for x in self.drop_at):
            raise ValueError("drop_at indices must be >= 0")
        if self.corrupt_bits < 1:
            raise ValueError("corrupt_bits must be >= 1")


def new_counters():
    return {
        "datagrams_in": 0,
        "bytes_in": 0,
        "datagrams_out": 0,
        "bytes_out": 0,
        "dropped": 0,
        "duplicated": 0,
        "reordered": 0,
        "reorder_expired": 0,
        "corrupted": 0,
        "send_errors": 0,
    }


class Decider:
    """The decisions for one direction: a pure function of (seed, direction, the
    sequence of datagram lengths, the impairment), so it can be tested on its own."""

    def __init__(self, seed, direction):
        self._random = stream(seed, "udp", direction)
        self.index = 0

    def decide(self, data, imp):
        """-> dict(drop=reason or None, data=bytes, copies=int, delay_ms=float,
        reorder=bool, flipped=[(position, bit), ...])"""
        r = self._random
        u_loss, u_dup, u_reorder, u_corrupt, u_jitter, u_position = (r.random() for _ in range(6))
        index = self.index
        self.index += 1
        decision = {"index": index, "drop": None, "copies": 1, "reorder": False, "flipped": []}
        if index < imp.drop_first:
            decision["drop"] = "drop_first"
        elif index in imp.drop_at:
            decision["drop"] = "drop_at"
        elif u_loss < imp.loss:
            decision["drop"] = "loss"
        if decision["drop"]:
            decision["data"] = data
            decision["delay_ms"] = 0.0
            return decision
        if u_corrupt < imp.corrupt and data:
            flip = random.Random(u_position)
            buf = bytearray(data)
            for _ in range(imp.corrupt_bits):
                position, bit = flip.randrange(len(buf)), flip.randrange(8)
                buf[position] ^= 1 << bit
                decision["flipped"].append((position, bit))
            data = bytes(buf)
        decision["data"] = data
        decision["delay_ms"] = max(0.0, imp.delay_ms + (2 * u_jitter - 1) * imp.jitter_ms)
        if u_dup < imp.duplicate:
            decision["copies"] = 2
        decision["reorder"] = u_reorder < imp.reorder
        return decision


class _Session:
    """One client address and its upstream socket."""

    def __init__(self, client, upstream_sock, number):
        self.client = client
        self.upstream = upstream_sock
        self.number = number


class UdpProxy(Relay):
    """A UDP impairment relay. `listen` and `upstream` are (host, port); port 0 in
    `listen` picks a free port (see `.port`). `up`/`down` are `UdpImpairment`s."""

    proto = "udp"

    def __init__(
        self,
        upstream,
        listen=("127.0.0.1", 0),
        up=None,
        down=None,
        seed=0,
        log=None,
        lifetime=None,
        upstream_bind=None,
    ):
        super().__init__(seed, log, lifetime)
        self.impairments = {"up": up or UdpImpairment(), "down": down or UdpImpairment()}
        self._counters = {d: new_counters() for d in DIRECTIONS}
        self._counters["sessions"] = 0
        self._deciders = {d: Decider(seed, d) for d in DIRECTIONS}
        self._upstream_family, self._upstream_addr = resolve(upstream[0], upstream[1], "udp")
        self.upstream = upstream
        self._upstream_bind = upstream_bind
        self._listen = socket.socket(family_of(listen[0]), socket.SOCK_DGRAM)
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listen.bind(listen)
        self._listen.setblocking(False)
        self.address = self._listen.getsockname()[:2]
        self.port = self.address[1]
        self._sessions = {}  # client address -> _Session
        self._queue = []  # heap of (due, order, direction, data, session)
        self._order = 0
        self._held = {d: None for d in DIRECTIONS}  # (deadline, data, session, index)
        self._selector = selectors.DefaultSelector()
        self._rebind_requested = None  # an Event to set once rebound

    # -- control, from any thread ---------------------------------------------------

    def configure(self, direction=None, **changes):
        """Change the impairment of one direction ('up'/'down') or both (None), for the
        datagrams that arrive from now on. Example: `configure(loss=1.0)` (blackhole)."""
        with self._lock:
            for d in DIRECTIONS if direction is None else (direction,):
                self.impairments[d] = dataclasses.replace(self.impairments[d], **changes)
        self.wake()

    def rebind(self):
        """NAT rebinding: every client's upstream socket is replaced by a new one, so
        the upstream peer sees the same client from a new source port (DTLS
        connection-ID tests). Returns once done: later datagrams use the new ports."""
        done = threading.Event()
        with self._lock:
            self._rebind_requested = done
        self.wake()
        if not done.wait(5):
            raise RuntimeError("proxy did not rebind within 5 s")

    def stats(self):
        """A snapshot: {'up': {...counters}, 'down': {...}, 'sessions': n}."""
        with self._lock:
            return {
                "up": dict(self._counters["up"]),
                "down": dict(self._counters["down"]),
                "sessions": self._counters["sessions"],
            }

    # -- the loop ---------------------------------------------------------------------

    def _run(self):
        sel = self._selector
        sel.register(self._listen, selectors.EVENT_READ, None)
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        while True:
            now = time.monotonic()
            if self._expired(now):
                return
            with self._lock:
                rebind, self._rebind_requested = self._rebind_requested, None
            if rebind:
                self._rebind_sessions()
                rebind.set()
            self._send_due(now)
            timeout = self._next_timeout(now)
            for key, _ in sel.select(timeout):
                if key.data == "wake":
                    self._drain_wake()
                elif key.data is None:
                    self._receive_from_clients()
                else:
                    self._receive_from_upstream(key.data)

    def _next_timeout(self, now):
        times = [self._queue[0][0]] if self._queue else []
        times += [h[0] for h in self._held.values() if h is not None]
        if self._deadline is not None:
            times.append(self._deadline)
        if not times:
            return None
        return max(0.0, min(times) - now)

    def _receive_from_clients(self):
        while True:
            try:
                data, client = self._listen.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:
                self._count("up", "send_errors")  # ICMP from a vanished client
                continue
            session = self._sessions.get(client)
            if session is None:
                session = self._new_session(client)
            self._arrived("up", data, session)

    def _new_session(self, client):
        sock = self._open_upstream()
        with self._lock:
            self._counters["sessions"] += 1
            number = self._counters["sessions"]
        session = _Session(client, sock, number)
        self._sessions[client] = session
        self._selector.register(sock, selectors.EVENT_READ, session)
        self.log.write(event="session", session=number, client=list(client[:2]))
        return session

    def _open_upstream(self):
        sock = socket.socket(self._upstream_family, socket.SOCK_DGRAM)
        if self._upstream_bind:
            sock.bind(self._upstream_bind)
        sock.connect(self._upstream_addr)
        sock.setblocking(False)
        return sock

    def _rebind_sessions(self):
        for session in self._sessions.values():
            self._selector.unregister(session.upstream)
            session.upstream.close()
            session.upstream = self._open_upstream()
            self._selector.register(session.upstream, selectors.EVENT_READ, session)
            port = session.upstream.getsockname()[1]
            self.log.write(event="rebind", session=session.number, port=port)

    def _receive_from_upstream(self, session):
        while True:
            try:
                data = session.upstream.recv(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:  # ECONNREFUSED: nobody listens upstream (yet)
                self._count("down", "send_errors")
                return
            self._arrived("down", data, session)

    def _count(self, direction, name, n=1):
        with self._lock:
            self._counters[direction][name] += n

    def _arrived(self, direction, data, session):
        with self._lock:
            imp = self.impairments[direction]
            c = self._counters[direction]
            c["datagrams_in"] += 1
            c["bytes_in"] += len(data)
        d = self._deciders[direction].decide(data, imp)
        if self.log:
            self.log.write(
                event="datagram",
                dir=direction,
                index=d["index"],
                session=session.number,
                len=len(data),
                first=data[0] if data else None,
                drop=d["drop"],
                copies=d["copies"],
                delay_ms=round(d["delay_ms"], 3),
                reorder=d["reorder"],
                flipped=d["flipped"],
            )
        if d["drop"]:
            self._count(direction, "dropped")
            return
        if d["flipped"]:
            self._count(direction, "corrupted")
        if d["copies"] > 1:
            self._count(direction, "duplicated", d["copies"] - 1)
        now = time.monotonic()
        due = now + d["delay_ms"] / 1000.0
        held = self._held[direction]
        if d["reorder"] and held is None:
            deadline = due + imp.reorder_hold_ms / 1000.0
            self._held[direction] = (deadline, d["data"], d["copies"], session)
            return
        self._schedule(due, direction, d["data"], d["copies"], session)
        if held is not None:
            # The held datagram leaves right after this one: their order is swapped.
            self._held[direction] = None
            self._schedule(due, direction, held[1], held[2], held[3])
            self._count(direction, "reordered")
        self._send_due(now)

    def _schedule(self, due, direction, data, copies, session):
        for _ in range(copies):
            self._order += 1
            heapq.heappush(self._queue, (due, self._order, direction, data, session))

    def _send_due(self, now):
        for direction, held in self._held.items():
            if held is not None and held[0] <= now:
                self._held[direction] = None
                self._schedule(held[0], direction, held[1], held[2], held[3])
                self._count(direction, "reorder_expired")
        while self._queue and self._queue[0][0] <= now:
            _, _, direction, data, session = heapq.heappop(self._queue)
            try:
                if direction == "up":
                    session.upstream.send(data)
                else:
                    self._listen.sendto(data, session.client)
            except OSError:
                self._count(direction, "send_errors")
                continue
            with self._lock:
                c = self._counters[direction]
                c["datagrams_out"] += 1
                c["bytes_out"] += len(data)

    def _close_all(self):
        for session in self._sessions.values():
            session.upstream.close()
        self._sessions.clear()
        self._listen.close()
        self._selector.close()
