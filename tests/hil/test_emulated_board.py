"""The emulated board behaves like a board to stock mpremote, and is sandboxed."""

import os
import socket
import subprocess
import sys

import pytest

from tools.hil.board import OK, Board
from tools.hil.emulated import EmulatedBoard
from tools.hil.errors import BoardUnreachable

MPREMOTE_TIMEOUT_S = 20


def mpremote(port, *args):
    command = [sys.executable, "-m", "mpremote", "connect", port] + list(args)
    return subprocess.run(command, capture_output=True, timeout=MPREMOTE_TIMEOUT_S)


def test_stock_mpremote_exec(emulated):
    result = mpremote(emulated.port, "exec", "import sys; print(sys.implementation.name)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == b"micropython"


def test_stock_mpremote_soft_reset_keeps_the_board_usable(emulated):
    result = mpremote(
        emulated.port, "exec", "x = 1", "soft-reset", "exec", "print('x' in globals())"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == b"False"  # a soft reset forgets the REPL's globals


def test_mpremote_interrupts_a_running_script(emulated):
    # mpremote's Ctrl-C must reach a script the unix port runs in raw mode (as SIGINT)
    hung = subprocess.Popen(
        [sys.executable, "-m", "mpremote", "connect", emulated.port, "exec", "while 1: pass"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        hung.wait(timeout=0.5)  # still running: it never ends by itself
    except subprocess.TimeoutExpired:
        pass
    hung.kill()
    hung.wait(timeout=5)
    result = mpremote(emulated.port, "exec", "print('back')")
    assert result.stdout.strip() == b"back", result.stderr


def test_flash_is_the_whole_filesystem_and_persists(emulated):
    result = mpremote(
        emulated.port, "fs", "mkdir", ":/lib", "+", "exec", "open('/lib/a.txt','w').write('hi')"
    )
    assert result.returncode == 0, result.stderr
    listing = mpremote(emulated.port, "soft-reset", "fs", "ls", ":/")
    names = listing.stdout.decode().split()
    assert "lib/" in names
    assert not {"usr/", "etc/", "proc/", "tmp/"} & set(names)  # no host directories
    with open(os.path.join(emulated.flash_dir, "lib", "a.txt")) as persisted:
        assert persisted.read() == "hi"


def test_lib_is_on_sys_path(board):
    assert board.eval("__import__('sys').path") == ["", ".frozen", "/lib"]


def test_board_cannot_remove_host_files(emulated, tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("still here")
    path = str(canary)
    # through MicroPython's filesystem, through a VfsPosix of the sandbox's real root,
    # and through a shell: none may reach the host file
    attempts = (
        "import os\nos.remove(%r)" % path,
        "import vfs, os\nvfs.mount(vfs.VfsPosix('/'), '/host')\nos.remove('/host' + %r)" % path,
        "import os\nassert os.system('rm %s') == 0" % path,
    )
    with Board.open(emulated.port, "unix") as board:
        for attempt in attempts:
            assert board.run(attempt, timeout_s=10).outcome != OK
            assert canary.read_text() == "still here"
    wipe = mpremote(emulated.port, "rm", "-r", ":/")  # mpremote's own "wipe the board"
    assert b"rm :/" in wipe.stdout, wipe.stderr
    assert canary.read_text() == "still here"
    with Board.open(emulated.port, "unix") as board:
        assert board.eval("__import__('os').listdir('/')") == []  # only the flash was wiped


def test_bulk_output_arrives_whole(board):
    run = board.run("for i in range(20000):\n    print(i)", timeout_s=20)
    assert run.outcome == OK
    lines = run.stdout.split(b"\n")
    assert len(lines) == 20001 and lines[-2] == b"19999"


def test_the_board_has_a_bounded_lifetime():
    emulated = EmulatedBoard(lifetime_s=3).start()
    try:
        assert emulated.process.wait(timeout=15) == 0  # gone by itself
        assert not os.path.lexists(emulated.port)
    finally:
        emulated.stop()


def test_reset_button_restarts_the_interpreter(emulated, board):
    board.run("marker = 1")
    emulated.press_reset()
    board.wait_for_raw_repl()
    assert board.eval("'marker' in globals()") is False  # a fresh interpreter


def test_the_sandboxed_board_reaches_the_host_on_loopback(board):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        port = listener.getsockname()[1]
        script = (
            "import socket\n"
            "s = socket.socket()\n"
            "s.connect(socket.getaddrinfo('127.0.0.1', %d)[0][-1])\n"
            "s.send(b'from the board')\n"
            "s.close()\n" % port
        )
        run = board.run(script, timeout_s=10)
        assert run.outcome == OK, run.stderr
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(10)
            assert connection.recv(100) == b"from the board"


def test_an_interpreter_that_cannot_start_is_reported():
    with pytest.raises(BoardUnreachable, match="did not start .*exit status 1"):
        EmulatedBoard(micropython="/bin/false").start()
