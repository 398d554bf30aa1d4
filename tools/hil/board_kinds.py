"""The board descriptions in boards/<kind>/board.json, as the harness uses them."""

import json
import os

from .errors import HilError
from .filelist import REPO_ROOT

BOARDS_DIR = os.path.join(REPO_ROOT, "boards")
KINDS = ("unix", "esp32", "rp2040")


def description(kind):
    if kind not in KINDS:
        raise HilError("unknown board %r: one of %s" % (kind, ", ".join(KINDS)))
    with open(os.path.join(BOARDS_DIR, kind, "board.json")) as board_json:
        return json.load(board_json)


def wlan_script(kind, ssid, password, timeout_ms=20000, country="XX"):
    """The board's WLAN bring-up script with the credentials put in front of it."""
    board = description(kind)
    name = board["network"].get("wlan_script")
    if not name:
        return None
    with open(os.path.join(BOARDS_DIR, kind, name)) as script:
        body = script.read()
    prelude = "WIFI_SSID = %r\nWIFI_PASSWORD = %r\nWLAN_TIMEOUT_MS = %d\nWLAN_COUNTRY = %r\n" % (
        ssid,
        password,
        timeout_ms,
        country,
    )
    return prelude + body
