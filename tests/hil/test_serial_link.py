"""Opening ports: silent ports and busy ports fail fast with a useful message."""

import os
import time
import tty

import pytest
from rfc2217_bridge import Rfc2217Bridge

from tools.hil.board import TIMEOUT, Board
from tools.hil.errors import BoardUnreachable


def test_a_silent_port_is_reported_without_hanging():
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        started = time.monotonic()
        with pytest.raises(BoardUnreachable, match="no raw REPL on .*another program holding"):
            Board.open(os.ttyname(slave), timeout_s=0.5)
        assert time.monotonic() - started < 3
    finally:
        os.close(master)
        os.close(slave)


def test_a_port_held_by_another_program(board, emulated):
    with pytest.raises(BoardUnreachable, match="another program holding the port"):
        Board.open(emulated.port, timeout_s=0.5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pyserial's own thread setup
def test_a_board_behind_an_rfc2217_server(emulated):
    bridge = Rfc2217Bridge(emulated.port).start()
    try:
        with Board.open(bridge.url + "?ign_set_control", "remote") as remote:
            assert remote.run("print('over tcp')").stdout == b"over tcp\n"
            assert remote.run("while True: pass", timeout_s=0.5).outcome == TIMEOUT
            assert remote.run("print('next')").stdout == b"next\n"
    finally:
        bridge.stop()


def test_nothing_listening_at_an_rfc2217_address():
    with pytest.raises(BoardUnreachable, match="nothing answers at 127.0.0.1:1"):
        Board.open("rfc2217://127.0.0.1:1", timeout_s=0.5)


def test_a_board_that_stops_answering_mid_protocol_cannot_hang_a_run():
    """mpremote reads the raw-paste answer with a plain serial.read(2), which waits
    forever on a silent board; through our transport every read has the run's
    deadline. The fake board here gives a raw REPL prompt, then never answers again."""
    import threading

    from tools.hil.errors import RecoveryFailed

    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def fake_board():
        heard = b""
        while not stop.is_set():
            try:
                heard = (heard + os.read(master, 1024))[-2:]
            except OSError:
                return
            if heard.endswith(b"\r\x01"):  # Ctrl-A after Enter: the raw REPL, once more
                os.write(master, b"raw REPL; CTRL-B to exit\r\n>")

    thread = threading.Thread(target=fake_board, daemon=True)
    thread.start()
    try:
        board = Board.open(os.ttyname(slave), "silent", timeout_s=2)
        started = time.monotonic()
        with pytest.raises(RecoveryFailed, match="no way to hard reset"):
            board.run("print(1)", timeout_s=0.5)
        assert time.monotonic() - started < 20  # timeout, interrupt, soft reset: all bounded
        board.transport.close()
    finally:
        stop.set()
        os.close(master)
        os.close(slave)
