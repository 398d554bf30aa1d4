"""A board on a serial line: run a script with a time limit, say what happened
(finished, raised, ran out of memory, hung, rebooted), and bring the REPL back.

One serial path for every board; what differs per board is only how to press reset
(`hard_reset`) and how to find the port again after a native-USB board re-enumerated
(`reopen`): callables given by whoever knows the hardware."""

import ast
import time

from .errors import (
    BoardLost,
    BoardRebooted,
    BoardUnreachable,
    HilError,
    ReadTimeout,
    RecoveryFailed,
)
from .transport import HilTransport, TransportError, watch_for_reboot

# Outcomes of one script run
OK = "ok"  # finished, nothing on stderr
EXCEPTION = "exception"  # finished with a traceback
MEMORY_ERROR = "memory_error"  # ... and the traceback is MemoryError / ENOMEM
TIMEOUT = "timeout"  # still running at the deadline: interrupted and recovered
REBOOT = "reboot"  # the board restarted mid-script (crash, watchdog, reset)
LOST = "lost"  # the port went away

BOOT_TIMEOUT_S = 15.0  # an ESP32 after a panic or a Pico after reset is back well within
RECOVERY_STEP_TIMEOUT_S = 1.0  # a board that heard Ctrl-C shows its prompt within this
SOFT_RESET_TIMEOUT_S = 10.0  # Ctrl-A, Ctrl-D, and the board's boot.py back to raw REPL


class ScriptRun:
    """What one script did on the board, with the serial transcript of its run."""

    def __init__(self, outcome, stdout, stderr, seconds, transcript, recovery):
        self.outcome = outcome
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
        self.transcript = transcript
        self.recovery = recovery  # the steps that brought the REPL back, if any

    def __repr__(self):
        return "ScriptRun(%s, %.3fs, stderr=%r)" % (self.outcome, self.seconds, self.stderr[-80:])


def classify_traceback(stderr):
    if not stderr.strip():
        return OK
    last_line = stderr.strip().splitlines()[-1]
    if b"MemoryError" in last_line or b"ENOMEM" in last_line:
        return MEMORY_ERROR
    return EXCEPTION


class Board:
    def __init__(self, port, name="board", hard_reset=None, reopen=None):
        self.port = port
        self.name = name
        self.hard_reset = hard_reset  # () -> None: press reset
        self.reopen = reopen  # () -> port path, once the port is back after vanishing
        self.transport = HilTransport(port)

    @classmethod
    def open(cls, port, name="board", hard_reset=None, reopen=None, timeout_s=5.0):
        board = cls(port, name, hard_reset, reopen)
        try:
            board.enter_raw_repl(timeout_s)
        except (ReadTimeout, BoardLost, TransportError) as error:
            board.close()
            raise BoardUnreachable(
                "no raw REPL on %s: is another program holding the port? "
                "(or the board is busy: try a reset)" % port
            ) from error
        return board

    def close(self):
        try:
            self.transport.exit_raw_repl()
        except HilError:
            pass
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def transcript(self):
        return self.transport.transcript  # carried over to a reopened port

    def run(self, script, timeout_s=10.0):
        if isinstance(script, str):
            script = script.encode()
        mark = self.transcript.mark()
        started = time.monotonic()
        recovery = []
        stdout = stderr = b""
        try:
            with self.transport.bounded(timeout_s, watch=watch_for_reboot):
                self.transport.exec_raw_no_follow(script)
                stdout, stderr = self.transport.follow(None)
            seconds = time.monotonic() - started
            outcome = classify_traceback(stderr)
        except ReadTimeout as error:
            seconds = time.monotonic() - started  # the script's time, not the recovery's
            outcome, stdout = TIMEOUT, error.received
            recovery = self.recover()
        except TransportError as error:  # the board did not take the script
            seconds = time.monotonic() - started
            outcome, stderr = TIMEOUT, str(error).encode()
            recovery = self.recover()
        except BoardRebooted as error:
            seconds = time.monotonic() - started
            outcome, stdout = REBOOT, error.received
            recovery = self.recover_after_reboot()
        except BoardLost as error:
            seconds = time.monotonic() - started
            if self.reopen is None:
                outcome, stderr = LOST, str(error).encode()
            else:  # a native-USB board resetting drops off the bus: the port comes back
                outcome, stdout = REBOOT, self.transcript.since(mark)
                recovery = self.recover_after_reboot()
        return ScriptRun(outcome, stdout, stderr, seconds, self.transcript.since(mark), recovery)

    def eval(self, expression, timeout_s=5.0):
        """The value of a literal-valued expression on the board."""
        run = self.run("print(repr(%s))" % expression, timeout_s)
        if run.outcome != OK:
            raise HilError(
                "eval %r on %s: %s %r" % (expression, self.name, run.outcome, run.stderr)
            )
        return ast.literal_eval(run.stdout.decode().strip())

    def free_heap(self):
        run = self.run("import gc\ngc.collect()\nprint(gc.mem_free())", 5.0)
        if run.outcome != OK:
            raise HilError("free heap on %s: %s %r" % (self.name, run.outcome, run.stderr))
        return int(run.stdout.strip())

    # -- recovery -------------------------------------------------------------------

    def recover(self):
        """After a hung script: interrupt it, then soft reset; hard reset if need be."""
        steps = []
        try:
            self.transport.interrupt(RECOVERY_STEP_TIMEOUT_S)
            steps.append("interrupt")
        except (ReadTimeout, BoardRebooted):
            steps.append("interrupt failed")
        return steps + self.recover_by_soft_reset()

    def recover_by_soft_reset(self):
        """A clean heap and no sockets left open by the script; else a hard reset."""
        try:
            self.enter_raw_repl(RECOVERY_STEP_TIMEOUT_S)  # the board still listens
            self.enter_raw_repl(SOFT_RESET_TIMEOUT_S, soft_reset=True)
            return ["soft reset"]
        except HilError:
            return ["soft reset failed"] + self.recover_by_hard_reset()

    def recover_after_reboot(self):
        try:
            self.wait_for_raw_repl()
            return ["came back by itself"]
        except HilError:
            return ["did not come back"] + self.recover_by_hard_reset()

    def reconnect(self):
        """Open the port again after it vanished (the board re-enumerated on USB)."""
        self.transport.close()
        self.port = self.reopen()
        self.transport = HilTransport(self.port, self.transcript)

    def recover_by_hard_reset(self):
        if self.hard_reset is None:
            raise RecoveryFailed("%s is stuck and has no way to hard reset it" % self.name)
        self.hard_reset()
        try:
            self.wait_for_raw_repl()
        except HilError as error:
            raise RecoveryFailed("%s did not come back after a hard reset" % self.name) from error
        return ["hard reset"]

    def enter_raw_repl(self, timeout_s, soft_reset=False):
        """Interrupt whatever runs and get a fresh raw REPL prompt (mpremote's way)."""
        with self.transport.bounded(timeout_s):
            self.transport.enter_raw_repl(soft_reset=soft_reset, timeout_overall=timeout_s)

    def wait_for_raw_repl(self, timeout_s=BOOT_TIMEOUT_S):
        """Keep asking for a raw REPL until the (re)booting board gives one."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.enter_raw_repl(min(2.0, max(0.1, deadline - time.monotonic())))
                return
            except (ReadTimeout, BoardRebooted, TransportError):
                if time.monotonic() >= deadline:
                    raise
            except BoardLost:
                if self.reopen is None or time.monotonic() >= deadline:
                    raise
                self.reconnect()
