"""What the UDP and TCP relays share: addresses, seeded randomness, the decision log,
the wake-up pipe of an event loop, and the thread/lifetime plumbing."""

import json
import random
import socket
import threading
import time


def parse_address(text):
    """'127.0.0.1:5683', '[::1]:0' or 'host:port' -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if not rest.startswith(":"):
            raise ValueError("address %r: expected [host]:port" % text)
        port = rest[1:]
    else:
        host, sep, port = text.rpartition(":")
        if not sep or not host:
            raise ValueError("address %r: expected host:port" % text)
    try:
        number = int(port)
    except ValueError:
        raise ValueError("address %r: port must be a number" % text)
    if not 0 <= number <= 65535:
        raise ValueError("address %r: port out of range" % text)
    return host, number


def format_address(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def resolve(host, port, kind):
    """The first (family, sockaddr) for host:port; names work, for a bench."""
    socktype = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    family, _, _, _, addr = socket.getaddrinfo(host, port, 0, socktype)[0]
    return family, addr


def stream(seed, *labels):
    """An independent, reproducible random stream for one direction (and connection).

    A string seed is hashed (SHA-512) by `random.Random`, so the stream is the same on
    every run and every machine, and the streams of two directions do not overlap."""
    return random.Random("twinsock-proxy/%s/%s" % (seed, "/".join(str(x) for x in labels)))


def check_probability(name, value):
    if not 0.0 <= value <= 1.0:
        raise ValueError("%s must be a probability in [0, 1], not %r" % (name, value))
    return float(value)


def check_non_negative(name, value):
    if value is not None and value < 0:
        raise ValueError("%s must be >= 0, not %r" % (name, value))
    return value


class DecisionLog:
    """JSON lines, one per decision the proxy takes. `target` is a path, a writable
    text file, or None (no log). Every record carries `t` (seconds since the proxy
    started); everything else in it is deterministic for a given seed and traffic."""

    def __init__(self, target):
        self._own = isinstance(target, str)
        self._file = open(target, "a", buffering=1) if self._own else target
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def __bool__(self):
        return self._file is not None

    def write(self, **record):
        if self._file is None:
            return
        record = dict(t=round(time.monotonic() - self._t0, 6), **record)
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock:
            self._file.write(line)

    def close(self):
        with self._lock:
            if self._file is not None:
                if self._own:
                    self._file.close()
                else:
                    self._file.flush()
                self._file = None


class Relay:
    """Base of both relays: one event-loop thread, started by `start()`, stopped by
    `stop()` (or by leaving a `with` block, or after `lifetime` seconds)."""

    proto = None

    def __init__(self, seed, log, lifetime):
        self.seed = seed
        self.log = DecisionLog(log)
        self.lifetime = lifetime
        self._stopping = threading.Event()
        self._thread = None
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.error = None  # an exception that ended the loop early, if any

    def __enter__(self):
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self._deadline = None if self.lifetime is None else time.monotonic() + self.lifetime
        self._thread = threading.Thread(
            target=self._run_guarded, name="proxy-%s" % self.proto, daemon=True
        )
        self._thread.start()
        return self

    def _run_guarded(self):
        try:
            self._run()
        except BaseException as e:  # noqa: BLE001 - reported through .error
            self.error = e
            raise
        finally:
            self._close_all()
            self._stopping.set()

    def wake(self):
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _drain_wake(self):
        try:
            while self._wake_r.recv(512):
                pass
        except OSError:
            pass

    def _expired(self, now):
        return self._stopping.is_set() or (self._deadline is not None and now >= self._deadline)

    def stop(self, timeout=5.0):
        """Stop the loop, close every socket, and wait for the thread."""
        self._stopping.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("proxy thread did not stop within %.1f s" % timeout)
        self.log.close()
        for s in (self._wake_r, self._wake_w):
            s.close()

    def wait(self, timeout=None):
        """Wait until the proxy stopped by itself (lifetime over); True if it did."""
        return self._stopping.wait(timeout)

    def _close_all(self):
        raise NotImplementedError

    def _run(self):
        raise NotImplementedError
