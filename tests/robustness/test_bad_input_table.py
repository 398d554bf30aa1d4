"""Bad input, table-driven (issue 7 item 4): mp_bad_input.py runs on the real
MicroPython interpreter (Pico W-sized heap) and on CPython; every case must let
only NetError escape, with an allowed errno, a message naming the argument, and
leave its socket echoing through the host server (or cleanly closed)."""

import pytest

GROUPS = (
    "factory",
    "config",
    "host",
    "port",
    "buffer",
    "size",
    "data",
    "option",
    "poll",
    "resolve",
    "lifecycle",
)
RUNTIMES = ("micropython", "cpython")

_runs = {}


@pytest.fixture(scope="module")
def table(run_script, peer_json, compiled):
    def get(runtime):
        if runtime not in _runs:
            result = run_script(
                "mp_bad_input.py",
                peer=peer_json,
                python=runtime == "cpython",
                path=None if runtime == "cpython" else compiled,
                timeout=90,
            )
            _runs[runtime] = result
        return _runs[runtime]

    return get


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_table_ran_to_the_end(table, runtime):
    result = table(runtime)
    assert result.done(), "the script stopped early:\n" + result.tail()
    counts = result.one("counts")["counts"]
    print("%s: %d inputs tried: %r" % (runtime, sum(counts.values()), counts))
    assert set(counts) == set(GROUPS)


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_bad_input(table, runtime, group):
    result = table(runtime)
    cases = [r for r in result.records if r.get("group") == group]
    assert cases, "no %s cases ran:\n%s" % (group, result.tail())
    failures = ["%s: %s" % (r["case"], "; ".join(r["problems"])) for r in cases if r["problems"]]
    assert not failures, "%d of %d %s cases failed on %s:\n  %s" % (
        len(failures),
        len(cases),
        group,
        runtime,
        "\n  ".join(failures),
    )
