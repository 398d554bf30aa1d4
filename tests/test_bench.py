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
    keys = {"section", "figure", "min", "median", "max", "value", "unit", "target", "verdict"}
    for row in rows:
        assert set(row) == keys | {"note"}
        assert row["verdict"] in ("", "met", "MISSED", "n/a")
        if row["min"] is not None:
            assert row["min"] <= row["median"] <= row["max"]
    assert report["commit"] and report["commit"] in proc.stdout
    # Progress while it runs, on stderr; the table at the end.
    assert proc.stderr.count("bench [") >= 10
    # Every heap budget is in the table with a verdict, and the ROMFS rows beside them.
    budgets = [r for r in rows if r["section"] == "micropython heap" and r["target"]]
    assert len(budgets) == len(report["budgets"])
    assert all(r["verdict"] in ("met", "MISSED") for r in budgets)
    romfs = [r for r in rows if r["figure"].endswith("(ROMFS)")]
    assert romfs and all(isinstance(r["median"], int) for r in romfs)
    # The image is not counted: ROMFS holds less heap than the same code as .mpy.
    mpy = {r["figure"][: -len("(.mpy)")]: r["median"] for r in budgets}
    for row in romfs:
        assert row["median"] < mpy[row["figure"][: -len("(ROMFS)")]]
    # The heap guard (tests/test_heap_budget.py) measures the same figures through
    # tools.bench.heap.measure(): both must see the same heap. Names interned before
    # a probe's baseline (MICROPYPATH entries too) move where MicroPython opens a
    # qstr pool, a ~3.5 KB step; the text of module paths differs by a few bytes.
    from tools.bench import heap
    from tools.bench.run import BUDGET_TEXT

    code = ("core_ready", "import_udp_tcp", "tls_code", "dtls_code")
    guard = heap.measure(code)
    table = {r["figure"]: r["value"] for r in budgets}
    for name in code:
        bench = table[BUDGET_TEXT[name] + " (.mpy)"]
        why = "%s: make bench %s B, heap guard %s B" % (name, bench, guard[name])
        assert abs(bench - guard[name]) <= 256, why
    # Every figure with a target got a verdict, and the ratios are numbers.
    ratios = [r for r in rows if "ratio twinsock/raw" in r["figure"]]
    assert ratios and all(isinstance(r["value"], float) for r in ratios)
    # The docs' blocks come from the same JSON.
    summary = subprocess.run(
        [sys.executable, "-m", "tools.bench.summary", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert summary.returncode == 0, summary.stderr
    assert "commit %s" % report["commit"] in summary.stdout
    assert "| .mpy on the filesystem | ROMFS image | frozen (est.) |" in summary.stdout
    pico = [line for line in summary.stdout.splitlines() if line.startswith("| Pico W (est.)")]
    assert pico and pico[0].count("~") == 3 and "n/a" not in pico[0]
    # --update rewrites the marked blocks, and only them.
    from tools.bench import summary as summary_module

    doc = tmp_path / "doc.md"
    doc.write_text(
        "Run: <!-- bench:run -->old<!-- /bench:run -->.\n"
        "<!-- bench:forms -->\n| old |\n<!-- /bench:forms -->\nkept\n"
    )
    made = summary_module.blocks(report)
    assert summary_module.update(str(doc), made) == ["run", "forms"]
    text = doc.read_text()
    assert "Run: <!-- bench:run -->%s<!-- /bench:run -->." % made["run"] in text
    assert "<!-- bench:forms -->\n%s\n<!-- /bench:forms -->\nkept\n" % made["forms"] in text
    assert report["commit"] in made["run"]
