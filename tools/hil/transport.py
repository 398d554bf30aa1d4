"""The serial path to a board: mpremote's own SerialTransport (pyserial, raw REPL and
raw-paste, exec, filesystem operations) used as a library, with the three things it
lacks for unattended runs:

  - a deadline on every read: mpremote's reads wait per character (10 s of silence)
    or forever (its direct ``serial.read(2)`` calls), and a timed-out read returns
    quietly; here every read ends by the deadline of the call it serves and raises
    ReadTimeout carrying what did arrive;
  - reboot watching: while a script runs, a boot banner (soft reboot, the MicroPython
    banner, an ESP32 reset or panic line) ends the wait at once with BoardRebooted;
  - the transcript: every byte the board sent, for the checks' reports.

A port that vanishes mid-conversation raises BoardLost (mpremote lets pyserial's
SerialException through).
"""

import contextlib
import re
import time

import serial
from mpremote.transport import TransportError  # noqa: F401 (the harness's name for it)
from mpremote.transport_serial import SerialTransport

from .errors import BoardLost, BoardRebooted, BoardUnreachable, ReadTimeout

POLL_S = 0.02  # pyserial read granularity: short, so deadlines are kept closely
WRITE_TIMEOUT_S = 5.0  # a board that stopped reading (flow control) must not block us
DEFAULT_READ_S = 10.0  # a read outside any bounded() call: mpremote's own per-read wait
# What a board prints when it (re)starts: a soft reboot, the MicroPython banner, an
# ESP32 ROM reset line or panic, the emulated board's crash note.
REBOOT_PATTERN = re.compile(
    rb"MPY: soft reboot|(?:^|\n)MicroPython \S+ on \d{4}-\d\d-\d\d; |"
    rb"\nrst:0x[0-9a-f]+ |Guru Meditation Error|Brownout detector was triggered|"
    rb"\[emulated board\] interpreter "
)
WATCH_TAIL = 96  # bytes of earlier output searched again: a banner may straddle reads


def watch_for_reboot(data):
    match = REBOOT_PATTERN.search(data)
    if match:
        raise BoardRebooted("board rebooted: %r" % match.group(0).strip(), data)


class Transcript:
    """The board's side of the serial conversation, with a mark per check so each gets
    its own slice. What we send is our own script, kept by the caller."""

    def __init__(self):
        self.data = bytearray()

    def mark(self):
        return len(self.data)

    def since(self, mark):
        return bytes(self.data[mark:])

    def record(self, data):
        self.data += data


class DeadlineSerial:
    """The pyserial port as SerialTransport calls it (read, inWaiting, write, dtr, rts),
    where a read waits until the transport's current deadline and no longer."""

    def __init__(self, transport, port):
        self.transport = transport
        self.port = port
        self.serial = transport.raw_serial
        self.pending = bytearray()  # given back by read_until: read but not consumed

    def take_in(self):
        """What arrives within one short poll (b"" if nothing), into the transcript."""
        try:
            data = self.serial.read(max(1, self.serial.in_waiting))
        except (serial.SerialException, OSError) as error:
            raise BoardLost("reading from %s failed: %s" % (self.port, error)) from error
        if data:
            self.transport.transcript.record(data)
        return data

    def read_some(self, deadline):
        """At least one byte, or ReadTimeout at the deadline."""
        if self.pending:
            data = bytes(self.pending)
            self.pending.clear()
            return data
        while True:
            data = self.take_in()
            if data:
                return data
            if time.monotonic() >= deadline:
                raise ReadTimeout("nothing from %s in time" % self.port)

    def read(self, count=1):
        deadline = self.transport.read_deadline()
        data = bytearray()
        while len(data) < count:
            try:
                data += self.read_some(deadline)
            except ReadTimeout:
                raise ReadTimeout("short read from %s" % self.port, bytes(data)) from None
        self.pending[:0] = data[count:]
        return bytes(data[:count])

    def inWaiting(self):  # noqa: N802 (pyserial's old name, as mpremote calls it)
        try:
            return len(self.pending) + self.serial.in_waiting
        except (serial.SerialException, OSError) as error:
            raise BoardLost("reading from %s failed: %s" % (self.port, error)) from error

    def write(self, data):
        try:
            self.serial.write(data)
            self.serial.flush()
        except (serial.SerialException, OSError) as error:
            raise BoardLost("writing to %s failed: %s" % (self.port, error)) from error
        return len(data)

    def close(self):
        self.serial.close()

    @property
    def dtr(self):
        return self.serial.dtr

    @dtr.setter
    def dtr(self, value):
        self.serial.dtr = value

    @property
    def rts(self):
        return self.serial.rts

    @rts.setter
    def rts(self, value):
        self.serial.rts = value


class HilTransport(SerialTransport):
    """mpremote's SerialTransport with deadlines, reboot watching and a transcript."""

    def __init__(self, port, transcript=None):
        self.transcript = transcript or Transcript()
        try:
            super().__init__(port, exclusive=True, timeout=POLL_S)
        except TransportError as error:  # mpremote drops the reason: ask pyserial for it
            raise BoardUnreachable(describe_open_failure(port, open_failure(port))) from error
        if "://" not in port:
            self.serial.write_timeout = WRITE_TIMEOUT_S  # rfc2217:// does not support it
        self.raw_serial = self.serial
        self.serial = DeadlineSerial(self, port)
        self.deadline = None
        self.watch = None

    @contextlib.contextmanager
    def bounded(self, timeout_s, watch=None):
        """Every read inside ends by now + timeout_s; watch(data) may raise earlier."""
        saved = self.deadline, self.watch
        self.deadline, self.watch = time.monotonic() + timeout_s, watch
        try:
            yield
        finally:
            self.deadline, self.watch = saved

    def read_deadline(self):
        return self.deadline or time.monotonic() + DEFAULT_READ_S

    def read_until(
        self, min_num_bytes, ending, timeout=10, data_consumer=None, timeout_overall=None
    ):
        """mpremote's read_until, ended by the deadline (ReadTimeout with what came)
        instead of returning short for the caller to notice."""
        deadline = self.read_deadline()
        data = b""
        while not data.endswith(ending):
            try:
                chunk = self.serial.read_some(deadline)
            except ReadTimeout:
                raise ReadTimeout(
                    "no %r from %s in time" % (ending, self.device_name), data
                ) from None
            start = len(data)
            data += chunk
            found = data.find(ending, max(0, start - len(ending) + 1))
            if found >= 0:  # give back what follows the ending
                end = found + len(ending)
                self.serial.pending[:0] = data[end:]
                data = data[:end]
            if self.watch is not None:
                self.watch(data[max(0, start - WATCH_TAIL) :])
            if data_consumer is not None:  # mpremote's rule: the ending is one byte
                data_consumer(data[start:])
                data = data[-1:]
        return data

    def interrupt(self, timeout_s):
        """Ctrl-C a running script and wait for the end of its output and the prompt
        (mpremote interrupts only on its way into the raw REPL, and drops the output)."""
        with self.bounded(timeout_s):
            self.serial.write(b"\x03")
            self.read_until(1, b"\x04>")

    def close(self):
        try:
            super().close()
        except (serial.SerialException, OSError):
            pass

    def pulse_reset_lines(self):
        """Classic ESP32 auto-reset circuit: EN low through RTS, IO0 high through DTR."""
        self.raw_serial.dtr = False
        self.raw_serial.rts = True
        time.sleep(0.1)  # EN must stay low long enough for the chip to see it
        self.raw_serial.rts = False


def open_failure(port):
    """The error pyserial gives opening port, or None if it opens now."""
    try:
        serial.serial_for_url(port, exclusive=True).close()
    except (serial.SerialException, OSError, ValueError) as error:
        return error
    return None


def describe_open_failure(port, error):
    text = str(error)
    if port.startswith("rfc2217://") and ("refused" in text or "timed out" in text):
        address = port[len("rfc2217://") :].split("?")[0].split("/")[0]
        return "cannot open %s: nothing answers at %s; is ser2net running on the bench?" % (
            port,
            address,
        )
    if "busy" in text.lower() or "lock" in text.lower():
        return "cannot open %s: is another program holding the port? (%s)" % (port, text)
    if "No such file" in text or "could not open port" in text:
        return "cannot open %s: no such port; is the board plugged in? (%s)" % (port, text)
    if "Permission denied" in text:
        return "cannot open %s: permission denied; is your user in the dialout group?" % port
    return "cannot open %s: %s" % (port, text)
