"""The MicroPython side of the behavioural suite: tests/mpy_runner.py and the way
tests/conftest.py turns its output (or its crash, or its hang) into results."""

import json
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

SAMPLE = textwrap.dedent(
    """
    from expect import Skip

    def test_passes(peer):
        assert peer.port("udp") > 0

    def test_fails(peer):
        assert 1 == 2, "one is not two"

    def test_skips(peer):
        raise Skip("not here")

    def test_raises(peer):
        raise ValueError("boom")
    """
)
NAMES = ["test_passes", "test_fails", "test_skips", "test_raises"]


@pytest.fixture
def conftest(request):
    # tests/conftest.py as pytest loaded it (other directories have a conftest too,
    # so `import conftest` could name another one).
    for plugin in request.config.pluginmanager.get_plugins():
        path = getattr(plugin, "__file__", None)
        if path and Path(path).resolve() == HERE / "conftest.py":
            return plugin
    raise LookupError("tests/conftest.py is not loaded")


@pytest.fixture
def behaviour_dir(conftest, tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "BEHAVIOUR", tmp_path)
    (tmp_path / "expect.py").write_text((conftest.TESTS / "behaviour" / "expect.py").read_text())
    return tmp_path


def run_sample(conftest, behaviour_dir, body, runtime="micropython-unix", names=NAMES):
    path = behaviour_dir / "test_sample.py"
    path.write_text(body)
    return conftest.Run(path, runtime, names, None)


def test_runner_reports_each_outcome_on_micropython(conftest, behaviour_dir):
    run = run_sample(conftest, behaviour_dir, SAMPLE)
    run.start()
    assert run.record("test_passes")["outcome"] == "passed"
    failed = run.record("test_fails")
    assert failed["outcome"] == "failed"
    assert "AssertionError" in failed["message"]
    assert "one is not two" in failed["message"]
    assert run.record("test_skips") == dict(run.record("test_skips"), outcome="skipped")
    assert run.record("test_skips")["message"] == "not here"
    raised = run.record("test_raises")
    assert raised["outcome"] == "failed" and "ValueError: boom" in raised["message"]


def test_runner_runs_on_cpython_too(conftest, behaviour_dir):
    run = run_sample(conftest, behaviour_dir, SAMPLE, runtime="cpython")
    run.start()
    assert [run.record(n)["outcome"] for n in NAMES] == ["passed", "failed", "skipped", "failed"]


def test_interpreter_crash_fails_the_running_and_later_tests(conftest, behaviour_dir):
    body = SAMPLE.replace('raise ValueError("boom")', "import sys; sys.exit(3)")
    run = run_sample(conftest, behaviour_dir, body, names=["test_raises", "test_passes"])
    run.start()
    crashed = run.record("test_raises")
    assert crashed["outcome"] == "failed"
    assert "exited with status 3 while running test_raises" in crashed["message"]
    later = run.record("test_passes")
    assert later["outcome"] == "failed"
    assert (
        "not run: the interpreter exited with status 3 while running test_raises"
        in (later["message"])
    )


def test_interpreter_hang_is_killed_within_the_time_limit(conftest, behaviour_dir, monkeypatch):
    monkeypatch.setattr(conftest, "RUN_TIME_LIMIT", 2.0)
    body = SAMPLE.replace('raise ValueError("boom")', "while True:\n        pass")
    run = run_sample(
        conftest, behaviour_dir, body, names=["test_passes", "test_raises", "test_fails"]
    )
    run.start()
    assert run.record("test_passes")["outcome"] == "passed"
    hung = run.record("test_raises")
    assert hung["outcome"] == "failed"
    assert "hung (killed after 2 s) while running test_raises" in hung["message"]
    assert run.process.returncode is not None


def test_parse_output_ignores_stray_lines(conftest):
    mark = conftest.MARK
    output = "\n".join(
        [
            "Warning: lwip.setsockopt() option not implemented",
            mark + json.dumps({"start": "test_a"}),
            mark + json.dumps({"test": "test_a", "outcome": "passed", "message": "", "ms": 1}),
            mark + json.dumps({"done": True}),
        ]
    )
    records = conftest.parse_output(output, 0, False)
    assert records["test_a"]["outcome"] == "passed"
    assert records["how"] == "finished"
    assert "Warning" in records["tail"]
