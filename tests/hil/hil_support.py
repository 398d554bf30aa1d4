"""Paths and script loading shared by the harness tests (imported by name: keep unique)."""

import os
import re
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def script(name):
    with open(os.path.join(SCRIPTS, name)) as source:
        return source.read()


BOARD_LIFETIME_S = 120.0


def start_emulated(heap="192K"):
    """A started emulated board (its own sandbox and pty), stopped by its lifetime at
    the latest."""
    from tools.hil.emulated import EmulatedBoard

    return EmulatedBoard(heap=heap, lifetime_s=BOARD_LIFETIME_S).start()


def table_rows(stdout, board="unix"):
    """{check: result} from the results table printed for `board`."""
    block = stdout.split("board: %s\n" % board, 1)[1]
    rows = {}
    for line in block.splitlines()[2:]:
        if re.match(r"\d+ checks?, \d+ failed", line):
            break
        words = line.split()
        rows[words[0]] = words[1]
    return rows
