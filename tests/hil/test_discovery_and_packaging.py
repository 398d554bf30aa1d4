"""Board discovery's USB id table, and the files derived from the one file list."""

import os

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
