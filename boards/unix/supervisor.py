"""The emulated board: the MicroPython unix interpreter behind a pseudo-terminal.

    python -m boards.unix.supervisor --link /tmp/board.tty --state-dir /tmp/board

prints one JSON ready line ({"event": "ready", "port": ..., ...}) and then serves the
pty at --link until told to stop (SIGTERM/SIGINT), until --lifetime runs out, or until
its parent process goes away. Stock `mpremote connect <link>` works against it.

What it adds so that the interpreter behaves like a board on a serial line:
  - soft reset: Ctrl-D ends the unix interpreter, so it is restarted and
    "MPY: soft reboot" is printed; a board in raw REPL comes back in raw REPL;
  - Ctrl-C: in raw mode the unix port does not read 0x03 while a script runs, so the
    byte becomes SIGINT whenever the interpreter has its SIGINT handler installed
    (that is exactly "a script is running with KeyboardInterrupt enabled");
  - crashes: if the interpreter dies it is restarted like a board after a hard fault;
  - reset button: SIGUSR1 kills and restarts the interpreter (a hard reset);
  - with --native-usb, a crash or hard reset also replaces the pty behind --link, as a
    native-USB board drops off the bus and re-enumerates;
  - a sandbox (sandbox.py): its own root filesystem, never the host's;
  - a heap like a Pico W (-X heapsize=192K by default).
The byte stream is never rewritten: mpremote's mount frames are binary.
"""

import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import tty

from .sandbox import die_with_parent

HERE = os.path.dirname(os.path.abspath(__file__))
SOFT_REBOOT_BANNER = b"MPY: soft reboot\r\n"
RAW_REPL_BANNER = b"raw REPL; CTRL-B to exit\r\n"
FRIENDLY_BANNER_END = b'Type "help()" for more information.'
CTRL_A, CTRL_C = b"\x01", 0x03
RESTART_TIMEOUT_S = 10  # a new interpreter must reach its prompt within this
CRASH_LOOP_LIMIT = 10  # crashes within CRASH_LOOP_WINDOW_S: stop, something is broken
CRASH_LOOP_WINDOW_S = 5.0
# Bytes held for a side that is not reading. Beyond this the supervisor stops reading
# from the other side: backpressure, like USB CDC, never silently dropped bytes.
BUFFER_LIMIT = 64 * 1024
CHUNK = 4096
SIGINT_BIT = 1 << (signal.SIGINT - 1)
# What name resolution and the dynamic loader read
ETC_FILES = (
    "hosts",
    "host.conf",
    "nsswitch.conf",
    "resolv.conf",
    "gai.conf",
    "services",
    "protocols",
    "ld.so.cache",
    "ld.so.conf",
    "passwd",
    "group",
)


def log(message):
    sys.stderr.write("[board-supervisor] %s\n" % message)
    sys.stderr.flush()


def interpreter_catches_sigint(pid):
    """True while the interpreter runs a script with Ctrl-C enabled.

    The unix port installs its SIGINT handler only around script execution (and
    removes it for micropython.kbd_intr(-1)); at the prompt SIGINT would kill it.
    """
    try:
        with open("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & SIGINT_BIT)
    except OSError:
        pass
    return False


def sandbox_host_paths(micropython):
    """Host paths the interpreter needs to start, made visible read-only in the sandbox."""
    paths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"]
    paths += ["/etc/" + name for name in ETC_FILES]  # not all of /etc: no shadow, no keys
    real = os.path.realpath(micropython)
    paths.append(os.path.dirname(os.path.dirname(real)))  # its install prefix (a venv)
    with open(real, "rb") as program:
        first_line = program.readline(256)
    if first_line.startswith(b"#!"):
        # a Python entry-point script (PyPI build): also the interpreter's own prefix
        interpreter = first_line[2:].split()[0].decode()
        paths.append(os.path.dirname(os.path.dirname(interpreter)))
        paths.append(os.path.dirname(os.path.dirname(os.path.realpath(interpreter))))
    return paths


def heap_with_rom(heap, flash_dir):
    """The unix port holds the stand-in ROM partition's image (/.romfs.img, mounted
    at /rom by boot.py) in its heap, where a board keeps it in flash: add its size."""
    try:
        size = os.path.getsize(os.path.join(flash_dir, ".romfs.img"))
    except OSError:
        return heap
    return "%dK" % (int(heap.rstrip("Kk")) + -(-size // 1024)) if heap[-1] in "Kk" else heap


def default_micropython():
    """`micropython` on PATH, else the one installed next to this Python (the venv)."""
    beside_python = os.path.join(os.path.dirname(sys.executable), "micropython")
    return shutil.which("micropython") or beside_python


def start_failure(description, output):
    """One line on why the first interpreter did not start."""
    text = output.decode(errors="replace").replace("\r", "").strip()
    if "unshare" in text and ("not permitted" in text or "Invalid argument" in text):
        return (
            "the emulated board's sandbox needs a private mount namespace, which this host "
            "refuses: enable unprivileged user namespaces (sysctl "
            "kernel.unprivileged_userns_clone=1 and user.max_user_namespaces=10000; on "
            "Ubuntu also kernel.apparmor_restrict_unprivileged_userns=0) or run it as root "
            "with CAP_SYS_ADMIN"
        )
    last = text.splitlines()[-1] if text else "no output"
    return "the sandboxed interpreter did not start (%s): %s" % (description, last)


class Interpreter:
    """One run of the MicroPython process, attached to its own pty."""

    def __init__(self, command):
        self.master, slave = os.openpty()
        tty.setraw(slave)  # no output translation: print() gives "\n", like the port
        supervisor = os.getpid()
        self.process = subprocess.Popen(
            command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=lambda: die_with_parent(supervisor),  # sandbox.py sets it again
        )
        os.close(slave)
        os.set_blocking(self.master, False)
        self.sigint_sent_at = None

    def interrupt(self):
        self.sigint_sent_at = time.monotonic()
        os.kill(self.pid, signal.SIGINT)

    def died_of_our_sigint(self):
        """SIGINT raced the end of the script: it arrived after the handler was gone."""
        recent = self.sigint_sent_at is not None and time.monotonic() - self.sigint_sent_at < 1
        return recent and self.process.returncode == -signal.SIGINT

    @property
    def pid(self):
        return self.process.pid

    def stop(self, grace_s=0.0):
        try:
            self.process.wait(timeout=grace_s)  # let an exiting process say how it ended
        except subprocess.TimeoutExpired:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log("interpreter %d did not die" % self.pid)
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def exit_description(self):
        code = self.process.poll()
        if code is None:
            return "running"
        if code < 0:
            return "killed by %s" % signal.Signals(-code).name
        return "exit status %d" % code


class Supervisor:
    def __init__(self, args):
        self.args = args
        self.state_dir = os.path.abspath(args.state_dir)
        self.flash_dir = os.path.join(self.state_dir, "flash")
        self.root_dir = os.path.join(self.state_dir, "root")
        os.makedirs(self.flash_dir, exist_ok=True)
        os.makedirs(self.root_dir, exist_ok=True)
        self.link = os.path.abspath(args.link)
        self.client_master = self.client_slave = None
        self.plug_in()
        self.interpreter = None
        self.raw_mode = False  # which REPL the client last saw: restored on soft reset
        self.recent_output = b""
        self.swallow_until = None  # while restarting into raw REPL: hide the new banner
        self.pending_input = b""
        self.to_client = bytearray()
        self.to_interpreter = bytearray()
        self.restart_deadline = None
        self.crash_times = []
        self.ready_announced = False
        self.first_output = bytearray()
        self.reset_requested = False
        self.stop_requested = False
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_write, False)

    def plug_in(self):
        """A fresh pty for the client, published at the link."""
        self.client_master, self.client_slave = os.openpty()
        tty.setraw(self.client_slave)  # kept open: no EIO when mpremote disconnects
        os.set_blocking(self.client_master, False)
        if os.path.lexists(self.link):
            os.unlink(self.link)
        os.symlink(os.ttyname(self.client_slave), self.link)

    def unplug(self):
        """The client's port goes away: its reads fail, like a USB device vanishing."""
        if os.path.lexists(self.link):
            os.unlink(self.link)
        if self.client_master is not None:
            os.close(self.client_master)
            os.close(self.client_slave)
            self.client_master = self.client_slave = None
        self.to_client.clear()
        self.pending_input = b""

    def reenumerate(self):
        # A native-USB board (Pico W, ESP32-S3) drops off USB when it resets
        if self.args.native_usb:
            self.unplug()
            self.plug_in()

    def interpreter_command(self):
        micropython = self.args.micropython
        command = [micropython, "-X", "heapsize=%s" % heap_with_rom(self.args.heap, self.flash_dir)]
        unshare = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            unshare.append("--map-root-user")
        sandbox = [sys.executable, os.path.join(HERE, "sandbox.py")]
        sandbox += ["--root", self.root_dir, "--flash", self.flash_dir]
        sandbox += ["--boot", os.path.join(HERE, "boot.py"), "--parent-pid", str(os.getpid())]
        for path in sandbox_host_paths(micropython):
            sandbox += ["--host-path", path]
        return unshare + sandbox + ["--"] + command + ["-i", "/boot/boot.py"]

    # -- lifecycle ------------------------------------------------------------------

    def count_crash(self):
        now = time.monotonic()
        self.crash_times = [t for t in self.crash_times if now - t < CRASH_LOOP_WINDOW_S]
        self.crash_times.append(now)
        if len(self.crash_times) > CRASH_LOOP_LIMIT:
            raise RuntimeError("interpreter keeps crashing; giving up")

    def start_interpreter(self, into_raw_repl):
        now = time.monotonic()
        self.interpreter = Interpreter(self.interpreter_command())
        self.restart_deadline = now + RESTART_TIMEOUT_S
        # Hide the fresh interpreter's friendly banner when the board is to come back in
        # raw REPL, as a board in raw REPL does after Ctrl-D.
        self.swallow_until = FRIENDLY_BANNER_END if into_raw_repl else None
        self.raw_mode = False
        self.recent_output = b""
        log("interpreter started, pid %d" % self.interpreter.pid)

    def restart(self):
        old = self.interpreter
        old.stop(grace_s=1.0)  # it closed its terminal: it is exiting
        description = old.exit_description()
        if not self.ready_announced:
            raise RuntimeError(start_failure(description, bytes(self.first_output)))
        self.to_interpreter.clear()  # meant for the process that is gone
        if self.reset_requested:
            self.reset_requested = False
            log("reset button: hard reset")
            self.reenumerate()
            self.start_interpreter(into_raw_repl=False)
        elif old.died_of_our_sigint():
            # on a board that Ctrl-C would have met the prompt: come back the same way
            log("Ctrl-C arrived as the script ended; restarted quietly")
            self.start_interpreter(into_raw_repl=self.raw_mode)
        elif old.process.returncode == 0:
            # Ctrl-D (or SystemExit) ended it: that is a soft reset on a board
            self.send_to_client(SOFT_REBOOT_BANNER)
            self.start_interpreter(into_raw_repl=self.raw_mode)
        else:
            self.send_to_client(b"\r\n[emulated board] interpreter %s\r\n" % description.encode())
            log("interpreter %s: hard reset" % description)
            self.count_crash()
            self.reenumerate()
            self.start_interpreter(into_raw_repl=False)

    def request_stop(self, signum, frame):
        self.stop_requested = True
        os.write(self.wake_write, b"s")

    def request_reset(self, signum, frame):
        self.reset_requested = True
        os.write(self.wake_write, b"r")

    # -- byte pumps -----------------------------------------------------------------

    def send_to_client(self, data):
        self.to_client += data

    def from_client(self, data):
        if self.swallow_until is not None or self.restart_deadline is not None:
            self.pending_input += data  # the board is rebooting: deliver when it is up
            return
        self.deliver_input(data)

    def deliver_input(self, data):
        # Ctrl-C acts at once (it must overtake input the script is not reading)
        for byte in data:
            if byte == CTRL_C and interpreter_catches_sigint(self.interpreter.pid):
                self.interpreter.interrupt()
            else:
                self.to_interpreter.append(byte)

    def flush(self, fd, buffer):
        try:
            written = os.write(fd, buffer[:CHUNK])
        except BlockingIOError:
            return
        except OSError as error:
            # the interpreter died just now; the main loop sees EIO and restarts it
            log("write failed: %s" % error)
            written = len(buffer)
        del buffer[:written]

    def from_interpreter(self, data):
        if not self.ready_announced and len(self.first_output) < 4096:
            self.first_output += data  # kept to explain a failed start
        if self.swallow_until is not None:
            self.recent_output += data
            if (
                self.swallow_until == FRIENDLY_BANNER_END
                and FRIENDLY_BANNER_END in self.recent_output
            ):
                self.to_interpreter += CTRL_A
                self.swallow_until = RAW_REPL_BANNER
                self.recent_output = b""
                return
            found = self.recent_output.find(RAW_REPL_BANNER)
            if self.swallow_until == RAW_REPL_BANNER and found >= 0:
                self.swallow_until = None
                data = self.recent_output[found:]
            else:
                return
        self.note_prompts(data)
        self.send_to_client(data)

    def announce_ready(self):
        """The one JSON line on stdout, once the first interpreter (and so the sandbox)
        is up: whoever started the board waits for it."""
        self.ready_announced = True
        ready = {
            "event": "ready",
            "port": self.link,
            "pid": os.getpid(),
            "flash": self.flash_dir,
            "heap": self.args.heap,
        }
        print(json.dumps(ready), flush=True)

    def note_prompts(self, data):
        window = self.recent_output[-64:] + data
        self.recent_output = window
        raw_at = window.rfind(RAW_REPL_BANNER)
        friendly_at = window.rfind(FRIENDLY_BANNER_END)  # not ">>> ": scripts print that
        if raw_at >= 0 or friendly_at >= 0:
            self.raw_mode = raw_at > friendly_at
            if self.restart_deadline is not None:
                self.restart_deadline = None  # the new interpreter is up
                if not self.ready_announced:
                    self.announce_ready()
                pending, self.pending_input = self.pending_input, b""
                if pending:
                    self.deliver_input(pending)

    # -- main loop ------------------------------------------------------------------

    def serve(self):
        end_of_life = time.monotonic() + self.args.lifetime
        parent = os.getppid()
        self.start_interpreter(into_raw_repl=False)
        while not self.stop_requested:
            now = time.monotonic()
            if now >= end_of_life:
                log("lifetime over")
                break
            if os.getppid() != parent:
                log("parent went away")
                break
            if self.restart_deadline is not None and now >= self.restart_deadline:
                log("interpreter did not reach its prompt in time")
                self.interpreter.process.kill()
            interpreter = self.interpreter.master
            readers = [self.wake_read]
            if len(self.to_client) < BUFFER_LIMIT:
                readers.append(interpreter)
            if len(self.to_interpreter) < BUFFER_LIMIT:
                readers.append(self.client_master)
            writers = [self.client_master] if self.to_client else []
            if self.to_interpreter:
                writers.append(interpreter)
            ready, writable, _ = select.select(readers, writers, [], 0.5)
            if self.client_master in writable:
                self.flush(self.client_master, self.to_client)
            if interpreter in writable:
                self.flush(interpreter, self.to_interpreter)
            if self.wake_read in ready:
                os.read(self.wake_read, 64)
                if self.reset_requested:
                    self.interpreter.process.kill()
            if self.interpreter.master in ready:
                try:
                    data = os.read(self.interpreter.master, 4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""  # EIO: the interpreter closed its terminal, it is gone
                if data:
                    self.from_interpreter(data)
                else:
                    self.restart()
                    continue
            if self.client_master in ready:
                try:
                    self.from_client(os.read(self.client_master, 4096))
                except BlockingIOError:
                    pass

    def shutdown(self):
        if self.interpreter is not None:
            self.interpreter.stop()
            self.interpreter = None
        self.unplug()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--link", required=True, help="symlink to create, pointing at the pty")
    parser.add_argument("--state-dir", required=True, help="holds the board's flash directory")
    parser.add_argument("--heap", default="192K", help="MicroPython heap (192K: a Pico W)")
    parser.add_argument("--lifetime", type=float, default=3600.0, help="seconds, then exit")
    parser.add_argument("--micropython", default=default_micropython())
    parser.add_argument(
        "--native-usb",
        action="store_true",
        help="on a crash or hard reset the port vanishes and a new one appears at --link, "
        "like a native-USB board re-enumerating",
    )
    args = parser.parse_args(argv)
    args.micropython = os.path.abspath(args.micropython)
    supervisor = Supervisor(args)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGUSR1, supervisor.request_reset)
    try:
        supervisor.serve()
    except RuntimeError as error:
        log(str(error))
        return 3
    finally:
        supervisor.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
