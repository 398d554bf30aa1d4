"""python -m tools.bench.summary [build/bench.json] [--update]

The figures the README and docs/BENCHMARKS.md quote, as markdown, from the JSON of
the last `make bench`: refreshing the docs is `make bench` then this with --update,
which rewrites the blocks between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`
(run, speed, budgets, forms, table) in both files. Ranges are min-max over the rounds
(speed) or repeats (heap).

The Pico W column is an estimate, not a measurement: the 64-bit unix figures divided
by the 64-bit/32-bit ratio measured for each deployment form (docs/BENCHMARKS.md),
for the DTLS session the "DTLS code" row loads the code of: a DTLS-PSK one with the
default suites, on twinsock's own engine."""

import json
import os
import re
import sys

from tools.bench import psk_cost
from tools.bench.run import ROOT

# 64-bit unix port over a 32-bit build of the same MicroPython, core ready, twinsock
# 3678ae1: .mpy 55.8 / 38.6 KB, ROMFS 33.2 / 18.6 KB, frozen 18.4 / 9.2 KB.
RATIO_64_TO_32 = {"mpy": 55.8 / 38.6, "romfs": 33.2 / 18.6, "frozen": 18.4 / 9.2}
# Frozen over ROMFS on the 64-bit port at 3678ae1 (18.4 / 33.2 KB): frozen cannot be
# built here (it needs a firmware build), so its column is ROMFS times this.
FROZEN_OVER_ROMFS = 18.4 / 33.2
PICO_W_HEAP = 192 * 1024  # gc heap of a Pico W with WLAN up, about what -X heapsize=192K gives
# What one DTLS-PSK session on twinsock's own engine holds after its handshake,
# 64-bit: at most psk_cost's session target (4 KB), the bound tests/psk/test_costs.py
# guards (python -m tools.bench.psk_cost measured 3,328 B at eee0b67). A certificate
# session runs on mbedTLS instead, whose ~17 KB of buffers come from the Python heap
# on rp2.
PSK_SESSION = psk_cost.TARGETS["session_kb"] * 1024


def rows_by_figure(report):
    return {(r["section"], r["figure"]): r for r in report["table"]}


def span(row, scale=1.0, unit=""):
    """'median (min-max)', or one value when they agree, in the row's unit, scaled."""
    if row is None or not isinstance(row.get("median"), (int, float)):
        return "n/a"
    low = row["min"] if row["min"] is not None else row["median"]
    high = row["max"] if row["max"] is not None else row["median"]

    def fmt(v):
        v = v * scale
        return "%.2f" % v if abs(v) < 10 else "{:,.0f}".format(v)

    if fmt(low) == fmt(high):
        return fmt(row["median"]) + unit
    return "%s%s (%s-%s)" % (fmt(row["median"]), unit, fmt(low), fmt(high))


def kb(value):
    return "%.1f KB" % (value / 1024.0)


def heap_value(rows, text, form):
    row = rows.get(("micropython heap", "%s (%s)" % (text, form)))
    return row["median"] if row and isinstance(row["median"], (int, float)) else None


def speed_block(report, rows):
    lines = [
        "| figure: median (min-max of %d rounds) | CPython | MicroPython | target |"
        % report["params"]["rounds"],
        "|---|---|---|---|",
    ]
    figures = [
        ("UDP ping-pong twinsock/raw", "UDP ratio twinsock/raw", ">= 0.90"),
        ("TCP send twinsock/raw", "TCP send ratio twinsock/raw", ">= 0.90"),
        ("TCP receive_into twinsock/raw", "TCP receive_into ratio twinsock/raw", ">= 0.90"),
        ("TLS handshake twinsock/raw", "TLS handshake twinsock/raw", "<= 1.05"),
        ("DTLS handshake twinsock/raw", "DTLS handshake twinsock/raw", "<= 1.05"),
    ]
    for label, figure, target in figures:
        cells = [span(rows.get((rt, figure))) for rt in ("cpython", "micropython")]
        lines.append("| %s | %s | %s | %s |" % (label, cells[0], cells[1], target))
    return lines


def budget_block(report, rows):
    lines = [
        "| heap budget (tools/bench/heap.py) | measured (.mpy, 192K heap) | budget | verdict |",
        "|---|---|---|---|",
    ]
    for row in report["table"]:
        if row["section"] == "micropython heap" and row["target"]:
            unit = " B/call" if row["unit"] == "B/call" else " B"
            lines.append(
                "| %s | %s | %s | %s |"
                % (row["figure"].replace(" (.mpy)", ""), span(row, unit=unit),
                   row["target"].replace("<= ", "<= ") + unit, row["verdict"])
            )  # fmt: skip
    return lines


def forms_block(rows):
    """The three deployment forms side by side, and what a Pico W keeps free."""
    core = "core ready: import + first udp_socket()"
    both = "import + 1 UDP + 1 TCP socket"
    dtls = "DTLS code on top of the core"
    per_tls = heap_value(rows, "per open TLS socket beyond raw", ".mpy") or 0
    lines = [
        "| heap, 64-bit unix port | .mpy on the filesystem | ROMFS image | frozen (est.) |",
        "|---|---|---|---|",
    ]
    est = {}
    for text in (core, both, dtls):
        mpy, rom = heap_value(rows, text, ".mpy"), heap_value(rows, text, "ROMFS")
        frozen = rom * FROZEN_OVER_ROMFS if rom is not None else None
        est[text] = {"mpy": mpy, "romfs": rom, "frozen": frozen}
        cells = [kb(v) if v is not None else "n/a" for v in (mpy, rom, frozen)]
        lines.append("| %s | %s | %s | %s |" % (text, cells[0], cells[1], cells[2]))
    lines.append(
        "| Pico W (est.): heap free with twinsock + one DTLS session, of %s | %s |"
        % (kb(PICO_W_HEAP), " | ".join(pico_w_free(est, core, dtls, per_tls, f)
                                       for f in ("mpy", "romfs", "frozen")))
    )  # fmt: skip
    return lines


def pico_w_free(est, core, dtls, per_tls, form):
    if est[core][form] is None or est[dtls][form] is None:
        return "n/a"
    code = (est[core][form] + est[dtls][form]) / RATIO_64_TO_32[form]
    session = (per_tls + PSK_SESSION) / RATIO_64_TO_32["mpy"]
    return "~" + kb(PICO_W_HEAP - code - session)


def blocks(report):
    """{marker name: markdown} for the marked places in the docs."""
    from tools.bench.run import Table

    rows = rows_by_figure(report)
    table = Table()
    table.rows = report["table"]
    run = "`make bench` at commit %s (full run %.0f s%s)" % (
        report.get("commit", "unknown"),
        report.get("seconds", 0),
        ", --quick" if report["params"].get("rounds", 0) < 10 else "",
    )
    return {
        "run": run,
        "speed": "\n".join(speed_block(report, rows)),
        "budgets": "\n".join(budget_block(report, rows)),
        "forms": "\n".join(forms_block(rows)),
        "table": table.render(),
    }


MARKED = re.compile(r"(<!-- bench:([a-z]+) -->)(.*?)(<!-- /bench:\2 -->)", re.S)
DOCS = ("README.md", os.path.join("docs", "BENCHMARKS.md"))


def update(path, made):
    """Replace every marked block of `path` with the new figures; returns the names."""
    with open(path) as f:
        text = f.read()
    seen = []

    def replace(match):
        name = match.group(2)
        seen.append(name)
        body = made[name]
        if "\n" in match.group(3):  # a block: markers on lines of their own
            body = "\n" + body + "\n"
        return match.group(1) + body + match.group(4)

    text = MARKED.sub(replace, text)
    with open(path, "w") as f:
        f.write(text)
    return seen


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.bench.summary", description=__doc__)
    parser.add_argument("json", nargs="?", default=os.path.join(ROOT, "build", "bench.json"))
    parser.add_argument(
        "--update", action="store_true",
        help="write the figures into the marked blocks of README.md and docs/BENCHMARKS.md",
    )  # fmt: skip
    args = parser.parse_args(argv)
    with open(args.json) as f:
        report = json.load(f)
    made = blocks(report)
    if args.update:
        for doc in DOCS:
            names = update(os.path.join(ROOT, doc), made)
            print("%s: %s" % (doc, ", ".join(names) or "no marked blocks"))
        return 0
    print("<!-- %s -->" % made["run"])
    for name in ("speed", "budgets", "forms"):
        print(made[name])
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
