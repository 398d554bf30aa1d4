"""pytest wiring for twinsock's behavioural suite (tests/behaviour/).

Every `def test_x(peer)` in tests/behaviour/test_*.py runs on several runtimes:

- ``[cpython]``: collected by pytest in this process, `peer` from the session host
  server (tools/hostserver, with its TLS/DTLS services: `peer.pki(name)` reads the
  run's certificates, `peer.psk()` gives the PSK);
- ``[micropython-unix]``: the real MicroPython unix interpreter, default platform;
- ``[micropython-esp32-standin]`` / ``[micropython-rp2-standin]``: MicroPython with the
  esp32/rp2 stand-in socket and errno modules (tests/standins) installed first.

MicroPython items come from tests/mpy_runner.py, run ONCE per (file, runtime) in a
subprocess with a time limit; each item reports its test's line of that output.
A behaviour file may declare, as module-level literals:

- ``RUNTIMES = ("cpython", ...)``: the runtimes it applies to (default: all);
- ``HOSTS = {"name": ["addr", ...]}``: the names it resolves (``{}``: none, but it
  looks up names that must fail). Such a file runs on every runtime (CPython
  included) in a subprocess inside a private mount namespace whose /etc/hosts holds
  these names and whose DNS is 127.0.0.1, where nothing answers
  (tests/private_resolver.py): no look-up leaves the machine; the real files are
  never touched.

In this process, a look-up of a name the machine's DNS would get raises
private_resolver.LookupLeaves (an audit hook installed at configure time).
"""

import ast
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from runtimes import (
    MICROPYTHON_HEAP,
    ROOT,
    STANDIN_HEAP,
    STANDINS,
    compile_for_board,
    ipv6_loopback_available,
    micropython_binary,
)

TESTS = ROOT / "tests"
BEHAVIOUR = TESTS / "behaviour"
RUNNER = TESTS / "mpy_runner.py"
for _path in (ROOT / "lib", ROOT / "port", BEHAVIOUR, ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import expect  # noqa: E402  (tests/behaviour/expect.py, after the path setup)
import private_resolver  # noqa: E402

# runtime id -> stand-in board (None: the interpreter's own platform)
MICROPYTHON_RUNTIMES = {
    "micropython-unix": None,
    "micropython-esp32-standin": "esp32",
    "micropython-rp2-standin": "rp2",
}
ALL_RUNTIMES = ("cpython",) + tuple(MICROPYTHON_RUNTIMES)
RUN_TIME_LIMIT = 90.0  # seconds for one behaviour file on one runtime
PARALLEL_RUNS = 4
HOSTSERVER_LIFETIME = 900
# Loopback addresses the host server's tcp_whoami also listens on (IP stickiness).
WHOAMI_ALIASES = ("127.0.0.4", "127.0.0.5")
MARK = "@@twinsock "


# -- the host server --------------------------------------------------------------


def start_host_server(log_path, lifetime=HOSTSERVER_LIFETIME):
    from tools.hostserver import HostServerProcess

    args = ["--bind", "127.0.0.1"]
    if ipv6_loopback_available():
        args += ["--bind", "::1"]
    for alias in WHOAMI_ALIASES:
        args += ["--alias", alias]
    # The TLS/DTLS services too, with this session's certificates in a directory the
    # tests read (certificate bytes never go on a MicroPython command line) and a
    # random PSK, both named in the description every runtime gets as `peer`.
    args += ["--secure", "--pki", str(session_tmpdir() / "pki")]
    args += ["--lifetime", str(lifetime), "--log", str(log_path)]
    return HostServerProcess(args)


_server = None
_tmpdir = None


def session_tmpdir():
    global _tmpdir
    if _tmpdir is None:
        _tmpdir = tempfile.TemporaryDirectory(prefix="twinsock-tests-")
    return Path(_tmpdir.name)


_board_code = None


def board_code():
    """lib/ and port/ as .mpy files, compiled once per session."""
    global _board_code
    if _board_code is None:
        _board_code = compile_for_board(session_tmpdir() / "mpy")
    return _board_code


def host_server():
    global _server
    if _server is None:
        _server = start_host_server(session_tmpdir() / "hostserver.log")
    return _server


def pytest_sessionfinish(session):
    global _server, _tmpdir
    for run in Run.all_runs:
        run.kill()
    if _server is not None:
        _server.stop()
        _server = None
    if _tmpdir is not None:
        _tmpdir.cleanup()
        _tmpdir = None


def pytest_configure(config):
    # A board bench's server named on the command line is the user's to resolve.
    private_resolver.guard_this_process(also=[config.getoption("server_host", default=None)])


@pytest.fixture(params=["cpython"])
def peer(request):
    return expect.Peer(host_server().description, request.param)


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    # expect.Skip, raised when twinsock.features() lacks what a test needs.
    try:
        return (yield)
    except expect.Skip as e:
        pytest.skip(str(e))


# -- behaviour files on MicroPython (and in a namespace) ---------------------------


def read_behaviour_file(path):
    """(test names in file order, declared RUNTIMES, declared HOSTS)."""
    tree = ast.parse(Path(path).read_text(), str(path))
    names, runtimes, hosts = [], ALL_RUNTIMES, None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            names.append((node.name, node.lineno))
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = getattr(node.targets[0], "id", None)
            if target == "RUNTIMES":
                runtimes = tuple(ast.literal_eval(node.value))
            elif target == "HOSTS":
                hosts = ast.literal_eval(node.value)
    return names, runtimes, hosts


def is_behaviour_file(path):
    path = Path(path)
    return path.parent == BEHAVIOUR and path.name.startswith("test_") and path.suffix == ".py"


def needs_namespace(path):
    return read_behaviour_file(path)[2] is not None


def pytest_pycollect_makemodule(module_path, parent):
    # A file needing its own /etc/hosts cannot run in this process: all of its
    # runtimes, CPython included, go through the runner.
    if is_behaviour_file(module_path) and needs_namespace(module_path):
        return BehaviourFile.from_parent(parent, path=module_path, with_cpython=True)
    return None


def pytest_collect_file(file_path, parent):
    if is_behaviour_file(file_path) and not needs_namespace(file_path):
        return BehaviourFile.from_parent(parent, path=file_path, with_cpython=False)
    return None


class BehaviourFailure(Exception):
    pass


class BehaviourFile(pytest.File):
    def __init__(self, *args, with_cpython=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.with_cpython = with_cpython
        self.runs = {}

    def collect(self):
        names, runtimes, hosts = read_behaviour_file(self.path)
        wanted = [r for r in ALL_RUNTIMES if r in runtimes]
        if not self.with_cpython:
            wanted = [r for r in wanted if r != "cpython"]
        for runtime in wanted:
            run = Run(self.path, runtime, [n for n, _ in names], hosts)
            self.runs[runtime] = run
            for name, lineno in names:
                yield BehaviourItem.from_parent(
                    self, name="%s[%s]" % (name, runtime), run=run, test=name, lineno=lineno
                )


class BehaviourItem(pytest.Item):
    def __init__(self, *args, run, test, lineno, **kwargs):
        super().__init__(*args, **kwargs)
        self.run = run
        self.test = test
        self.lineno = lineno

    def runtest(self):
        record = Run.scheduler_result(self.run, self.test)
        if record["outcome"] == "passed":
            return
        if record["outcome"] == "skipped":
            pytest.skip(record["message"])
        raise BehaviourFailure(record["message"])

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, BehaviourFailure):
            return "%s on %s:\n%s" % (self.test, self.run.runtime, excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, self.lineno - 1, self.name


class Run:
    """One behaviour file on one runtime, as a subprocess with a time limit."""

    all_runs = []

    def __init__(self, path, runtime, tests, hosts):
        self.path = Path(path)
        self.runtime = runtime
        self.tests = tests
        self.hosts = hosts
        self.process = None
        self.output_file = None
        self.records = None
        Run.all_runs.append(self)

    def command(self, description):
        job = {
            "module": self.path.stem,
            "tests": self.tests,
            "peer": description,
            "runtime": self.runtime,
            "standin": MICROPYTHON_RUNTIMES.get(self.runtime),
        }
        job_file = session_tmpdir() / ("%s-%s.json" % (self.path.stem, self.runtime))
        job_file.write_text(json.dumps(job))
        if self.runtime == "cpython":
            cmd = [sys.executable, str(RUNNER), str(job_file)]
        else:
            binary = micropython_binary()
            if binary is None:
                return None
            heap = STANDIN_HEAP if job["standin"] else MICROPYTHON_HEAP
            cmd = [binary, "-X", "heapsize=" + heap, str(RUNNER), str(job_file)]
        if self.hosts is not None:
            cmd = self.namespace_prefix() + cmd
        return cmd

    def namespace_prefix(self):
        directory = session_tmpdir() / ("names-%s-%s" % (self.path.stem, self.runtime))
        return private_resolver.prefix(directory, hosts=self.hosts)

    def start(self):
        description = dict(host_server().description)
        if self.hosts is not None:
            description["names"] = self.hosts
        self.output_file = open(
            session_tmpdir() / ("%s-%s.out" % (self.path.stem, self.runtime)), "w+"
        )
        self.started_at = time.monotonic()
        env = dict(os.environ)
        # MicroPython runs twinsock as a board does: compiled (.mpy), not from source.
        board_path = [BEHAVIOUR, STANDINS, board_code()]
        env["MICROPYPATH"] = os.pathsep.join([".frozen"] + [str(p) for p in board_path])
        source_path = [BEHAVIOUR, STANDINS, ROOT / "lib", ROOT / "port"]
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in source_path)
        cmd = self.command(description)
        if cmd is None:
            self.records = {"error": "micropython interpreter not found on PATH or in .venv"}
            return
        self.process = subprocess.Popen(
            cmd,
            cwd=str(ROOT),
            env=env,
            stdout=self.output_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def started(self):
        return self.process is not None or self.records is not None

    def finished(self):
        return self.records is not None or (
            self.process is not None and self.process.poll() is not None
        )

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def wait(self):
        if self.records is not None:
            return self.records
        remaining = RUN_TIME_LIMIT - (time.monotonic() - self.started_at)
        timed_out = False
        try:
            self.process.wait(max(remaining, 0.1))
        except subprocess.TimeoutExpired:
            timed_out = True
            self.kill()
        self.output_file.seek(0)
        output = self.output_file.read()
        self.output_file.close()
        self.records = parse_output(output, self.process.returncode, timed_out)
        return self.records

    def record(self, test):
        records = self.wait()
        if test in records:
            return records[test]
        if "error" in records:
            why = records["error"]
        elif records.get("running"):
            why = "the interpreter %s while running %s" % (records["how"], records["running"])
            if records["running"] != test:
                why = "not run: " + why
        else:
            why = "the interpreter %s before this test started" % records["how"]
        return {
            "outcome": "failed",
            "message": "%s\n\n--- output ---\n%s" % (why, records.get("tail", "")),
        }

    @classmethod
    def scheduler_result(cls, run, test):
        """Start `run` (and the next runs, up to PARALLEL_RUNS at once), then wait."""
        if not run.started:
            run.start()
        running = [r for r in cls.all_runs if r.started and not r.finished()]
        for other in cls.all_runs:
            if len(running) >= PARALLEL_RUNS:
                break
            if not other.started:
                other.start()
                running.append(other)
        return run.record(test)


def parse_output(output, returncode, timed_out):
    records = {}
    running = None
    done = False
    other = []
    for line in output.splitlines():
        if not line.startswith(MARK):
            other.append(line)
            continue
        try:
            record = json.loads(line[len(MARK) :])
        except ValueError:
            other.append(line)
            continue
        if "start" in record:
            running = record["start"]
        elif "test" in record:
            records[record["test"]] = record
            running = None
        elif record.get("done"):
            done = True
    if timed_out:
        how = "hung (killed after %d s)" % RUN_TIME_LIMIT
    elif not done:
        how = "exited with status %s" % returncode
    else:
        how = "finished"
    records["running"] = running
    records["how"] = how
    records["tail"] = "\n".join(other[-40:])
    return records


# -- the per-runtime summary ------------------------------------------------------


def pytest_terminal_summary(terminalreporter):
    counts = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if not nodeid.startswith("tests/behaviour/") or not nodeid.endswith("]"):
                continue
            if outcome in ("passed", "failed") and report.when != "call":
                continue
            runtime = nodeid[nodeid.rindex("[") + 1 : -1]
            per = counts.setdefault(runtime, {})
            per[outcome] = per.get(outcome, 0) + 1
    if not counts:
        return
    parts = []
    for runtime in ALL_RUNTIMES:
        if runtime in counts:
            per = counts[runtime]
            words = [
                "%d %s" % (per[o], o) for o in ("passed", "failed", "skipped", "error") if o in per
            ]
            parts.append("%s %s" % (runtime, ", ".join(words)))
    terminalreporter.write_line("twinsock behaviour: " + "; ".join(parts))
