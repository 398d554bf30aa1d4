"""MicroPython's raw REPL protocol (the one mpremote and pyboard.py speak), with a
deadline on every wait and a watch for reboot banners while a script runs.

    Ctrl-A           -> "raw REPL; CTRL-B to exit\\r\\n>"
    Ctrl-E 'A' Ctrl-A -> raw-paste mode: "R\\x01" + window size, flow-controlled upload
    script, Ctrl-D   -> ["OK"] stdout "\\x04" stderr "\\x04" ">"
    Ctrl-D at ">"    -> soft reset: "OK\\r\\nMPY: soft reboot\\r\\n" ... "raw REPL; ..."
"""

import re
import struct
import time

from .errors import BoardRebooted, ReadTimeout

CTRL_A, CTRL_B, CTRL_C, CTRL_D, CTRL_E = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"
RAW_REPL_BANNER = b"raw REPL; CTRL-B to exit\r\n"
SOFT_REBOOT = b"soft reboot\r\n"
# What a board prints when it (re)starts: a soft reboot, the MicroPython banner, an
# ESP32 ROM reset line or panic, the emulated board's crash note.
REBOOT_PATTERN = re.compile(
    rb"MPY: soft reboot|(?:^|\n)MicroPython \S+ on \d{4}-\d\d-\d\d; |"
    rb"\nrst:0x[0-9a-f]+ |Guru Meditation Error|Brownout detector was triggered|"
    rb"\[emulated board\] interpreter "
)
PLAIN_RAW_CHUNK = 256  # without raw-paste flow control, small writes keep UARTs happy


def watch_for_reboot(buffer):
    match = REBOOT_PATTERN.search(buffer)
    if match:
        raise BoardRebooted("board rebooted: %r" % match.group(0).strip(), buffer)


class ScriptOutput:
    def __init__(self, stdout, stderr):
        self.stdout = stdout
        self.stderr = stderr


class RawRepl:
    def __init__(self, link):
        self.link = link
        self.raw_paste = True  # until the board says it lacks it

    def enter(self, timeout_s=5.0):
        """Interrupt whatever runs and get a fresh raw REPL prompt."""
        # One Ctrl-C: on the unix port a second SIGINT before the first is handled
        # kills the interpreter.
        self.link.write(b"\r" + CTRL_C)
        self.link.discard_input()
        self.link.write(b"\r" + CTRL_A)
        self.link.read_until(RAW_REPL_BANNER + b">", time.monotonic() + timeout_s)

    def leave(self):
        self.link.write(b"\r" + CTRL_B)

    def soft_reset(self, timeout_s=10.0):
        """Ctrl-D at the raw prompt: the board restarts and comes back in raw REPL."""
        deadline = time.monotonic() + timeout_s
        self.link.write(CTRL_D)
        self.link.read_until(SOFT_REBOOT, deadline)
        self.link.read_until(RAW_REPL_BANNER + b">", deadline)

    def interrupt(self, timeout_s=2.0):
        """Ctrl-C a running script and wait for its end frames and the prompt."""
        deadline = time.monotonic() + timeout_s
        self.link.write(CTRL_C)
        # the end of the stderr frame, wherever in the output the deadline struck
        self.link.read_until(CTRL_D + b">", deadline)

    def execute(self, script, timeout_s):
        """Run script (bytes) at the raw prompt; return its stdout and stderr.

        Raises ReadTimeout when it has not finished by timeout_s, BoardRebooted when a
        boot banner shows up instead of the end of the output.
        """
        deadline = time.monotonic() + timeout_s
        self.upload(script, deadline)
        stdout = self.link.read_until(CTRL_D, deadline, watch=watch_for_reboot)[:-1]
        stderr = self.link.read_until(CTRL_D + b">", deadline, watch=watch_for_reboot)[:-2]
        return ScriptOutput(stdout, stderr)

    def upload(self, script, deadline):
        if self.raw_paste:
            self.link.write(CTRL_E + b"A" + CTRL_A)
            answer = self.link.read_exactly(2, deadline)
            if answer == b"R\x01":
                self.upload_raw_paste(script, deadline)
                return
            self.raw_paste = False
            if answer != b"R\x00":  # a board too old to know raw-paste echoes the bytes
                self.link.read_until(RAW_REPL_BANNER + b">", deadline)
        for start in range(0, len(script), PLAIN_RAW_CHUNK):
            self.link.write(script[start : start + PLAIN_RAW_CHUNK])
        self.link.write(CTRL_D)
        answer = self.link.read_exactly(2, deadline)
        if answer != b"OK":
            raise ReadTimeout("board did not accept the script: %r" % answer, answer)

    def upload_raw_paste(self, script, deadline):
        window = struct.unpack("<H", self.link.read_exactly(2, deadline))[0]
        credit = window
        sent = 0
        while sent < len(script):
            self.link.read_waiting()  # flow-control bytes the board has already sent
            while credit == 0 or self.link.pending:
                signal = self.link.read_exactly(1, deadline)
                if signal == CTRL_A:
                    credit += window
                elif signal == CTRL_D:  # the board gave up (its error comes as output)
                    self.link.write(CTRL_D)
                    return
                else:
                    raise ReadTimeout("unexpected %r during raw-paste upload" % signal, signal)
            chunk = script[sent : sent + credit]
            self.link.write(chunk)
            sent += len(chunk)
            credit -= len(chunk)
        self.link.write(CTRL_D)
        self.link.read_until(CTRL_D, deadline)  # the board's end-of-data acknowledgement
