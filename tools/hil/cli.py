"""python -m tools.hil {run,deploy,list,flash,package}: the harness's command line."""

import argparse
import contextlib
import os
import sys

from . import board_kinds, checks, discovery, packaging, report
from .board import Board
from .deploy import deploy
from .emulated import EmulatedBoard
from .errors import HilError

EXIT_FAILED_CHECKS = 1
EXIT_HARNESS_ERROR = 2


@contextlib.contextmanager
def opened_board(args):
    """The Board named by --board/--port; the emulated board is started when needed."""
    if args.port is None and args.board == "unix":
        with EmulatedBoard(heap=args.heap) as emulated:
            board = Board.open(emulated.port, "unix", hard_reset=emulated.press_reset)
            with board:
                yield board
        return
    port = args.port or only_attached_board(args.board)
    board = Board.open(discovery.resolve_port(port), args.board, reopen=discovery.reopener(port))
    if board_kinds.description(args.board)["hard_reset"] == "dtr_rts":
        board.hard_reset = board.link.pulse_reset_lines
    with board:
        yield board


def only_attached_board(kind):
    found = [b for b in discovery.attached_boards() if b.kind == kind]
    if len(found) != 1:
        raise HilError(
            "%d attached %s boards: name one with --port (see `python -m tools.hil list`)"
            % (len(found), kind)
        )
    return found[0].pin


def bring_up_network(board, args):
    if not board_kinds.description(args.board)["network"].get("wlan"):
        return
    ssid = os.environ.get("WIFI_SSID")
    if not ssid:
        raise HilError("%s needs WIFI_SSID and WIFI_PASSWORD in the environment" % args.board)
    script = board_kinds.wlan_script(args.board, ssid, os.environ.get("WIFI_PASSWORD", ""))
    run = board.run(script, timeout_s=30.0)
    if run.outcome != "ok":
        raise HilError("WLAN bring-up failed: %s" % run.stderr.decode(errors="replace"))
    print("[%s] %s" % (args.board, run.stdout.decode().strip()))


def command_run(args):
    selected = (
        [checks.Check.from_file(path, args.timeout) for path in args.check]
        if args.check
        else checks.default_checks(args.timeout)
    )
    prelude = "SERVER_HOST = %r\n" % args.server_host
    with opened_board(args) as board:
        if args.deploy:
            print("[%s] deploy: %r" % (args.board, deploy(board)))
        bring_up_network(board, args)

        def progress(result):
            print(report.progress_line(args.board, result), flush=True)

        results = checks.run_checks(board, selected, prelude, progress)
    print()
    print(report.table(args.board, results))
    if args.junit:
        report.write_junit(args.junit, args.board, results)
    return EXIT_FAILED_CHECKS if any(result.failed for result in results) else 0


def command_deploy(args):
    with opened_board(args) as board:
        result = deploy(board)
    for path in result.copied:
        print("copied   ", path)
    for path in result.removed:
        print("removed  ", path)
    print(
        "%d copied, %d unchanged, %d removed"
        % tuple(map(len, (result.copied, result.unchanged, result.removed)))
    )
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


def board_options(parser):
    parser.add_argument("--board", choices=board_kinds.KINDS, default="unix")
    parser.add_argument(
        "--port",
        help="serial port: a path, id:<USB serial number> or rfc2217://host:port "
        "(default: the emulated board, started for the run)",
    )
    parser.add_argument("--heap", default="192K", help="emulated board heap (default 192K)")


def parser():
    top = argparse.ArgumentParser(prog="python -m tools.hil", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run on-board checks and print a table")
    board_options(run)
    run.add_argument(
        "--check", action="append", help="a check script (default: built-in + tests/board/*.py)"
    )
    run.add_argument("--timeout", type=float, default=checks.DEFAULT_TIMEOUT_S)
    run.add_argument("--junit", help="write a junit XML report here")
    run.add_argument("--server-host", default="127.0.0.1", help="host server address")
    run.add_argument("--no-deploy", dest="deploy", action="store_false")
    run.set_defaults(handler=command_run)

    deploy_parser = commands.add_parser("deploy", help="copy lib/ and port/ as .mpy")
    board_options(deploy_parser)
    deploy_parser.set_defaults(handler=command_deploy)

    list_parser = commands.add_parser("list", help="attached boards by USB id")
    list_parser.set_defaults(handler=command_list)

    flash_parser = commands.add_parser("flash", help="write MicroPython firmware")
    flash_parser.add_argument("--board", choices=("esp32", "rp2040"), required=True)
    flash_parser.add_argument("--port")
    flash_parser.add_argument("--firmware", required=True)
    flash_parser.add_argument("--chip", help="ESP32 chip (esp32, esp32s3, esp32c3, ...)")
    flash_parser.set_defaults(handler=command_flash)

    package = commands.add_parser("package", help="regenerate boards/*/manifest.py")
    package.set_defaults(handler=command_package)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except HilError as error:
        print("error: %s" % error, file=sys.stderr)
        return EXIT_HARNESS_ERROR
