"""Peers and helpers for the PSK engine tests (tests/psk): a runner for
psk_peer.py on CPython or on the MicroPython interpreter (twinsock loaded as
.mpy, as a board does, in a 192K heap), openssl s_server with a PSK suite,
MicroPython's own mbedTLS DTLS server, our own core as a CID-aware echo
server, and a UDP relay that changes its source port mid-session.

Every peer has a time limit and is stopped by the fixture that started it."""

import json
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from psk_server import CoreServer
from runtimes import MICROPYTHON_HEAP, compile_for_board
from tlspeers import OPENSSL, PSK_IDENTITY, PSK_KEY, free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PSK = [PSK_IDENTITY, PSK_KEY]
RUNTIMES = ["cpython", "micropython"]
CIPHERS = {0xC0A8: "PSK-AES128-CCM8", 0xC0A4: "PSK-AES128-CCM", 0x00AE: "PSK-AES128-CBC-SHA256"}


@pytest.fixture(scope="session")
def board_code(tmp_path_factory):
    """lib/ and port/ compiled to .mpy, as `make deploy` puts them on a board."""
    return compile_for_board(tmp_path_factory.mktemp("mpy"))


@pytest.fixture
def psk_peer(processes, board_code, tmp_path):
    """start(runtime, job) -> Process running psk_peer.py; result(p) -> its JSON."""

    class Runner:
        def start(self, runtime, job, limit_s=30):
            path = tmp_path / ("job%d.json" % time.monotonic_ns())
            path.write_text(json.dumps(job))
            env = dict(__import__("os").environ)
            if runtime == "micropython":
                env["MICROPYPATH"] = "%s:%s" % (board_code, HERE)
                argv = [str(ROOT / ".venv/bin/micropython"), "-X", "heapsize=" + MICROPYTHON_HEAP]
            else:
                env["PYTHONPATH"] = "%s:%s:%s" % (ROOT / "lib", ROOT / "port", HERE)
                argv = [sys.executable]
            return processes(
                argv + [str(HERE / "psk_peer.py"), str(path)], env=env, limit_s=limit_s
            )

        def result(self, process, timeout=25.0):
            process.wait(timeout)
            for line in reversed(process.lines):
                if line.startswith("{"):
                    return json.loads(line)
            raise AssertionError("no result from the peer:\n" + process.output())

        def run(self, runtime, job, timeout=25.0):
            return self.result(self.start(runtime, job, limit_s=timeout + 5), timeout)

    return Runner()


@pytest.fixture
def psk_s_server(processes):
    """start(suite) -> (process, port): openssl s_server -dtls with one PSK suite."""
    if OPENSSL is None:
        raise AssertionError("the openssl CLI is needed for the interop tests")

    def start(suite=0xC0A8, key=PSK_KEY, extra=()):
        argv = [OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-dtls", "-nocert"]
        argv += ["-psk", key, "-psk_identity", PSK_IDENTITY]
        argv += ["-cipher", CIPHERS[suite] + ":@SECLEVEL=0"] + list(extra)
        p = processes(argv, limit_s=40)
        port = int(p.expect("ACCEPT").rsplit(":", 1)[1])
        return p, port

    return start


@pytest.fixture
def mbedtls_server(processes):
    """start() -> (process, port): MicroPython's own `tls` DTLS server
    (tests/tls/mp_peer.py) with our PSK: it echoes one message."""

    def start(key=PSK_KEY):
        port = free_port(socket.SOCK_DGRAM)
        job = {
            "role": "server",
            "dtls": True,
            "port": port,
            "psk": [PSK_IDENTITY, key],
            "receive": True,
            "echo": True,
            "timeout_ms": 15000,
        }
        env = dict(__import__("os").environ)
        tls_dir = ROOT / "tests" / "tls"
        env["MICROPYPATH"] = "%s:%s:%s" % (ROOT / "lib", ROOT / "port", tls_dir)
        p = processes(
            [str(ROOT / ".venv/bin/micropython"), str(tls_dir / "mp_peer.py"), json.dumps(job)],
            env=env,
            limit_s=30,
        )
        p.expect('"listening"', timeout=10)
        return p, port

    return start


@pytest.fixture
def core_server():
    servers = []

    def start(**kwargs):
        server = CoreServer(**kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


class PortChangingRelay:
    """client <-> relay <-> server, where the relay sends the client's datagrams
    from a new source port once `change_after` of them have passed: what a NAT
    rebinding does to a device's session."""

    def __init__(self, server_port, change_after, limit_s=30):
        self.server = ("127.0.0.1", server_port)
        self.change_after = change_after
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.upstreams = [self._upstream()]
        self.forwarded = 0
        self.client = None
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit_s
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _upstream(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.connect(self.server)
        return s

    def source_ports(self):
        return [s.getsockname()[1] for s in self.upstreams]

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ)
        sel.register(self.upstreams[0], selectors.EVENT_READ)
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            for key, _ in sel.select(0.05):
                try:
                    data, addr = key.fileobj.recvfrom(65536)
                except OSError:
                    continue
                if key.fileobj is self.sock:
                    self.client = addr
                    if self.forwarded == self.change_after:
                        fresh = self._upstream()
                        self.upstreams.append(fresh)
                        sel.register(fresh, selectors.EVENT_READ)
                    self.forwarded += 1
                    self.upstreams[-1].send(data)
                elif self.client is not None:
                    self.sock.sendto(data, self.client)
        sel.close()

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        for s in self.upstreams:
            s.close()


@pytest.fixture
def port_changing_relay():
    relays = []

    def start(server_port, change_after):
        relay = PortChangingRelay(server_port, change_after)
        relays.append(relay)
        return relay

    yield start
    for relay in relays:
        relay.close()


class LossyRelay:
    """client <-> relay <-> server, dropping each datagram with probability
    `loss` in each direction (a seeded generator: the same run each time)."""

    def __init__(self, server_port, loss, seed=12, limit_s=120):
        import random

        self.server = ("127.0.0.1", server_port)
        self.loss = loss
        self.rng = random.Random(seed)
        self.dropped = [0, 0]  # to the server, to the client
        self.passed = [0, 0]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.upstream = {}  # client address -> its own socket toward the server
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit_s
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, None)
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            for key, _ in sel.select(0.05):
                try:
                    data, addr = key.fileobj.recvfrom(65536)
                except OSError:
                    continue
                way = 0 if key.data is None else 1
                if self.rng.random() < self.loss:
                    self.dropped[way] += 1
                    continue
                self.passed[way] += 1
                if way == 0:
                    up = self.upstream.get(addr)
                    if up is None:
                        up = self.upstream[addr] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        up.connect(self.server)
                        sel.register(up, selectors.EVENT_READ, addr)
                    up.send(data)
                else:
                    self.sock.sendto(data, key.data)
        sel.close()

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        for s in self.upstream.values():
            s.close()


@pytest.fixture
def lossy_relay():
    relays = []

    def start(server_port, loss):
        relay = LossyRelay(server_port, loss)
        relays.append(relay)
        return relay

    yield start
    for relay in relays:
        relay.close()


def run_command(argv, env=None, timeout=60):
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
