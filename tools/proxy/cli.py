"""The command line: `python -m tools.proxy udp|tcp --listen A --upstream B [impairments]`.

Every impairment field F of `UdpImpairment`/`TcpImpairment` is an option `--F` (both
directions) with `--F-up` / `--F-down` overriding one direction ("up" is client ->
upstream). When the proxy listens it prints ONE JSON line and flushes:

    {"ready": true, "proto": "udp", "pid": 123, "listen": ["127.0.0.1", 40000],
     "port": 40000, "upstream": ["127.0.0.1", 5683], "seed": 1, "lifetime": 60,
     "up": {...impairment...}, "down": {...}}

With --control HOST:PORT it also takes commands (change faults, freeze, reset, stats,
stop) as JSON lines on that TCP port; see tools/proxy/control.py. It runs until
--lifetime seconds have passed (or SIGTERM/SIGINT, or a "stop" command), then prints
one JSON line of final statistics ({"stats": {...}}) and exits 0.
"""

import argparse
import dataclasses
import json
import signal
import sys
import threading

from tools.proxy.common import parse_address
from tools.proxy.control import ControlServer
from tools.proxy.tcp import TcpImpairment, TcpProxy
from tools.proxy.udp import UdpImpairment, UdpProxy

KINDS = {"udp": (UdpProxy, UdpImpairment), "tcp": (TcpProxy, TcpImpairment)}

HELP = {
    "loss": "probability a datagram is dropped",
    "delay_ms": "fixed delay per datagram, ms",
    "jitter_ms": "delay varies by +- this many ms",
    "reorder": "probability a datagram is sent after the next one",
    "reorder_hold_ms": "longest a reordered datagram waits for a successor, ms",
    "duplicate": "probability a datagram is sent twice",
    "corrupt": "probability bits of a datagram are flipped",
    "corrupt_bits": "bits flipped in a corrupted datagram",
    "drop_first": "drop the first N datagrams",
    "drop_at": "drop the datagrams with these indices, 0 = first (comma-separated)",
    "read_size": "most bytes read and forwarded at a time",
    "random_read_size": "draw each read size in 1..read_size (seeded)",
    "rate": "bytes per second at most (0: unlimited)",
    "stall_at": "byte offsets to pause at (comma-separated)",
    "stall_every": "pause every N bytes",
    "stall_chance": "probability of a pause before each read",
    "stall_ms": "length of a pause, ms",
    "reset_after": "RST both sides after N bytes",
    "half_close_after": "FIN to the receiver after N bytes, discard the rest",
}


def _offsets(text):
    return tuple(int(x) for x in text.split(",") if x.strip())


def _converter(field):
    if field.name in ("stall_at", "drop_at"):
        return _offsets
    if field.type in (bool, "bool"):
        return lambda text: text.lower() in ("1", "true", "yes", "on")
    if field.type in (int, "int"):
        return int
    return float


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m tools.proxy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="proto", required=True)
    for proto, (_, impairment) in KINDS.items():
        p = sub.add_parser(proto, help="%s relay" % proto)
        p.add_argument(
            "--listen",
            default="127.0.0.1:0",
            type=parse_address,
            help="host:port to listen on (port 0: any free port)",
        )
        p.add_argument(
            "--upstream", required=True, type=parse_address, help="host:port to relay to"
        )
        p.add_argument("--seed", type=int, default=0, help="seed of every random decision")
        p.add_argument(
            "--lifetime", type=float, default=60.0, help="exit after this many seconds (default 60)"
        )
        p.add_argument("--log", help="append one JSON line per decision to this file")
        p.add_argument(
            "--control",
            type=parse_address,
            help="host:port for run-time control (JSON lines; see tools/proxy/control.py)",
        )
        for field in dataclasses.fields(impairment):
            conv = _converter(field)
            flag = "--" + field.name.replace("_", "-")
            p.add_argument(flag, type=conv, dest=field.name, help=HELP.get(field.name))
            for d in ("up", "down"):
                p.add_argument(
                    flag + "-" + d,
                    type=conv,
                    dest="%s_%s" % (field.name, d),
                    help=argparse.SUPPRESS,
                )
    return parser


def impairments_from(args, impairment):
    out = {}
    for d in ("up", "down"):
        values = {}
        for field in dataclasses.fields(impairment):
            value = getattr(args, "%s_%s" % (field.name, d))
            if value is None:
                value = getattr(args, field.name)
            if value is not None:
                values[field.name] = value
        out[d] = impairment(**values)
    return out


def main(argv=None):
    args = build_parser().parse_args(argv)
    relay_class, impairment = KINDS[args.proto]
    try:
        imps = impairments_from(args, impairment)
    except ValueError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    relay = relay_class(
        args.upstream,
        listen=args.listen,
        up=imps["up"],
        down=imps["down"],
        seed=args.seed,
        log=args.log,
        lifetime=args.lifetime,
    )
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
        relay.wake()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    relay.start()
    control = None
    if args.control:
        control = ControlServer(relay, args.control, on_stop=lambda: on_signal(None, None))
        control.start()
    ready = {
        "ready": True,
        "proto": args.proto,
        "pid": __import__("os").getpid(),
        "listen": list(relay.address),
        "port": relay.port,
        "upstream": list(args.upstream),
        "seed": args.seed,
        "lifetime": args.lifetime,
        "control": control.port if control else None,
        "up": dataclasses.asdict(imps["up"]),
        "down": dataclasses.asdict(imps["down"]),
    }
    print(json.dumps(ready), flush=True)
    # Wake now and then so a signal is seen promptly; the relay ends by itself at its
    # lifetime.
    while not stop.is_set() and not relay.wait(0.2):
        pass
    if control:
        control.stop()
    relay.stop()
    print(json.dumps({"stats": relay.stats()}), flush=True)
    return 1 if relay.error else 0
