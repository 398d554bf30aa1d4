"""Start and stop the emulated board (boards/unix/supervisor.py) from the harness."""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .errors import BoardUnreachable

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
READY_TIMEOUT_S = 15.0
RESET_LOG_LINE = "reset button: hard reset"  # the supervisor's log line (supervisor.py)
STOP_TIMEOUT_S = 5.0


class EmulatedBoard:
    """One supervised MicroPython unix interpreter behind a pty, in its own sandbox.

    with EmulatedBoard(heap="64K") as emulated:
        Board.open(emulated.port, hard_reset=emulated.press_reset)
    """

    def __init__(
        self, heap="192K", lifetime_s=900.0, state_dir=None, micropython=None, native_usb=False
    ):
        self.heap = heap
        self.native_usb = native_usb
        self.port_target = None  # the pty behind the link, to notice a re-enumeration
        self.lifetime_s = lifetime_s
        self.owns_state_dir = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="twinsock-board-")
        self.micropython = micropython
        self.process = None
        self.ready = None

    @property
    def port(self):
        return self.ready["port"]

    @property
    def flash_dir(self):
        return self.ready["flash"]

    @property
    def log_path(self):
        return os.path.join(self.state_dir, "supervisor.log")

    def start(self, timeout_s=READY_TIMEOUT_S):
        command = [sys.executable, "-m", "boards.unix.supervisor"]
        command += ["--link", os.path.join(self.state_dir, "tty")]
        command += ["--state-dir", self.state_dir, "--heap", self.heap]
        command += ["--lifetime", str(self.lifetime_s)]
        if self.micropython:
            command += ["--micropython", self.micropython]
        if self.native_usb:
            command.append("--native-usb")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log
            )
        self.ready = self.read_ready_line(timeout_s)
        self.port_target = os.path.realpath(self.port)
        return self

    def read_ready_line(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            readable, _, _ = select.select([self.process.stdout], [], [], max(0.0, remaining))
            if not readable:
                self.stop()
                raise BoardUnreachable("emulated board not ready in %.0f s" % timeout_s)
            chunk = os.read(self.process.stdout.fileno(), 1)
            if not chunk:
                why = self.log_tail(lines=1).replace("[board-supervisor] ", "")
                self.stop()
                raise BoardUnreachable("emulated board did not start: %s" % why)
            line += chunk
        return json.loads(line)

    def log_tail(self, lines=5):
        with open(self.log_path, errors="replace") as log:
            return " | ".join(log.read().strip().splitlines()[-lines:])

    def press_reset(self, timeout_s=READY_TIMEOUT_S):
        """The reset button: the supervisor kills and restarts the interpreter. Returns
        once it has (as a real reset is over when the line is released): what is sent
        after it goes to the new interpreter, never to the old one."""
        done = self.log_text().count(RESET_LOG_LINE)
        os.kill(self.process.pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout_s
        while self.log_text().count(RESET_LOG_LINE) == done:
            if time.monotonic() >= deadline:
                raise BoardUnreachable("emulated board did not reset in %.0f s" % timeout_s)
            time.sleep(0.02)  # the supervisor's log is a file: nothing to wait on

    def log_text(self):
        with open(self.log_path, errors="replace") as log:
            return log.read()

    def reopen_port(self, timeout_s=READY_TIMEOUT_S):
        """The port path once a new pty is behind it (after a --native-usb reset)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            target = os.path.realpath(self.port)
            if target != self.port_target and os.path.exists(target):
                self.port_target = target
                return self.port
            time.sleep(0.02)  # a symlink being replaced gives no event to wait on
        raise BoardUnreachable("emulated board's port did not come back")

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        self.process.stdout.close()
        self.process = None
        if self.owns_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
