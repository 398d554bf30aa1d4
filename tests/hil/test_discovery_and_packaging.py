"""Board discovery's USB id table, and the files derived from the one file list."""

import os

import pytest

from tools.hil import discovery, packaging
from tools.hil.filelist import board_files, packages


def test_usb_ids_name_the_board_kind():
    assert discovery.identify(0x2E8A, 0x0005)[0] == "rp2040"
    assert discovery.identify(0x2E8A, 0x0003)[0] == "rp2040-bootsel"
    assert discovery.identify(0x303A, 0x4001)[0] == "esp32"  # native USB, any 4xxx
    assert discovery.identify(0x303A, 0x1001)[0] == "esp32"
    assert discovery.identify(0x10C4, 0xEA60)[0] == "esp32"
    assert discovery.identify(0x1234, 0x5678) is None
    assert discovery.identify(None, None) is None


def test_list_never_fails_without_boards():
    assert "PORT" in discovery.format_table([]) or "no boards" in discovery.format_table([])


def test_freeze_manifests_are_current():
    files = board_files()
    for board_name in packaging.MANIFEST_BOARDS:
        path = packaging.manifest_path(board_name)
        with open(path) as manifest:
            assert manifest.read() == packaging.render_manifest(files, os.path.dirname(path)), (
                "run `python -m tools.hil package`"
            )


def test_package_json_lists_every_board_file():
    files = board_files()
    rendered = packaging.render_package_json(files)
    for board_file in files:
        assert '"%s/%s"' % (board_file.root, board_file.relative) in rendered
    assert {name for _, name in packages(files)} >= {"twinsock"}


def test_committed_package_json_is_current():
    with open(packaging.PACKAGE_JSON) as package_json:
        committed = package_json.read()
    assert committed == packaging.render_package_json(board_files()), (
        "run `python -m tools.hil package`"
    )


def test_host_only_modules_stay_off_the_board():
    relative = {"%s/%s" % (f.root, f.relative) for f in board_files()}
    assert "port/twinsock_port/tls_cpython.py" not in relative
    assert "port/twinsock_port/micropython.py" in relative


def test_mip_installs_from_a_local_path_onto_a_board(emulated, tmp_path):
    """`mpremote mip install ./package.json` (stock mpremote, the emulated board's pty)
    puts every listed file into the board's /lib, and twinsock imports there."""
    import json
    import subprocess
    import sys

    from tools.hil.board import Board

    command = [sys.executable, "-m", "mpremote", "connect", emulated.port]
    install = subprocess.run(
        command + ["mip", "install", "./package.json"],
        cwd=packaging.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    with open(packaging.PACKAGE_JSON) as package_json:
        listed = json.load(package_json)["urls"]
    flash = emulated.flash_dir
    for target, _ in listed:
        assert os.path.exists(os.path.join(flash, "lib", target)), target
    with Board.open(emulated.port, "unix") as board:
        assert board.eval("__import__('twinsock').features()['tls']") is True


class FakePort:
    def __init__(self, device, vid, pid, serial_number, location):
        self.device, self.vid, self.pid = device, vid, pid
        self.serial_number, self.location = serial_number, location


def test_boards_are_pinned_by_serial_number_or_usb_location(monkeypatch):
    ports = [
        FakePort("/dev/ttyACM0", 0x2E8A, 0x0005, "E6614C311B7B6A2E", "1-1.2:1.0"),
        FakePort("/dev/ttyUSB0", 0x1A86, 0x7523, None, "1-1.3"),
        FakePort("/dev/ttyS0", None, None, None, None),
    ]
    monkeypatch.setattr(discovery.serial.tools.list_ports, "comports", lambda: ports)
    found = discovery.attached_boards()
    assert [(b.kind, b.pin) for b in found] == [
        ("rp2040", "id:E6614C311B7B6A2E"),
        ("esp32", "loc:1-1.3"),
    ]
    assert discovery.resolve_port("id:E6614C311B7B6A2E") == "/dev/ttyACM0"
    assert discovery.resolve_port("loc:1-1.3") == "/dev/ttyUSB0"
    assert discovery.resolve_port("rfc2217://bench:4000") == "rfc2217://bench:4000"
    assert "1-1.3" in discovery.format_table(found)
    with pytest.raises(discovery.BoardUnreachable, match="location 9-9"):
        discovery.resolve_port("loc:9-9")
