"""In-process peers for the fault tests: small UDP/TCP servers in threads, each with a
time limit and stopped by the test (`with`), and `wait_for`, the one way these tests
wait for something to happen (a condition with a deadline, never a bare sleep)."""

import socket
import threading
import time

LOOPBACK = "127.0.0.1"


def pattern(n, start=0):
    """n bytes of the known stream (byte i is i % 251, as in tools.hostserver)."""
    return bytes((start + i) % 251 for i in range(n))


def wait_for(predicate, timeout, what="condition"):
    """Poll `predicate` every 2 ms until it is true; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(0.002)


class _Threaded:
    limit = 30.0  # seconds: every peer ends by itself after this

    def __init__(self):
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._guarded, daemon=True)
        self.deadline = time.monotonic() + self.limit
        self.error = None

    def _guarded(self):
        try:
            self.serve()
        except Exception as e:  # noqa: BLE001 - reported to the test via .error
            if not self.stopping.is_set():
                self.error = e

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping.set()
        self.close()
        self.thread.join(5)
        assert not self.thread.is_alive(), "peer thread did not stop"

    def alive(self):
        return not self.stopping.is_set() and time.monotonic() < self.deadline


class UdpPeer(_Threaded):
    """Records every datagram it gets (`received`: list of (data, addr)); echoes it
    back when `echo`, counting in `echoed` the echoes already sent."""

    def __init__(self, echo=False, host=LOOPBACK):
        super().__init__()
        self.echo = echo
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.address = (host, self.port)
        self.received = []
        self.echoed = 0

    def serve(self):
        while self.alive():
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            self.received.append((data, addr))
            if self.echo:
                self.sock.sendto(data, addr)
                self.echoed += 1

    def close(self):
        self.sock.close()


class TcpPeer(_Threaded):
    """A TCP server for one kind of behaviour per accepted connection:

    - "send": sends `size` pattern bytes, then closes cleanly (FIN);
    - "echo": echoes until the client closes;
    - "sink": reads and counts (`received` bytes per connection) until EOF/reset,
      checking the bytes are the pattern (`mismatch`);
    - "send_forever": sends pattern bytes until the connection fails (peer dies).
    Connection errors are recorded in `errors`; `connections` counts accepts."""

    def __init__(self, mode, size=0, host=LOOPBACK):
        super().__init__()
        self.mode = mode
        self.size = size
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.address = (host, self.port)
        self.connections = 0
        self.received = []
        self.errors = []
        self.finished = []  # one entry per connection handled to its end
        self.mismatch = None  # "sink": offset of the first chunk that is not the pattern
        self._reference = pattern(251 + 65536)
        self._conns = []
        self._workers = []

    def serve(self):
        while self.alive():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            self.connections += 1
            self._conns.append(conn)
            worker = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            worker.start()
            self._workers.append(worker)

    def _handle(self, conn):
        conn.settimeout(0.2)
        index = len(self.received)
        self.received.append(0)
        try:
            if self.mode == "send":
                self._send_all(conn, pattern(self.size))
            elif self.mode == "send_forever":
                block = pattern(251 * 64)
                while self.alive():
                    self._send_all(conn, block)
            else:
                while self.alive():
                    try:
                        data = conn.recv(65536)
                    except socket.timeout:
                        continue
                    if not data:
                        break
                    if self.mode == "sink" and self.mismatch is None:
                        at = self.received[index] % 251
                        if data != self._reference[at : at + len(data)]:
                            self.mismatch = self.received[index]  # chunk offset
                    self.received[index] += len(data)
                    if self.mode == "echo":
                        self._send_all(conn, data)
        except OSError as e:
            self.errors.append(e)
        finally:
            self.finished.append(index)
            conn.close()

    def _send_all(self, conn, data):
        """sendall that survives a stalled receiver (short timeouts, retried) but
        still ends when the peer is stopped."""
        view = memoryview(data)
        while view and self.alive():
            try:
                view = view[conn.send(view) :]
            except socket.timeout:
                continue

    def close(self):
        self.sock.close()
        for worker in self._workers:
            worker.join(5)
