"""Smoke test of the benchmark tool: `python -m tools.bench --quick` runs and
writes a well-formed table and JSON. It asserts shape, never speed: the
figures are read by people (docs/BENCHMARKS.md), not checked by tests."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_quick_writes_table_and_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tools.bench", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| section" in proc.stdout
    report = json.loads(out.read_text())
    assert set(report["runtimes"]) == {"cpython", "micropython"}
    for runtime in report["runtimes"].values():
        for bench in ("udp", "tcp"):
            figures = runtime[bench]["figures"]
            assert figures["raw"] and figures["twinsock"]
    rows = report["table"]
    assert {r["section"] for r in rows} >= {"cpython", "micropython", "micropython heap", "sizes"}
    for row in rows:
        assert set(row) == {"section", "figure", "value", "unit", "target", "verdict", "note"}
        assert row["verdict"] in ("", "met", "MISSED", "n/a")
    # Every figure with a target got a verdict, and the ratios are numbers.
    ratios = [r for r in rows if "ratio twinsock/raw" in r["figure"]]
    assert ratios and all(isinstance(r["value"], float) for r in ratios)
