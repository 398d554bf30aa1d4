"""python -m tools.soak: run the HIL suite through the impairment proxy for a set time.
See tools/soak/__init__.py for what a round does and which faults it draws."""

import argparse
import contextlib
import os
import sys
import time

from tools.hil import checks
from tools.hil.board import Board
from tools.hil.cli import bring_up_network, opened_board as hil_opened_board, server_host
from tools.hil.deploy import deploy
from tools.hil.emulated import EmulatedBoard
from tools.hil.errors import HilError
from tools.hil.filelist import REPO_ROOT
from tools.hil.server import HilServer

from . import DIRECT_CHECKS, DIRECT_SERVICES, RoundProxies, SoakReport, draw_faults, proxy_seed

DEFAULT_JSON = os.path.join(REPO_ROOT, "build", "soak", "soak.json")
SERVER_LOG = os.path.join(REPO_ROOT, "build", "soak", "hostserver.jsonl")
EXIT_FAILED_CHECKS = 1
EXIT_HARNESS_ERROR = 2
MARGIN_S = 120.0  # boards, servers and relays outlive the run by this much at most


class ProxiedServer(HilServer):
    """The HIL host server, but the board is told the relays' ports (`board_ports`)."""

    board_ports = None

    @property
    def upstream_ports(self):
        return self.process.description["hosts"][self.host]

    @property
    def ports(self):
        return self.board_ports if self.board_ports is not None else self.upstream_ports


@contextlib.contextmanager
def opened_board(args, lifetime_s):
    """The board of the run: the emulated one (its lifetime covering the soak), or the
    one on --port (as `python -m tools.hil run` opens it)."""
    if args.port is None and args.board == "unix":
        with EmulatedBoard(heap=args.heap, lifetime_s=lifetime_s) as emulated:
            with Board.open(emulated.port, "unix", hard_reset=emulated.press_reset) as board:
                yield board
        return
    with hil_opened_board(args, args.board, args.port) as board:
        yield board


def selected_checks(args):
    if args.check:
        return [checks.Check.from_file(path, args.timeout) for path in args.check]
    return checks.default_checks(args.timeout)


def run_round(board, server, selected, host, upstream, relays):
    """Every check once: through the relays, except DIRECT_CHECKS; the board's
    hil_env.py rewritten whenever the ports it should use change."""
    results = []
    server.board_ports = None
    for check in selected:
        ports = upstream if check.name in DIRECT_CHECKS else relays.ports
        if server.board_ports is not ports:
            server.board_ports = ports
            server.install_on(board)
        result = checks.run_check(board, check, "SERVER_HOST = %r\n" % host)
        results.append(result)
        if result.result == checks.LOST:
            break  # the port is gone
    return results


def soak(args, say):
    selected = selected_checks(args)
    report = SoakReport(args.seed, args.seconds, args.board if args.port is None else args.port)
    round_limit_s = len(selected) * (args.timeout + 10) + 30  # a relay outlives its round
    lifetime_s = args.seconds + round_limit_s + MARGIN_S
    deadline = time.monotonic() + args.seconds
    try:
        with opened_board(args, lifetime_s) as board:
            if args.deploy:
                say("deploy: %s" % deploy(board))
            address = bring_up_network(board, args.board, say)
            host = server_host(args, args.board, address)
            os.makedirs(os.path.dirname(SERVER_LOG), exist_ok=True)
            with ProxiedServer(host, lifetime_s, SERVER_LOG) as server:
                upstream = dict(server.upstream_ports)
                proxied = [s for s in upstream if s not in DIRECT_SERVICES]
                report.heap_start = checks.measure_heap(board, checks.HEAP_BEFORE_SCRIPT)
                say(
                    "host server on %s; relays for %s; direct: %s and the checks %s; "
                    "free heap %s"
                    % (
                        host,
                        ", ".join(sorted(proxied)),
                        ", ".join(DIRECT_SERVICES),
                        ", ".join(DIRECT_CHECKS),
                        report.heap_start,
                    )
                )
                number = 0
                while number == 0 or (
                    time.monotonic() < deadline and (not args.rounds or number < args.rounds)
                ):
                    number += 1
                    faults = draw_faults(args.seed, number, proxied)
                    started = time.monotonic()
                    relays = RoundProxies(
                        host, upstream, faults, proxy_seed(args.seed, number), round_limit_s
                    )
                    try:
                        results = run_round(board, server, selected, host, upstream, relays)
                    finally:
                        stats = relays.stop()
                    heap = checks.measure_heap(board, checks.HEAP_BEFORE_SCRIPT)
                    report.add_round(
                        number, faults, results, heap, stats, time.monotonic() - started
                    )
                    for result in results:
                        if result.failed:
                            say(
                                "round %d: %s %s (%s)"
                                % (number, result.name, result.result, result.detail)
                            )
                    last = report.rounds[-1]
                    say(
                        "round %d: %d checks, %d failed, %.1f s, free heap %s"
                        % (number, last["checks"], last["failed"], last["seconds"], heap)
                    )
                    if any(r.result == checks.LOST for r in results):
                        raise HilError("the board was lost in round %d" % number)
    except HilError as error:
        report.error = str(error)
    except Exception as error:  # reported, never a silent end
        report.error = "%s: %s" % (type(error).__name__, error)
    return report


def parser():
    p = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__)
    p.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("SOAK_SECONDS") or 300),
        help="start no new round after this long (default $SOAK_SECONDS or 300); "
        "at least one round runs",
    )
    p.add_argument("--rounds", type=int, default=0, help="at most this many rounds (0: no limit)")
    p.add_argument(
        "--seed",
        type=int,
        default=int(os.environ.get("SOAK_SEED") or 1),
        help="seed of the fault draws and the relays (default $SOAK_SEED or 1)",
    )
    p.add_argument("--board", default="unix", help="board kind (default: the emulated board)")
    p.add_argument("--port", help="serial port of a real board (default: emulated)")
    p.add_argument("--heap", default="192K", help="emulated board heap (default 192K)")
    p.add_argument("--check", action="append", help="a check script (default: the HIL suite)")
    p.add_argument("--timeout", type=float, default=checks.DEFAULT_TIMEOUT_S)
    p.add_argument(
        "--server-host",
        default=os.environ.get("HIL_SERVER_HOST") or None,
        help="address of the host server and the relays (as for tools.hil run)",
    )
    p.add_argument("--no-deploy", dest="deploy", action="store_false")
    p.add_argument("--json", default=DEFAULT_JSON, help="the JSON report (build/soak/soak.json)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)

    def say(text):
        print(text, flush=True)

    report = soak(args, say)
    report.write_json(args.json)
    print()
    print(report.text())
    print("report: %s" % os.path.relpath(args.json))
    if report.error:
        print("error: %s" % report.error, file=sys.stderr)
        return EXIT_HARNESS_ERROR
    return EXIT_FAILED_CHECKS if report.failures else 0
