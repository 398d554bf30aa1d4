"""Fixtures for the harness's own tests: real emulated boards over real ptys."""

import hil_support  # noqa: F401 (puts the repository on sys.path)
import pytest

from tools.hil.board import Board
from tools.hil.emulated import EmulatedBoard

# Bound every emulated board: if a test run is killed the boards still go away.
BOARD_LIFETIME_S = 120.0


def start_emulated(heap="192K"):
    return EmulatedBoard(heap=heap, lifetime_s=BOARD_LIFETIME_S).start()


@pytest.fixture
def emulated():
    board = start_emulated()
    yield board
    board.stop()


@pytest.fixture
def board(emulated):
    opened = Board.open(emulated.port, "unix", hard_reset=emulated.press_reset)
    yield opened
    opened.close()


@pytest.fixture
def small_heap_board():
    emulated = start_emulated(heap="64K")
    opened = Board.open(emulated.port, "unix-64K", hard_reset=emulated.press_reset)
    yield opened
    opened.close()
    emulated.stop()
