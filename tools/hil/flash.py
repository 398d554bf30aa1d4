"""Writing MicroPython firmware: esptool for ESP32 chips, UF2 copy for the RP2040."""

import glob
import os
import shutil
import subprocess
import sys
import time

from . import board_kinds, discovery
from .board import Board
from .errors import BoardLost, BoardUnreachable, FlashError, HilError

ESPTOOL_TIMEOUT_S = 180
BOOTSEL_TIMEOUT_S = 20
REBOOT_TIMEOUT_S = 30
# Where desktops mount the RPI-RP2 drive
UF2_DRIVE_PATTERNS = (
    "/media/*/RPI-RP2",
    "/run/media/*/RPI-RP2",
    "/media/RPI-RP2",
    "/Volumes/RPI-RP2",
)


def esp32_offset(chip):
    offsets = board_kinds.description("esp32")["flash"]["offsets"]
    if chip not in offsets:
        raise FlashError("unknown ESP32 chip %r: one of %s" % (chip, ", ".join(sorted(offsets))))
    return offsets[chip]


def esptool_command(port, firmware, chip):
    esptool = shutil.which("esptool") or os.path.join(os.path.dirname(sys.executable), "esptool")
    return [esptool, "--chip", chip, "--port", port, "write-flash", esp32_offset(chip), firmware]


def flash_esp32(port, firmware, chip):
    command = esptool_command(discovery.resolve_port(port), firmware, chip)
    try:
        result = subprocess.run(command, timeout=ESPTOOL_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise FlashError("esptool did not finish in %d s" % ESPTOOL_TIMEOUT_S) from error
    if result.returncode != 0:
        raise FlashError("esptool failed (exit %d): %s" % (result.returncode, " ".join(command)))


def find_uf2_drive():
    for pattern in UF2_DRIVE_PATTERNS:
        for path in glob.glob(pattern):
            if os.path.exists(os.path.join(path, "INFO_UF2.TXT")):
                return path
    return None


def wait_for_uf2_drive(timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        drive = find_uf2_drive()
        if drive:
            return drive
        time.sleep(0.25)  # the drive appears when the desktop mounts it: nothing to wait on
    raise FlashError("no RPI-RP2 drive appeared in %d s (is it auto-mounted?)" % timeout_s)


def serial_number_of(port):
    device = discovery.resolve_port(port)
    for found in discovery.attached_boards():
        if found.device == device:
            return found.serial_number
    return None


def flash_rp2040(port, firmware):
    serial_number = port[3:] if port.startswith("id:") else serial_number_of(port)
    if find_uf2_drive() is None:
        board = Board.open(discovery.resolve_port(port), "rp2040")
        try:
            # the board drops off USB at once: no reply will come
            board.run("import machine\nmachine.bootloader()", timeout_s=2.0)
        except (BoardLost, HilError):
            pass
        finally:
            board.transport.close()
    drive = wait_for_uf2_drive(BOOTSEL_TIMEOUT_S)
    shutil.copyfile(firmware, os.path.join(drive, os.path.basename(firmware)))
    if serial_number is None:
        return None
    try:
        return discovery.wait_for_serial_number(serial_number, REBOOT_TIMEOUT_S, kinds=("rp2040",))
    except BoardUnreachable as error:
        raise FlashError(str(error)) from error


def flash(kind, port, firmware, chip=None):
    if not os.path.isfile(firmware):
        raise FlashError("no firmware file %s" % firmware)
    if kind == "esp32":
        flash_esp32(
            port, firmware, chip or board_kinds.description("esp32")["flash"]["default_chip"]
        )
    elif kind == "rp2040":
        flash_rp2040(port, firmware)
    else:
        raise FlashError(
            "board %s is not flashed (the emulated board runs the venv's micropython)" % kind
        )
