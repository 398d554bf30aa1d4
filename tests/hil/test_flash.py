"""Flashing: the parts that need no hardware (offsets per chip, refusals)."""

import pytest

from tools.hil.errors import FlashError
from tools.hil.flash import esptool_command, flash


@pytest.mark.parametrize(
    "chip, offset",
    [
        ("esp32", "0x1000"),
        ("esp32s2", "0x1000"),
        ("esp32s3", "0x0"),
        ("esp32c3", "0x0"),
        ("esp32c6", "0x0"),
        ("esp32c5", "0x2000"),
        ("esp32p4", "0x2000"),
    ],
)
def test_esptool_writes_at_the_chip_offset(chip, offset):
    command = esptool_command("/dev/ttyUSB0", "fw.bin", chip)
    assert command[1:] == [
        "--chip",
        chip,
        "--port",
        "/dev/ttyUSB0",
        "write-flash",
        offset,
        "fw.bin",
    ]


def test_unknown_chip_is_refused():
    with pytest.raises(FlashError, match="unknown ESP32 chip"):
        esptool_command("/dev/ttyUSB0", "fw.bin", "esp8266")


def test_missing_firmware_is_refused(tmp_path):
    with pytest.raises(FlashError, match="no firmware file"):
        flash("esp32", "/dev/ttyUSB0", str(tmp_path / "none.bin"))
