"""The emulated board behaves like a board to stock mpremote, and is sandboxed."""

import os
import signal
import socket
import subprocess
import sys
import time

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


def interpreter_pids(emulated):
    return [int(line.split()[-1]) for line in emulated.log_text().splitlines() if "pid" in line]


def running(pid):
    """True while pid is a live process (a zombie waiting to be reaped is not)."""
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_killing_the_supervisor_leaves_no_interpreter_behind(signum):
    emulated = EmulatedBoard(lifetime_s=60).start()
    try:
        (pid,) = interpreter_pids(emulated)
        with Board.open(emulated.port, "unix") as board:
            # busy, not reading its terminal: it would not notice the pty going away
            board.transport.exec_raw_no_follow("while True:\n    pass")
        assert running(pid)
        os.kill(emulated.process.pid, signum)
        emulated.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # the kernel's parent-death signal: nothing to wait on here
        assert not running(pid), "interpreter %d outlived its supervisor" % pid
    finally:
        emulated.stop()


def test_a_host_without_user_namespaces_is_told_what_to_enable(tmp_path, monkeypatch):
    # an `unshare` that fails as it does where user namespaces are disabled
    fake = tmp_path / "unshare"
    fake.write_text(
        "#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (tmp_path, os.environ["PATH"]))
    with pytest.raises(BoardUnreachable) as failure:
        EmulatedBoard(lifetime_s=30).start()
    message = str(failure.value)
    assert "enable unprivileged user namespaces" in message, message
    assert "\n" not in message and "b'" not in message and "\\r" not in message, message


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_make_board_serves_stock_mpremote_like_a_pico(tmp_path, stop):
    """`make board` (python -m tools.hil board): the port it prints takes `mpremote cp
    x.py :`, `ls :lib` and `import x` as a Pico W does; Ctrl-C or a kill stops it and
    its interpreter."""
    from hil_support import REPO_ROOT

    state = tmp_path / "board"
    command = [sys.executable, "-m", "tools.hil", "board", "--state-dir", str(state)]
    command += ["--lifetime", "120"]
    board = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        first = board.stdout.readline()
        assert first.startswith("emulated board on "), first
        port = first.split()[3]
        (tmp_path / "x.py").write_text("print('x imported from', __file__)\n")
        (tmp_path / "helper.py").write_text("VALUE = 7\n")
        result = subprocess.run(
            [sys.executable, "-m", "mpremote", "connect", port, "cp", "x.py", ":"]
            + ["+", "mkdir", ":lib", "+", "cp", "helper.py", ":lib/", "+", "ls", ":lib"]
            + ["+", "exec", "import x, helper; print(helper.VALUE)"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=MPREMOTE_TIMEOUT_S,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "helper.py" in result.stdout
        assert "x imported from x.py\n7\n" in result.stdout, result.stdout
        assert (state / "flash" / "x.py").exists() and (
            state / "flash" / "lib" / "helper.py"
        ).exists()
        pids = [
            int(line.split()[-1])
            for line in (state / "supervisor.log").read_text().splitlines()
            if "pid" in line
        ]
        board.send_signal(stop)
        assert board.wait(timeout=15) == 0
        assert pids and not any(running(pid) for pid in pids)
    finally:
        if board.poll() is None:
            board.kill()
            board.wait(timeout=10)
