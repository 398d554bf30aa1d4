"""Fixtures for the harness's own tests: real emulated boards over real ptys."""

import pytest
from hil_support import start_emulated  # also puts the repository on sys.path

from tools.hil.board import Board


# Bound every emulated board: if a test run is killed the boards still go away.
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
