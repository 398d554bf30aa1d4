"""Soak: the HIL suite (tests/board/ checks on the emulated board, or on a given board)
round after round through the impairment proxy with mixed faults, for a set time.

    python -m tools.soak [--seconds 300] [--seed 1] [--board unix] [--port P] [--check F]

Per run: one board (deployed once), one host server (tools/hostserver, with its
TLS/DTLS services, certificates and PSK). Per round: one proxy (tools/proxy) in front
of every service the board uses, each with a fault drawn for this round from the menu
below (seeded: round r of seed s is the same draw on every run), the board's
``hil_env.py`` rewritten with the proxies' ports, every check run, the proxies stopped,
and the board's free heap (after ``gc.collect()``) measured. At the end: checks run,
failures (round, check, why, and the faults in force), and the heap over time; the
same as JSON in ``build/soak/soak.json``. Exit status 0 when nothing failed, 1 when a
check failed, 2 when the harness itself failed.

The faults are the ones the checks are written to survive, so that a failure means
the layer misbehaved, not that a check met a fault it cannot handle: the plain-UDP
checks have no retries (a lost, duplicated or corrupted echo fails them by design), so
their path only gets delay and jitter; DTLS paths lose handshake flights (the layer
retransmits), duplicate and reorder datagrams (DTLS drops replays); TCP and TLS paths
get slow ragged reads, stalls and a byte-rate limit. Losing application datagrams,
resets and dead peers are the fault tests' business (tests/faults/).

Some things a relay necessarily changes, so they run against the server directly:
the services ``tcp_whoami`` (it reports the addresses the server saw) and
``tcp_refused`` (a relay accepts every connection, so a connect through it is never
refused) are not relayed, and the checks ``udp_echo`` and ``ip_stickiness`` run with
the direct ports (they compare the port or address the server saw with the board's
own, and the board's unconnected UDP socket holds its port on every address, so not
even a port-preserving relay on another loopback address can keep it).
"""

import json
import os
import random
import time

from tools.proxy import TcpImpairment, TcpProxy, UdpImpairment, UdpProxy

DIRECT_SERVICES = ("tcp_whoami", "tcp_refused")
DIRECT_CHECKS = ("udp_echo", "ip_stickiness")
DATAGRAM_SERVICES = ("udp", "dtls_echo", "dtls_psk_echo")

# name -> (up impairment fields, down impairment fields)
UDP_FAULTS = {
    "clean": ({}, {}),
    "delay": ({"delay_ms": 20, "jitter_ms": 15}, {"delay_ms": 20, "jitter_ms": 15}),
}
DTLS_FAULTS = {
    "clean": ({}, {}),
    "hello_lost": ({"drop_first": 1}, {}),  # the ClientHello: resent by the layer
    "flight_lost": ({}, {"drop_first": 1}),  # the server's first flight
    "jitter_dup": (
        {"delay_ms": 10, "jitter_ms": 10, "duplicate": 0.2},
        {"delay_ms": 10, "jitter_ms": 10, "duplicate": 0.2, "reorder": 0.2},
    ),
}
TCP_FAULTS = {
    "clean": ({}, {}),
    "ragged": (
        {"read_size": 1024, "random_read_size": True},
        {"read_size": 1024, "random_read_size": True},
    ),
    "stalls": (
        {"read_size": 4096, "random_read_size": True, "stall_chance": 0.02, "stall_ms": 100},
        {"read_size": 4096, "random_read_size": True, "stall_chance": 0.02, "stall_ms": 100},
    ),
    "throttle": ({"rate": 256 * 1024}, {"rate": 512 * 1024}),
}


def fault_menu(service):
    if service == "udp":
        return UDP_FAULTS
    if service in DATAGRAM_SERVICES:
        return DTLS_FAULTS
    return TCP_FAULTS


def draw_faults(seed, round_number, services):
    """{service: fault name} for one round: a seeded draw per service."""
    drawn = {}
    for service in sorted(services):
        rng = random.Random("twinsock-soak/%s/%d/%s" % (seed, round_number, service))
        drawn[service] = rng.choice(sorted(fault_menu(service)))
    return drawn


def proxy_seed(seed, round_number):
    return seed * 100000 + round_number


class RoundProxies:
    """One relay per proxied service for one round; `ports` is what the board gets."""

    def __init__(self, host, upstream_ports, faults, seed, lifetime_s):
        self.relays = {}
        self.faults = faults
        self.ports = dict(upstream_ports)
        try:
            for service, fault in sorted(faults.items()):
                up, down = fault_menu(service)[fault]
                upstream = (host, upstream_ports[service])
                if service in DATAGRAM_SERVICES:
                    relay = UdpProxy(
                        upstream,
                        listen=(host, 0),
                        up=UdpImpairment(**up),
                        down=UdpImpairment(**down),
                        seed=seed,
                        lifetime=lifetime_s,
                    )
                else:
                    relay = TcpProxy(
                        upstream,
                        listen=(host, 0),
                        up=TcpImpairment(**up),
                        down=TcpImpairment(**down),
                        seed=seed,
                        lifetime=lifetime_s,
                    )
                relay.start()
                self.relays[service] = relay
                self.ports[service] = relay.port
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """Stop every relay; {service: its statistics}."""
        stats = {}
        for service, relay in self.relays.items():
            stats[service] = relay.stats()
            relay.stop()
        self.relays = {}
        return stats


def fault_summary(service, stats):
    """The few counters that say what a relay did to the traffic."""
    out = {}
    for direction in ("up", "down"):
        counters = stats.get(direction, {})
        for name in ("dropped", "duplicated", "reordered", "reorder_expired", "stalls"):
            if counters.get(name):
                out["%s_%s" % (direction, name)] = counters[name]
    return out


class SoakReport:
    """What a soak run saw, round by round; `as_dict()` is the JSON report."""

    def __init__(self, seed, seconds, board_label):
        self.seed = seed
        self.seconds = seconds
        self.board = board_label
        self.rounds = []
        self.failures = []
        self.heap_start = None
        self.started = time.monotonic()
        self.error = None

    @property
    def checks_run(self):
        return sum(r["checks"] for r in self.rounds)

    def add_round(self, number, faults, results, heap_free, stats, seconds):
        failed = [r for r in results if r.failed]
        for result in failed:
            self.failures.append(
                {
                    "round": number,
                    "check": result.name,
                    "result": result.result,
                    "why": result.detail,
                    "faults": faults,
                }
            )
        heaps = [r.heap_before for r in results if r.heap_before is not None]
        self.rounds.append(
            {
                "round": number,
                "t": round(time.monotonic() - self.started, 1),
                "seconds": round(seconds, 2),
                "faults": faults,
                "checks": len(results),
                "passed": sum(1 for r in results if r.result == "pass"),
                "skipped": sum(1 for r in results if r.result == "skip"),
                "failed": len(failed),
                "heap_free": heap_free,
                "heap_min_before_check": min(heaps) if heaps else None,
                "relays": {s: fault_summary(s, st) for s, st in sorted(stats.items())},
            }
        )

    def as_dict(self):
        heaps = [r["heap_free"] for r in self.rounds if r["heap_free"] is not None]
        return {
            "seed": self.seed,
            "seconds_asked": self.seconds,
            "seconds_run": round(time.monotonic() - self.started, 1),
            "board": self.board,
            "rounds_run": len(self.rounds),
            "checks_run": self.checks_run,
            "failures": self.failures,
            "heap_free_start": self.heap_start,
            "heap_free_by_round": heaps,
            "heap_drift": (heaps[-1] - heaps[0]) if len(heaps) > 1 else 0,
            "rounds": self.rounds,
            "error": self.error,
        }

    def text(self):
        data = self.as_dict()
        lines = [
            "soak: board %s, seed %d, %.0f s asked, %.0f s run"
            % (self.board, self.seed, self.seconds, data["seconds_run"]),
            "%d rounds, %d checks run, %d failed"
            % (len(self.rounds), self.checks_run, len(self.failures)),
        ]
        if self.error:
            lines.append("harness error: %s" % self.error)
        if self.failures:
            lines.append("")
            lines.append("failures:")
            for failure in self.failures:
                check = failure["check"]
                lines.append(
                    "  round %d  %-20s %-12s %s"
                    % (failure["round"], check, failure["result"], failure["why"])
                )
        lines.append("")
        lines.append("heap over time (free after gc.collect(), after each round):")
        lines.append(
            "  %-6s %7s %6s %7s %10s  %s" % ("ROUND", "T(s)", "CHECKS", "FAILED", "HEAP", "")
        )
        if self.heap_start is not None:
            lines.append("  %-6s %7s %6s %7s %10d" % ("start", "0.0", "-", "-", self.heap_start))
        for r in self.rounds:
            faulty = ",".join(
                "%s=%s" % (s, f) for s, f in sorted(r["faults"].items()) if f != "clean"
            )
            lines.append(
                "  %-6d %7.1f %6d %7d %10s  %s"
                % (r["round"], r["t"], r["checks"], r["failed"], r["heap_free"], faulty)
            )
        lines.append("heap drift, first round to last: %+d bytes" % data["heap_drift"])
        return "\n".join(lines)

    def write_json(self, path):
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(path, "w") as out:
            json.dump(self.as_dict(), out, indent=1)
            out.write("\n")
