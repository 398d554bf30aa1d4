"""On-board checks: a MicroPython script per check, run through the Board, each
giving a CheckResult (name, result, time, heap before/after, serial transcript).

A check passes when its script finishes without a traceback. It may end with a line
`RESULT skip <why>` or `RESULT fail <why>` to say otherwise."""

import os

from . import board as outcomes
from .filelist import REPO_ROOT

BUILTIN_CHECKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "builtin_checks")
BOARD_CHECKS = os.path.join(REPO_ROOT, "tests", "board")  # the suite proper (UDP, TCP, TLS...)
DEFAULT_TIMEOUT_S = 30.0

PASS, FAIL, SKIP = "pass", "fail", "skip"
TIMEOUT, MEMORY_ERROR, CRASH, LOST = "timeout", "memory_error", "crash", "lost"
BAD_RESULTS = (FAIL, TIMEOUT, MEMORY_ERROR, CRASH, LOST)

# Forget the check's globals before measuring the heap after it: what is left is what
# the check really kept (modules, caches, leaks).
HEAP_AFTER_SCRIPT = """
for _name in [n for n in globals() if not n.startswith("__")]:
    del globals()[_name]
import gc
gc.collect()
print(gc.mem_free())
"""
HEAP_BEFORE_SCRIPT = "import gc\ngc.collect()\nprint(gc.mem_free())"


class Check:
    def __init__(self, name, source, timeout_s=DEFAULT_TIMEOUT_S):
        self.name = name
        self.source = source
        self.timeout_s = timeout_s

    @classmethod
    def from_file(cls, path, timeout_s=DEFAULT_TIMEOUT_S):
        with open(path) as script:
            source = script.read()
        return cls(os.path.splitext(os.path.basename(path))[0], source, timeout_s)


class CheckResult:
    def __init__(
        self,
        name,
        result,
        seconds,
        heap_before,
        heap_after,
        transcript,
        detail="",
        stdout=b"",
        stderr=b"",
    ):
        self.name = name
        self.result = result
        self.seconds = seconds
        self.heap_before = heap_before
        self.heap_after = heap_after
        self.transcript = transcript
        self.detail = detail
        self.stdout = stdout  # the script's own output, without the raw REPL's framing
        self.stderr = stderr  # its traceback, if it raised

    @property
    def heap_delta(self):
        if self.heap_before is None or self.heap_after is None:
            return None
        return self.heap_after - self.heap_before

    @property
    def failed(self):
        return self.result in BAD_RESULTS

    def __repr__(self):
        return "CheckResult(%s: %s %s)" % (self.name, self.result, self.detail)


def checks_in(directory, timeout_s=DEFAULT_TIMEOUT_S):
    if not os.path.isdir(directory):
        return []
    names = sorted(n for n in os.listdir(directory) if n.endswith(".py") and n[0] != "_")
    return [Check.from_file(os.path.join(directory, name), timeout_s) for name in names]


# The suite's order: plain sockets before secure ones, so that the heap delta of the
# first UDP check shows what importing twinsock costs and the first TLS check what the
# TLS engine costs. Checks matching no prefix come last, by name.
SUITE_ORDER = ("udp_", "tcp_", "tls_", "dtls_", "ip_", "heap_")


def suite_position(check):
    for position, prefix in enumerate(SUITE_ORDER):
        if check.name.startswith(prefix):
            return position, check.name
    return len(SUITE_ORDER), check.name


def default_checks(timeout_s=DEFAULT_TIMEOUT_S):
    """The built-in sanity check first, then every check script in tests/board/."""
    board = sorted(checks_in(BOARD_CHECKS, timeout_s), key=suite_position)
    return checks_in(BUILTIN_CHECKS, timeout_s) + board


def declared_result(stdout):
    """(result, why) from a final `RESULT ...` line, or None."""
    lines = stdout.decode(errors="replace").replace("\r", "").strip().splitlines()
    if lines and lines[-1].startswith("RESULT "):
        words = lines[-1].split(" ", 2)
        if len(words) > 1 and words[1] in (PASS, FAIL, SKIP):
            return words[1], words[2] if len(words) > 2 else ""
    return None


def last_line(data):
    lines = data.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


def measure_heap(board, script):
    run = board.run(script, 5.0)
    if run.outcome != outcomes.OK:
        return None
    try:
        return int(run.stdout.strip())
    except ValueError:
        return None


def run_check(board, check, prelude=""):
    heap_before = measure_heap(board, HEAP_BEFORE_SCRIPT)
    run = board.run(prelude + check.source, check.timeout_s)
    heap_after = None
    if run.outcome == outcomes.OK:
        result, detail = declared_result(run.stdout) or (PASS, "")
    elif run.outcome == outcomes.EXCEPTION:
        result, detail = FAIL, last_line(run.stderr)
    elif run.outcome == outcomes.MEMORY_ERROR:
        result, detail = MEMORY_ERROR, last_line(run.stderr)
    elif run.outcome == outcomes.TIMEOUT:
        result = TIMEOUT
        detail = "no end after %.1f s; recovered by %s" % (check.timeout_s, ", ".join(run.recovery))
    elif run.outcome == outcomes.REBOOT:
        result, detail = CRASH, "board rebooted mid-check; %s" % ", ".join(run.recovery)
    else:
        result, detail = LOST, last_line(run.stderr)
    if run.outcome in (outcomes.OK, outcomes.EXCEPTION, outcomes.MEMORY_ERROR):
        heap_after = measure_heap(board, HEAP_AFTER_SCRIPT)  # not after a reset: meaningless
        if heap_after is None and run.outcome == outcomes.MEMORY_ERROR:
            # the heap is still full (even forgetting the globals needs some): a soft
            # reset gives the next check a board that can run at all
            detail += "; recovered by %s" % ", ".join(board.recover_by_soft_reset())
    return CheckResult(
        check.name,
        result,
        run.seconds,
        heap_before,
        heap_after,
        run.transcript,
        detail,
        run.stdout,
        run.stderr,
    )


def run_checks(board, checks, prelude="", progress=None):
    results = []
    for check in checks:
        result = run_check(board, check, prelude)
        results.append(result)
        if progress:
            progress(result)
        if result.result == LOST:
            break  # the port is gone: every later check would only repeat that
    return results
