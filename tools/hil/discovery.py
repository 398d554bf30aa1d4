"""Which boards are plugged in: serial ports by USB VID:PID and serial number.

A board is pinned by its USB serial number (`id:<serial>`), never by /dev/ttyACMn,
which changes whenever a native-USB board re-enumerates."""

import time

import serial.tools.list_ports

from .errors import BoardUnreachable

# (vid, pid or None for any) -> (board kind, what it is)
USB_IDS = {
    (0x2E8A, 0x0005): ("rp2040", "MicroPython rp2 (Pico W)"),
    (0x2E8A, 0x0003): ("rp2040-bootsel", "RP2040 BOOTSEL mass storage"),
    (0x303A, 0x1001): ("esp32", "ESP32 USB-serial/JTAG"),
    (0x10C4, 0xEA60): ("esp32", "CP210x USB-UART (ESP32 dev board)"),
    (0x1A86, 0x7523): ("esp32", "CH340 USB-UART (ESP32 dev board)"),
    (0x1A86, 0x55D4): ("esp32", "CH9102 USB-UART (ESP32 dev board)"),
    (0x0403, 0x6001): ("esp32", "FTDI USB-UART (ESP32 dev board)"),
}
ESPRESSIF_VID = 0x303A


def identify(vid, pid):
    """(kind, description) for a USB id, or None for something that is not a board."""
    if vid is None:
        return None
    if (vid, pid) in USB_IDS:
        return USB_IDS[(vid, pid)]
    if vid == ESPRESSIF_VID and pid & 0xF000 == 0x4000:
        return ("esp32", "ESP32 native USB (TinyUSB CDC)")
    return None


class FoundBoard:
    def __init__(self, device, kind, description, vid, pid, serial_number, location):
        self.device = device
        self.kind = kind
        self.description = description
        self.vid = vid
        self.pid = pid
        self.serial_number = serial_number
        self.location = location

    @property
    def usb_id(self):
        return "%04X:%04X" % (self.vid, self.pid)

    @property
    def pin(self):
        """How to name this board in --port so that it survives re-enumeration."""
        if self.serial_number:
            return "id:%s" % self.serial_number
        if self.location:  # bridges without a serial number: the USB port they sit in
            return "loc:%s" % self.location
        return self.device


def attached_boards():
    boards = []
    for port in serial.tools.list_ports.comports():
        known = identify(port.vid, port.pid)
        if known:
            kind, description = known
            boards.append(
                FoundBoard(
                    port.device,
                    kind,
                    description,
                    port.vid,
                    port.pid,
                    port.serial_number,
                    port.location,
                )
            )
    return sorted(boards, key=lambda board: board.device)


def resolve_port(port):
    """A port argument as pyserial opens it: `id:<serial>` and `loc:<USB location>`
    become today's device path."""
    if port.startswith("loc:"):
        for board in attached_boards():
            if board.location == port[4:]:
                return board.device
        raise BoardUnreachable("no attached board at USB location %s (see `list`)" % port[4:])
    if not port.startswith("id:"):
        return port
    wanted = port[3:]
    for board in attached_boards():
        if board.serial_number == wanted:
            return board.device
    raise BoardUnreachable("no attached board has USB serial number %s (see `list`)" % wanted)


def reopener(port, timeout_s=15.0):
    """For a USB board: a callable that waits for it to come back and gives its port."""
    if port.startswith("loc:"):
        return lambda: wait_for_port(port, timeout_s)
    if port.startswith("id:"):
        serial_number = port[3:]
    else:
        found = [board for board in attached_boards() if board.device == port]
        serial_number = found[0].serial_number if found else None
    if not serial_number:
        return None
    return lambda: wait_for_serial_number(serial_number, timeout_s).device


def wait_for_serial_number(serial_number, timeout_s, kinds=None):
    """Poll until a board with this serial number is back (after a reset or flash)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for board in attached_boards():
            if board.serial_number == serial_number and (kinds is None or board.kind in kinds):
                return board
        time.sleep(0.25)  # USB enumeration has no event we can wait on portably
    raise BoardUnreachable("board %s did not come back in %.0f s" % (serial_number, timeout_s))


def wait_for_port(port, timeout_s):
    """Poll until `port` (id:/loc:) names an attached board again; its device path."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return resolve_port(port)
        except BoardUnreachable:
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.25)  # USB enumeration has no event we can wait on portably


def format_table(boards):
    if not boards:
        return "no boards found (looked for: %s)" % ", ".join("%04X:%04X" % ids for ids in USB_IDS)
    row = "%-16s %-9s %-15s %-22s %-10s %s"
    lines = [row % ("PORT", "USB ID", "KIND", "SERIAL", "LOCATION", "WHAT")]
    for board in boards:
        lines.append(
            row
            % (
                board.device,
                board.usb_id,
                board.kind,
                board.serial_number,
                board.location,
                board.description,
            )
        )
    return "\n".join(lines)
