"""The soak tool (tools/soak, `make soak`) in miniature, and the proxy features it and
the DTLS fault tests use (`drop_at`, the first byte of each datagram in the log).

The soak smoke run is two rounds of a few checks on the emulated board, one of them a
planted failure: it must run the rounds, report the failure with its check and why,
and report the board's free heap after every round. It asserts no speed."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from test_proxy import run_udp

from tools.soak import DIRECT_CHECKS, DTLS_FAULTS, draw_faults, fault_menu

ROOT = Path(__file__).resolve().parent.parent.parent
BOARD_CHECKS = ROOT / "tests" / "board"
SOAK_LIMIT_S = 120


def test_drop_at_drops_exactly_those_datagrams_and_the_log_names_their_first_byte():
    log = io.StringIO()
    sent, got, stats = run_udp(10, seed=1, log=log, drop_at=(1, 4))
    assert got == [p for i, p in enumerate(sent) if i not in (1, 4)], got
    assert stats["up"]["dropped"] == 2
    records = [json.loads(line) for line in log.getvalue().splitlines()]
    datagrams = [r for r in records if r.get("event") == "datagram"]
    assert [r["index"] for r in datagrams if r["drop"] == "drop_at"] == [1, 4]
    assert [r["first"] for r in datagrams] == [p[0] for p in sent]


def test_fault_draws_are_seeded_per_round_and_service():
    services = ["udp", "dtls_echo", "tcp_echo", "tls_echo"]
    first = draw_faults(1, 1, services)
    assert first == draw_faults(1, 1, services)
    assert first["dtls_echo"] in DTLS_FAULTS
    for service, fault in first.items():
        assert fault in fault_menu(service)
    rounds = [draw_faults(1, n, services) for n in range(1, 9)]
    assert len({json.dumps(r, sort_keys=True) for r in rounds}) > 1  # mixed over rounds


def test_soak_runs_rounds_and_reports_checks_failures_and_heap(tmp_path):
    planted = tmp_path / "planted_failure.py"
    planted.write_text('raise AssertionError("planted failure")\n')
    report_path = tmp_path / "soak.json"
    names = ["udp_echo", "udp_timeout", "tcp_eof_reset", "dtls_psk", "tls_psk"]
    command = [sys.executable, "-m", "tools.soak", "--seconds", "60", "--rounds", "2"]
    command += ["--seed", "5", "--json", str(report_path)]
    for name in names:
        command += ["--check", str(BOARD_CHECKS / (name + ".py"))]
    command += ["--check", str(planted)]
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    result = subprocess.run(
        command,
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=SOAK_LIMIT_S,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # a check failed: exit 1, not a harness error
    report = json.loads(report_path.read_text())
    assert report["error"] is None, output
    assert report["rounds_run"] == 2 and report["checks_run"] == 2 * (len(names) + 1), report
    # only the planted check failed, in both rounds, with its reason
    assert [(f["round"], f["check"]) for f in report["failures"]] == [
        (1, "planted_failure"),
        (2, "planted_failure"),
    ], output
    assert all("planted failure" in f["why"] for f in report["failures"]), report["failures"]
    # the heap after every round, as numbers
    assert isinstance(report["heap_free_start"], int), report
    heaps = report["heap_free_by_round"]
    assert len(heaps) == 2 and all(isinstance(h, int) and h > 0 for h in heaps), report
    # the faults of a round are the seeded draw, and the relays saw the traffic
    for record in report["rounds"]:
        assert record["faults"] == draw_faults(5, record["round"], record["faults"]), record
        assert {"udp", "dtls_psk_echo", "tls_psk_echo", "tcp_control"} <= set(record["faults"])
        assert "tcp_refused" not in record["faults"] and "tcp_whoami" not in record["faults"]
    assert "udp_echo" in DIRECT_CHECKS
    assert "heap over time" in result.stdout and "planted_failure" in result.stdout, output
