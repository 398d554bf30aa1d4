"""The on-board checks as pytest items (``pytest -p tools.hil.pytest_plugin --noconftest
tools/hil/builtin_checks tests/board``, which is what `make hil` and
``python -m tools.hil run`` do).

Each check script (tests/board/*.py, tools/hil/builtin_checks/*.py, or a script named on
the command line) is one item run on the board, so junit (--junitxml), selection (-k),
--lf, progress and parallel boards (pytest-xdist: with several boards every check runs
on each, and each board's checks go to one worker) are pytest's.

Fixtures:
  hil_boards  (session) the run's boards, each opened, deployed to and given its host
              server on first use, closed at the end
  hil_board   the board a check runs on (the emulated one is started for the run)
  hil_deploy  lib/ and port/ compiled and copied to it, once (--no-deploy: None)
  hil_server  its host server (tools/hostserver), described on the board

A check's verdict (pass, skip, fail, timeout, memory_error, crash, lost) and the heap
before and after it are the item's user properties (junit <properties>); the terminal
summary prints them as the results table. A harness error (no board, no server) stops
the run and is reported once, with exit status 2.
"""

import contextlib
import os
import re
import sys

import pytest

from . import checks, report
from .errors import HilError

EXIT_HARNESS_ERROR = 2
CHECK_DIRS = (os.path.realpath(checks.BUILTIN_CHECKS), os.path.realpath(checks.BOARD_CHECKS))
SERVER_LOG_DIR = os.path.join(checks.REPO_ROOT, "build", "hil", "hostserver")
# The raw REPL's framing in a transcript: the raw-paste answer (R, 1, 16-bit window),
# flow-control and end-of-output bytes (Ctrl-A, Ctrl-D): not the board's text
RAW_REPL_FRAMING = re.compile(rb"R\x01[\x00-\xff]{2}|[\x00-\x08\x0b\x0c\x0e-\x1f]")


def pytest_addoption(parser):
    group = parser.getgroup("hil", "twinsock hardware-in-the-loop")
    group.addoption(
        "--board",
        dest="hil_board",
        default="unix",
        help="board kind: unix (the emulated board), esp32, rp2040 (default unix)",
    )
    group.addoption(
        "--port",
        dest="hil_ports",
        action="append",
        default=[],
        help="serial port: a path, id:<USB serial number>, loc:<USB location> or "
        "rfc2217://host:port; KIND=PORT for a board of another kind. Repeat it with "
        "-n N for N boards, one per xdist worker (default: an emulated board per worker)",
    )
    group.addoption(
        "--server-host",
        dest="hil_server_host",
        default=os.environ.get("HIL_SERVER_HOST") or None,
        help="address the host server binds and the boards connect to: on a bench this "
        "host's LAN address, or `auto` (this host's address on the route to the board's "
        "WLAN address). Default: $HIL_SERVER_HOST, else auto for a WLAN board and "
        "127.0.0.1 for the emulated board",
    )
    group.addoption(
        "--emulated",
        dest="hil_emulated",
        type=int,
        default=1,
        help="without --port: how many emulated boards (default 1)",
    )
    group.addoption("--heap", dest="hil_heap", default="192K", help="emulated board heap")
    group.addoption(
        "--check-timeout",
        dest="hil_timeout",
        type=float,
        default=checks.DEFAULT_TIMEOUT_S,
        help="seconds a check may run before it is interrupted (default %(default)s)",
    )
    group.addoption(
        "--server-lifetime",
        dest="hil_server_lifetime",
        type=float,
        default=1800.0,
        help="seconds the host server lives at most (default %(default)s)",
    )
    group.addoption(
        "--no-deploy",
        dest="hil_deploy",
        action="store_false",
        help="use the twinsock already on the board",
    )


# -- collection ---------------------------------------------------------------------


def is_check_script(path, session):
    """A check: a .py in a check directory, or a script named on the command line
    that is not a pytest test module."""
    if path.suffix != ".py" or path.name.startswith(("_", "conftest")):
        return False
    if os.path.realpath(str(path.parent)) in CHECK_DIRS:
        return True
    return session.isinitpath(path) and not path.name.startswith("test_")


def pytest_collect_file(file_path, parent):
    if is_check_script(file_path, parent.session) and not parent.session.isinitpath(file_path):
        return CheckFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    # a script named on the command line: ours, never imported as a test module
    if is_check_script(module_path, parent.session):
        return CheckFile.from_parent(parent, path=module_path)
    return None


def pytest_collection_modifyitems(session, config, items):
    """The suite's order: the built-in check, then plain sockets before secure ones
    (checks.SUITE_ORDER), so heap deltas show what each layer costs."""

    def position(item):
        directory = os.path.realpath(str(item.path.parent))
        if not isinstance(item, CheckItem) or directory not in CHECK_DIRS:
            return (2, (0, ""))  # scripts named on the command line: in their order
        return (CHECK_DIRS.index(directory), checks.suite_position(item.check))

    items.sort(key=position)


class CheckFile(pytest.File):
    def collect(self):
        timeout = self.config.getoption("hil_timeout")
        check = checks.Check.from_file(str(self.path), timeout)
        targets = board_targets(self.config)
        if len(targets) == 1:
            yield CheckItem.from_parent(self, name=check.name, callobj=run_board_check, check=check)
            return
        for target in targets:  # every check on every board
            yield CheckItem.from_parent(
                self,
                name="%s[%s]" % (check.name, target.label),
                callobj=run_board_check,
                check=check,
                target=target,
            )


class CheckFailed(Exception):
    """A check's verdict other than pass or skip; its text is the failure report."""


class CheckItem(pytest.Function):
    def __init__(self, *, check, target=None, **kwargs):
        super().__init__(**kwargs)
        self.check = check
        self.target = target  # None: the run's only board

    def reportinfo(self):
        return self.path, None, "%s (on-board check)" % self.name

    def repr_failure(self, excinfo):
        if excinfo.errisinstance(CheckFailed):
            return str(excinfo.value)
        if excinfo.errisinstance(HilError):
            return "error: %s" % excinfo.value
        return super().repr_failure(excinfo)


def run_board_check(hil_board, hil_deploy, hil_server, request):
    """The body of every check item."""
    item = request.node
    properties = item.user_properties
    properties += [("hil_board", hil_board.label), ("hil_check", item.check.name)]
    if hil_deploy is not None:
        properties.append(("hil_deploy", hil_deploy.summary()))
    if hil_board.lost:
        properties.append(("hil_result", checks.LOST))
        raise CheckFailed("lost: the board was lost in an earlier check (%s)" % hil_board.lost)
    result = checks.run_check(hil_board.board, item.check, "SERVER_HOST = %r\n" % hil_server.host)
    properties += [
        ("hil_result", result.result),
        ("hil_seconds", "%.3f" % result.seconds),
        ("heap_before", report.heap_text(result.heap_before)),
        ("heap_after", report.heap_text(result.heap_after)),
    ]
    sys.stdout.write(board_output(result))  # captured: junit's system-out
    if result.result == checks.LOST:
        hil_board.lost = result.detail or "port gone"
    if result.result == checks.SKIP:
        pytest.skip(result.detail)
    if result.failed:
        raise CheckFailed(failure_text(result))


def printable(data):
    return RAW_REPL_FRAMING.sub(b"", data).decode(errors="replace")


def board_output(result):
    """What the board printed, as text: the script's output and traceback; after a
    timeout, crash or lost port the serial transcript, which shows what happened."""
    if result.result in (checks.TIMEOUT, checks.CRASH, checks.LOST):
        return printable(result.transcript)
    return printable(result.stdout) + printable(result.stderr)


def failure_text(result):
    lines = ["%s: %s" % (result.result, result.detail)]
    traceback = printable(result.stderr).strip()
    if traceback:
        lines += ["", "board traceback:", traceback]
    return "\n".join(lines)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not isinstance(item, CheckItem) or call.excinfo is None:
        return
    if call.excinfo.errisinstance(HilError):
        # the board or the server is unusable: say it once and stop, not once per check
        message = str(call.excinfo.value)
        test_report = outcome.get_result()
        test_report.longrepr = "harness error (reported at the end)"
        test_report.user_properties.append(("hil_error", message))
        item.session.shouldstop = "harness error, reported at the end"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With several boards: each board's checks all go to one xdist worker, in order
    (xdist's loadscope scheduling with the board as the scope; its own xdist_group
    mark does not take with pytest 9, whose node ids it can no longer rewrite)."""
    if len(board_targets(config)) < 2:
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BoardScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return nodeid.rsplit("[", 1)[-1] if nodeid.endswith("]") else nodeid

    return BoardScheduling(config, log)


# -- fixtures -----------------------------------------------------------------------


class Target:
    """One board of the run: its kind, port (None: an emulated board started for the
    run) and label (the kind, numbered when the run has several boards)."""

    def __init__(self, kind, port, label):
        self.kind = kind
        self.port = port
        self.label = label


def board_targets(config):
    from . import board_kinds

    kind = config.getoption("hil_board")
    ports = config.getoption("hil_ports")
    targets = []
    for port in ports or [None] * max(1, config.getoption("hil_emulated")):
        this_kind = kind
        if port and "=" in port.split("://")[0]:
            this_kind, port = port.split("=", 1)
        board_kinds.description(this_kind)  # an unknown kind is named here
        targets.append(Target(this_kind, port, this_kind))
    if len(targets) > 1:
        for number, target in enumerate(targets, 1):
            target.label = "%s#%d" % (target.kind, number)
    return targets


class BoardUnderTest:
    def __init__(self, board, target):
        self.board = board
        self.kind = target.kind
        self.label = target.label
        self.lost = None  # why, once a check lost the port: later checks are not run
        self.deploy_report = self.server = None
        self.deployed = False


class Boards:
    """The run's boards, each opened (and deployed to, and given its host server) on
    first use, so an xdist worker opens only the boards of the checks it was given;
    all closed at the end of the session."""

    def __init__(self, config):
        self.config = config
        self.targets = board_targets(config)
        self.opened = {}
        self.stack = contextlib.ExitStack()

    def board(self, target):
        from .cli import opened_board

        if target.label not in self.opened:
            config = self.config

            class Options:  # what opened_board reads
                board = target.kind
                port = target.port
                heap = config.getoption("hil_heap")

            board = self.stack.enter_context(opened_board(Options, target.kind, target.port))
            self.opened[target.label] = BoardUnderTest(board, target)
        return self.opened[target.label]

    def deploy(self, under_test):
        if not under_test.deployed and self.config.getoption("hil_deploy"):
            from .deploy import deploy

            under_test.deploy_report = deploy(under_test.board)
        under_test.deployed = True
        return under_test.deploy_report

    def server(self, under_test):
        if under_test.server is None:
            from .cli import bring_up_network, server_host
            from .server import HilServer

            config = self.config

            class Options:
                server_host = config.getoption("hil_server_host")

            address = bring_up_network(under_test.board, under_test.kind, lambda text: None)
            host = server_host(Options, under_test.kind, address)
            os.makedirs(SERVER_LOG_DIR, exist_ok=True)
            name = under_test.label.replace("/", "_")
            log_path = os.path.join(SERVER_LOG_DIR, "%s.jsonl" % name)
            lifetime = config.getoption("hil_server_lifetime")
            server = self.stack.enter_context(HilServer(host, lifetime, log_path))
            server.install_on(under_test.board)
            under_test.server = server
        return under_test.server

    def close(self):
        self.stack.close()


@pytest.fixture(scope="session")
def hil_boards(request):
    boards = Boards(request.config)
    yield boards
    boards.close()


@pytest.fixture
def hil_board(request, hil_boards):
    """The board this check runs on (a BoardUnderTest: .board, .kind, .label)."""
    target = getattr(request.node, "target", None) or hil_boards.targets[0]
    return hil_boards.board(target)


@pytest.fixture
def hil_deploy(hil_boards, hil_board):
    """The DeployReport of copying twinsock onto the board, once per board and run
    (None with --no-deploy)."""
    return hil_boards.deploy(hil_board)


@pytest.fixture
def hil_server(hil_boards, hil_board, hil_deploy):
    """The board's host server (a HilServer), its address and ports written onto the
    board as /lib/hil_env.py."""
    return hil_boards.server(hil_board)


# -- the results table --------------------------------------------------------------


class Row:
    """One check's line of the table, from its (possibly remote) test report."""

    def __init__(self, name, properties):
        self.name = name
        self.result = properties.get("hil_result", "error")
        self.seconds = float(properties.get("hil_seconds", 0))
        self.heap_before = heap_value(properties.get("heap_before"))
        self.heap_after = heap_value(properties.get("heap_after"))
        self.failed = self.result not in (checks.PASS, checks.SKIP)

    @property
    def heap_delta(self):
        if self.heap_before is None or self.heap_after is None:
            return None
        return self.heap_after - self.heap_before


def heap_value(text):
    return None if text in (None, "-") else int(text)


class ResultsTable:
    """Collects the check reports (from this process or from xdist workers) and prints
    the table per board at the end; turns harness errors into exit status 2."""

    def __init__(self):
        self.rows = {}  # board label -> [Row]
        self.deploys = {}
        self.errors = []

    def pytest_runtest_logreport(self, report):
        properties = dict(report.user_properties)
        if "hil_error" in properties and properties["hil_error"] not in self.errors:
            self.errors.append(properties["hil_error"])
        if "hil_result" not in properties or report.when == "teardown":
            return
        if report.when == "setup" and report.passed:
            return
        label = properties["hil_board"]
        if "hil_deploy" in properties:
            self.deploys[label] = properties["hil_deploy"]
        self.rows.setdefault(label, []).append(Row(properties["hil_check"], properties))

    def pytest_terminal_summary(self, terminalreporter):
        for label in sorted(self.rows):
            terminalreporter.write_line("")
            if label in self.deploys:
                terminalreporter.write_line("deploy on %s: %s" % (label, self.deploys[label]))
            for line in report.table(label, self.rows[label]).splitlines():
                terminalreporter.write_line(line)
        if len(self.rows) > 1:
            terminalreporter.write_line("")
            boards = [(label, self.rows[label], None) for label in sorted(self.rows)]
            for line in report.summary(boards).splitlines():
                terminalreporter.write_line(line)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        for message in self.errors:
            print("error: %s" % message, file=sys.stderr)
        if self.errors:
            session.exitstatus = EXIT_HARNESS_ERROR


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        config.pluginmanager.register(ResultsTable(), "hil-results-table")
