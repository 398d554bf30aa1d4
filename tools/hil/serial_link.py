"""The byte pipe to a board: a serial port (local path or pyserial URL such as
rfc2217://host:port) where every read has a deadline and every byte in either
direction is kept in a transcript."""

import time

import serial

from .errors import BoardLost, BoardUnreachable, ReadTimeout

POLL_S = 0.02  # pyserial read granularity: short, so deadlines are kept closely
WRITE_TIMEOUT_S = 5.0  # a board that stopped reading (flow control) must not block us


class Transcript:
    """The full serial conversation, with a mark per check so each gets its own slice."""

    def __init__(self):
        self.data = bytearray()

    def mark(self):
        return len(self.data)

    def since(self, mark):
        return bytes(self.data[mark:])

    def record(self, direction, data):
        # Only what the board sent is shown; what we sent is echoed by a friendly
        # REPL anyway, and raw REPL input is our own script (kept by the caller).
        if direction == "in":
            self.data += data


class SerialLink:
    def __init__(self, port, baudrate=115200, transcript=None):
        self.port = port
        self.transcript = transcript or Transcript()
        self.pending = bytearray()  # read from the port but not yet consumed
        options = {"baudrate": baudrate, "timeout": POLL_S, "exclusive": True}
        if "://" not in port:
            options["write_timeout"] = WRITE_TIMEOUT_S  # rfc2217:// does not support it
        try:
            self.serial = serial.serial_for_url(port, **options)
        except (serial.SerialException, OSError, ValueError) as error:
            raise BoardUnreachable(describe_open_failure(port, error)) from error

    def close(self):
        try:
            self.serial.close()
        except (serial.SerialException, OSError):
            pass

    def write(self, data):
        try:
            self.serial.write(data)
            self.serial.flush()
        except (serial.SerialException, OSError) as error:
            raise BoardLost("writing to %s failed: %s" % (self.port, error)) from error

    def read_available(self):
        """Whatever arrives within one short poll (b"" if nothing)."""
        try:
            waiting = self.serial.in_waiting
            data = self.serial.read(max(1, waiting))
        except (serial.SerialException, OSError) as error:
            raise BoardLost("reading from %s failed: %s" % (self.port, error)) from error
        if data:
            self.transcript.record("in", data)
            self.pending += data
        return data

    def read_waiting(self):
        """Take in what has already arrived, without waiting."""
        try:
            waiting = self.serial.in_waiting
        except (serial.SerialException, OSError) as error:
            raise BoardLost("reading from %s failed: %s" % (self.port, error)) from error
        if waiting:
            self.read_available()

    def read_until(self, marker, deadline, watch=None):
        """Consume and return everything up to and including marker.

        deadline is a time.monotonic() value; watch(buffer) may raise to abort early
        (used to spot a reboot banner while waiting for a script to end).
        """
        while True:
            found = self.pending.find(marker)
            if found >= 0:
                end = found + len(marker)
                data = bytes(self.pending[:end])
                del self.pending[:end]
                return data
            if watch is not None:
                watch(bytes(self.pending))
            if time.monotonic() >= deadline:
                received = bytes(self.pending)
                raise ReadTimeout("no %r from %s in time" % (marker, self.port), received)
            self.read_available()

    def read_exactly(self, count, deadline):
        while len(self.pending) < count:
            if time.monotonic() >= deadline:
                raise ReadTimeout("short read from %s" % self.port, bytes(self.pending))
            self.read_available()
        data = bytes(self.pending[:count])
        del self.pending[:count]
        return data

    def discard_input(self, quiet_s=0.05, limit_s=1.0):
        """Drop whatever the board is still sending, until it is quiet for quiet_s."""
        end = time.monotonic() + limit_s
        quiet_since = time.monotonic()
        while time.monotonic() < end:
            if self.read_available():
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_s:
                break
        self.pending.clear()

    def pulse_reset_lines(self):
        """Classic ESP32 auto-reset circuit: EN low through RTS, IO0 high through DTR."""
        self.serial.dtr = False
        self.serial.rts = True
        time.sleep(0.1)  # EN must stay low long enough for the chip to see it
        self.serial.rts = False


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
