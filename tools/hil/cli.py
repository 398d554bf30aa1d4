"""python -m tools.hil {run,deploy,list,flash,package}: the harness's command line."""

import argparse
import contextlib
import os
import sys
import threading

from . import board_kinds, checks, discovery, packaging, report
from .board import Board
from .deploy import deploy
from .emulated import EmulatedBoard
from .errors import HilError
from .filelist import REPO_ROOT
from .server import HilServer

SERVER_LOG_DIR = os.path.join(REPO_ROOT, "build", "hil", "hostserver")  # JSON lines per board
EXIT_FAILED_CHECKS = 1
EXIT_HARNESS_ERROR = 2


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


class Target:
    """One board of a run: its kind, port (None: a fresh emulated board) and label."""

    def __init__(self, kind, port, label):
        self.kind = kind
        self.port = port
        self.label = label
        self.results = []
        self.error = None


def run_targets(args):
    """The boards of a run: every --port, every attached board (--all), or N emulated."""
    if args.all:
        found = [b for b in discovery.attached_boards() if b.kind in board_kinds.KINDS]
        if not found:
            raise HilError("--all: no boards attached (see `python -m tools.hil list`)")
        targets = [Target(b.kind, b.pin, "%s@%s" % (b.kind, b.pin)) for b in found]
    elif args.port:
        targets = [Target(args.board, port, args.board) for port in args.port]
    else:
        targets = [Target(args.board, None, args.board) for _ in range(args.emulated)]
    if len(targets) > 1:
        for number, target in enumerate(targets, 1):
            if target.label == target.kind:
                target.label = "%s#%d" % (target.kind, number)
    return targets


def selected_checks(args):
    if args.check:
        return [checks.Check.from_file(path, args.timeout) for path in args.check]
    return checks.default_checks(args.timeout)


def run_on(target, args, selected, print_line):
    """Deploy, network, host server, checks: one board's whole run (a thread's work)."""

    def say(text):
        print_line("[%s] %s" % (target.label, text))

    try:
        with opened_board(args, target.kind, target.port) as board:
            if args.deploy:
                for line in deploy(board).lines():
                    say("deploy: %s" % line)
            address = bring_up_network(board, target.kind, say)
            host = server_host(args, target.kind, address)
            log_path = os.path.join(SERVER_LOG_DIR, "%s.jsonl" % target.label.replace("/", "_"))
            os.makedirs(SERVER_LOG_DIR, exist_ok=True)
            with HilServer(host, args.server_lifetime, log_path) as server:
                say(
                    "host server on %s: %d services, log %s"
                    % (host, len(server.ports), os.path.relpath(log_path))
                )
                server.install_on(board)

                def progress(result):
                    target.results.append(result)  # kept if a later check loses the board
                    print_line(report.progress_line(target.label, result))

                checks.run_checks(board, selected, "SERVER_HOST = %r\n" % host, progress)
    except HilError as error:
        target.error = str(error)
        print_line("[%s] error: %s" % (target.label, error))
    except Exception as error:  # a thread must report, never die silently
        target.error = "%s: %s" % (type(error).__name__, error)
        print_line("[%s] error: %s" % (target.label, target.error))


def command_run(args):
    selected = selected_checks(args)
    targets = run_targets(args)
    lock = threading.Lock()

    def print_line(text):
        with lock:
            print(text, flush=True)

    if len(targets) == 1:
        run_on(targets[0], args, selected, print_line)
    else:
        threads = [
            threading.Thread(target=run_on, args=(target, args, selected, print_line))
            for target in targets
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for target in targets:
        if target.results:
            print()
            print(report.table(target.label, target.results))
    if len(targets) > 1:
        print()
        print(report.summary([(t.label, t.results, t.error) for t in targets]))
    if args.junit:
        report.write_junit(args.junit, [(t.label, t.results, t.error) for t in targets])
    if len(targets) == 1 and targets[0].error:
        raise HilError(targets[0].error)
    if any(t.error for t in targets):
        return EXIT_HARNESS_ERROR
    failed = any(result.failed for t in targets for result in t.results)
    return EXIT_FAILED_CHECKS if failed else 0


def command_deploy(args):
    with opened_board(args) as board:
        result = deploy(board)
    for line in result.lines():
        print(line)
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
        "--check", action="append", help="a check script (default: built-in + tests/board/*.py)"
    )
    run.add_argument("--timeout", type=float, default=checks.DEFAULT_TIMEOUT_S)
    run.add_argument("--junit", help="write a junit XML report here")
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

    package = commands.add_parser(
        "package", help="regenerate boards/*/manifest.py and package.json"
    )
    package.set_defaults(handler=command_package)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except HilError as error:
        print("error: %s" % error, file=sys.stderr)
        return EXIT_HARNESS_ERROR
