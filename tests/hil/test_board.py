"""Script outcomes and recovery through the serial path, against the emulated board."""

import time

from hil_support import script

from tools.hil.board import EXCEPTION, MEMORY_ERROR, OK, REBOOT, TIMEOUT, Board
from tools.hil.emulated import EmulatedBoard


def test_a_passing_script(board):
    run = board.run(script("passing.py"), timeout_s=5)
    assert run.outcome == OK
    assert run.stdout == b"sum 3\n"
    assert b"sum 3" in run.transcript


def test_an_exception_is_reported_with_its_traceback(board):
    run = board.run(script("failing.py"), timeout_s=5)
    assert run.outcome == EXCEPTION
    assert b"ValueError: this check fails on purpose" in run.stderr


def test_a_hanging_script_times_out_and_the_next_one_runs(board):
    started = time.monotonic()
    run = board.run(script("hang.py"), timeout_s=0.5)
    assert run.outcome == TIMEOUT
    assert run.recovery == ["interrupt", "soft reset"]
    assert b"hanging" in run.transcript
    assert time.monotonic() - started < 5
    assert board.run("print('next')", timeout_s=5).stdout == b"next\n"


def test_a_script_deaf_to_ctrl_c_is_recovered_by_hard_reset(board):
    run = board.run(script("hang_uninterruptible.py"), timeout_s=0.5)
    assert run.outcome == TIMEOUT
    assert run.recovery[-1] == "hard reset"
    assert board.run("print('next')", timeout_s=5).stdout == b"next\n"


def test_memory_error_under_a_small_heap(small_heap_board):
    run = small_heap_board.run(script("exhaust_heap.py"), timeout_s=10)
    assert run.outcome == MEMORY_ERROR
    assert b"MemoryError" in run.stderr
    assert small_heap_board.run("print('next')", timeout_s=5).outcome == OK


def test_heap_is_like_the_chosen_board(board, small_heap_board):
    assert 150_000 < board.free_heap() <= 192 * 1024
    assert small_heap_board.free_heap() <= 64 * 1024


def test_a_crash_mid_script_is_reported_and_recovered(board):
    run = board.run(script("crash.py"), timeout_s=10)
    assert run.outcome == REBOOT
    assert b"about to crash" in run.stdout
    assert b"still alive" not in run.transcript
    assert run.recovery == ["came back by itself"]
    assert board.run("print('next')", timeout_s=5).stdout == b"next\n"


def test_a_native_usb_board_that_drops_off_the_bus_is_found_again():
    emulated = EmulatedBoard(native_usb=True, lifetime_s=120).start()
    try:
        board = Board.open(
            emulated.port, "unix-usb", hard_reset=emulated.press_reset, reopen=emulated.reopen_port
        )
        with board:
            run = board.run(script("crash.py"), timeout_s=10)
            assert run.outcome == REBOOT
            assert run.recovery == ["came back by itself"]
            assert board.run("print('next')", timeout_s=5).stdout == b"next\n"
            run = board.run(script("hang_uninterruptible.py"), timeout_s=0.5)
            assert run.outcome == TIMEOUT and run.recovery[-1] == "hard reset"
            assert board.run("print('next')", timeout_s=5).stdout == b"next\n"
    finally:
        emulated.stop()
