"""python -m tools.hil {run,deploy,board,list,flash,package}: the harness's command line.
`run` is pytest with our plugin (tools/hil/pytest_plugin.py) and the checks."""

import argparse
import contextlib
import os
import signal
import sys

from . import board_kinds, checks, discovery, packaging
from .board import Board
from .deploy import deploy
from .emulated import EmulatedBoard
from .errors import HilError
from .filelist import REPO_ROOT

EXIT_HARNESS_ERROR = 2  # also a usage error, as argparse exits


@contextlib.contextmanager
def opened_board(args, kind=None, port=None):
    """The Board named by --board/--port; the emulated board is started when needed."""
    kind = kind or args.board
    port = port if port is not None else single_port(args)
    if port is None and kind == "unix":
        with EmulatedBoard(heap=args.heap) as emulated:
            board = Board.open(emulated.port, "unix", hard_reset=emulated.press_reset)
            with board:
                yield board
        return
    port = port or only_attached_board(kind)
    board = Board.open(discovery.resolve_port(port), kind, reopen=discovery.reopener(port))
    if board_kinds.description(kind)["hard_reset"] == "dtr_rts":
        board.hard_reset = board.transport.pulse_reset_lines
    with board:
        yield board


def single_port(args):
    ports = args.port
    if isinstance(ports, list):
        if len(ports) > 1:
            raise HilError("this command takes one --port")
        return ports[0] if ports else None
    return ports


def only_attached_board(kind):
    found = [b for b in discovery.attached_boards() if b.kind == kind]
    if len(found) != 1:
        raise HilError(
            "%d attached %s boards: name one with --port (see `python -m tools.hil list`)"
            % (len(found), kind)
        )
    return found[0].pin


def bring_up_network(board, kind, say):
    """Join the WLAN where the board has one; its address, or None."""
    if not board_kinds.description(kind)["network"].get("wlan"):
        return None
    ssid = os.environ.get("WIFI_SSID")
    if not ssid:
        raise HilError("%s needs WIFI_SSID and WIFI_PASSWORD in the environment" % kind)
    script = board_kinds.wlan_script(kind, ssid, os.environ.get("WIFI_PASSWORD", ""))
    run = board.run(script, timeout_s=30.0)
    if run.outcome != "ok":
        raise HilError("WLAN bring-up failed: %s" % run.stderr.decode(errors="replace"))
    say(run.stdout.decode().strip())
    words = run.stdout.decode().split()
    return words[-1] if words and words[0] == "WLAN" else None


def server_host(args, kind, board_address):
    """--server-host (or $HIL_SERVER_HOST); `auto`, or nothing for a WLAN board: the
    address this host uses toward the board (a UDP connect sends nothing)."""
    wanted = args.server_host
    if wanted is None:
        wanted = "auto" if board_address else "127.0.0.1"
    if wanted != "auto":
        return wanted
    if not board_address:
        raise HilError("--server-host auto: the board reported no WLAN address")
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((board_address, 9))
        return probe.getsockname()[0]


def resolve_check(wanted):
    """A --check value: a path to a script, or the name of one in tests/board or the
    built-in checks (`udp_echo`, `udp_echo.py`)."""
    if os.path.isfile(wanted):
        return os.path.abspath(wanted)
    name = os.path.basename(wanted)
    name = name if name.endswith(".py") else name + ".py"
    if os.sep not in wanted:
        for directory in (checks.BOARD_CHECKS, checks.BUILTIN_CHECKS):
            if os.path.isfile(os.path.join(directory, name)):
                return os.path.join(directory, name)
    known = sorted(c.name for c in checks.default_checks())
    raise UsageError("no check %r: give a script path or one of %s" % (wanted, ", ".join(known)))


def check_paths(args):
    if args.check:
        return [resolve_check(wanted) for wanted in args.check]
    return [checks.BUILTIN_CHECKS, checks.BOARD_CHECKS]


def pytest_command(args):
    """The pytest command line for `run`: our plugin, the checks, the boards."""
    ports = list(args.port or [])
    if args.all:
        found = [b for b in discovery.attached_boards() if b.kind in board_kinds.KINDS]
        if not found:
            raise HilError("--all: no boards attached (see `python -m tools.hil list`)")
        ports = ["%s=%s" % (b.kind, b.pin) for b in found]
    workers = len(ports) if ports else args.emulated
    argv = ["-p", "tools.hil.pytest_plugin", "--noconftest"]
    # the board's output is each check's system-out; -q: the table says the rest
    argv += ["-o", "junit_logging=system-out", "-o", "junit_suite_name=hil", "-q"]
    argv += ["--board", args.board, "--heap", args.heap, "--check-timeout", str(args.timeout)]
    argv += ["--server-lifetime", str(args.server_lifetime)]
    for port in ports:
        argv += ["--port", port]
    if args.server_host:
        argv += ["--server-host", args.server_host]
    if not args.deploy:
        argv.append("--no-deploy")
    if args.junit:
        argv += ["--junitxml", args.junit]
    if not ports:
        argv += ["--emulated", str(args.emulated)]
    if workers > 1:  # one xdist worker per board, each board's checks kept together
        argv += ["-n", str(workers)]
    return argv + check_paths(args) + list(args.pytest_args)


def command_run(args):
    import pytest

    return int(pytest.main(pytest_command(args)))


def command_deploy(args):
    with opened_board(args) as board:
        result = deploy(board)
    for line in result.lines():
        print(line)
    if single_port(args) is None and args.board == "unix":
        print(
            "deployed to a throwaway emulated board, stopped again: to keep one, start "
            "`make board` and deploy with PORT=<the port it prints>"
        )
    return 0


BOARD_STATE_DIR = os.path.join(REPO_ROOT, "build", "hil", "board")


def command_board(args):
    """The emulated board, kept until Ctrl-C: a board to use with stock mpremote."""
    emulated = EmulatedBoard(heap=args.heap, lifetime_s=args.lifetime, state_dir=args.state_dir)
    os.makedirs(args.state_dir, exist_ok=True)
    for signum in (signal.SIGTERM, signal.SIGHUP):  # stop the board on the way out
        signal.signal(signum, lambda *_: sys.exit(0))
    with emulated:
        print("emulated board on %s (MicroPython unix port, %s heap)" % (emulated.port, args.heap))
        print("  mpremote connect %s cp x.py : + ls : + exec 'import x'" % emulated.port)
        print("  PORT=%s for make deploy / make hil" % emulated.port)
        print("  its flash (kept across runs): %s; Ctrl-C stops it" % emulated.flash_dir)
        sys.stdout.flush()
        try:
            emulated.process.wait()
        except KeyboardInterrupt:
            pass
    return 0


def command_list(args):
    print(discovery.format_table(discovery.attached_boards()))
    return 0


def command_flash(args):
    from .flash import flash  # esptool is only needed here

    if args.port is None:
        args.port = only_attached_board(args.board)
    flash(args.board, args.port, args.firmware, args.chip)
    print("flashed %s on %s" % (args.firmware, args.port))
    return 0


def command_package(args):
    for path in packaging.write_manifests():
        print("wrote", os.path.relpath(path))
    return 0


def board_options(parser, several=False):
    parser.add_argument("--board", choices=board_kinds.KINDS, default="unix")
    parser.add_argument(
        "--port",
        action="append" if several else "store",
        help="serial port: a path, id:<USB serial number> or rfc2217://host:port "
        "(default: the emulated board, started for the run)"
        + ("; repeat it to run several boards in parallel" if several else ""),
    )
    parser.add_argument("--heap", default="192K", help="emulated board heap (default 192K)")


def parser():
    top = argparse.ArgumentParser(prog="python -m tools.hil", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run on-board checks and print a table")
    board_options(run, several=True)
    run.add_argument("--all", action="store_true", help="every attached board, in parallel")
    run.add_argument(
        "--emulated", type=int, default=1, help="without --port: how many emulated boards"
    )
    run.add_argument(
        "--check",
        action="append",
        help="a check: a script path or a name from tests/board (default: the built-in "
        "check and every tests/board/*.py); repeat for several",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=checks.DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="seconds each check may run before it is interrupted (default %(default)s)",
    )
    run.add_argument("--junit", metavar="PATH", help="write pytest's junit XML report here")
    run.add_argument(
        "--server-host",
        default=os.environ.get("HIL_SERVER_HOST") or None,
        help="address the host server binds and the boards connect to: on a bench this "
        "host's LAN address, or `auto` (the address of this host on the route to the "
        "board's WLAN address). Default: $HIL_SERVER_HOST, else auto for a WLAN board and "
        "127.0.0.1 for the emulated board",
    )
    run.add_argument("--server-lifetime", type=float, default=1800.0, help="seconds at most")
    run.add_argument("--no-deploy", dest="deploy", action="store_false")
    run.add_argument(
        "pytest_args",
        nargs="*",
        metavar="-- PYTEST-ARGS",
        help="passed on to pytest, after `--`: -k udp, --lf, --junitxml x.xml, -x ...",
    )
    run.set_defaults(handler=command_run)

    deploy_parser = commands.add_parser("deploy", help="copy lib/ and port/ as .mpy")
    board_options(deploy_parser)
    deploy_parser.set_defaults(handler=command_deploy)

    board_parser = commands.add_parser(
        "board", help="start the emulated board and print its port for mpremote"
    )
    board_parser.add_argument("--heap", default="192K", help="MicroPython heap (192K: a Pico W)")
    board_parser.add_argument(
        "--state-dir", default=BOARD_STATE_DIR, help="holds its flash, kept across runs"
    )
    board_parser.add_argument(
        "--lifetime", type=float, default=8 * 3600.0, metavar="SECONDS", help="then it stops"
    )
    board_parser.set_defaults(handler=command_board)

    list_parser = commands.add_parser("list", help="attached boards by USB id")
    list_parser.set_defaults(handler=command_list)

    flash_parser = commands.add_parser("flash", help="write MicroPython firmware")
    flash_parser.add_argument("--board", choices=("esp32", "rp2040"), required=True)
    flash_parser.add_argument("--port")
    flash_parser.add_argument("--firmware", required=True)
    flash_parser.add_argument("--chip", help="ESP32 chip (esp32, esp32s3, esp32c3, ...)")
    flash_parser.set_defaults(handler=command_flash)

    package = commands.add_parser(
        "package", help="regenerate boards/*/manifest.py and package.json"
    )
    package.set_defaults(handler=command_package)
    return top


class UsageError(HilError):
    """A command line naming something that does not exist."""


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except HilError as error:
        print("error: %s" % error, file=sys.stderr)
        return EXIT_HARNESS_ERROR
