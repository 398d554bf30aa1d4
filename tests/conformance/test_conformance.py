"""The conformance suite (tools/conformance) on the built-in platforms and both
examples: each passes for what it claims, and skips exactly what it leaves out.
One set of peers (host server, TLS/DTLS echo) serves every run in this file."""

import subprocess
import sys
from pathlib import Path

import private_resolver
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.conformance import runner  # noqa: E402

MINIMAL = "examples.minimal_platform:MinimalPlatform"
AT_MODEM = "examples.at_modem_platform:ATModemPlatform"
BROKEN = "tests.conformance.broken_platforms:"

# platform -> the rows it leaves out (skipped, with ENOTSUP checked). Anything
# else must pass.
CLAIMS = {
    "cpython": set(),
    "unix": {"get_interface_name"},
    "esp32": {"get_interface_name"},
    "rp2": {"get_interface_name"},
    MINIMAL: {
        "bind",
        "accept",
        "send_to",
        "get_local_host/port",
        "poll",
        "get_interface_name",
        "TLS (engine)",
        "DTLS (engine)",
    },
    AT_MODEM: {
        "bind",
        "accept",
        "send_to",
        "get_interface_name",
        "TLS (engine)",
        "DTLS (engine)",
    },
}
NEEDS_MICROPYTHON = ("unix", "esp32", "rp2")


@pytest.fixture(scope="module")
def peers():
    with runner.Peers(lifetime=120) as started:
        yield started


@pytest.fixture(scope="module")
def names(tmp_path_factory):
    """The prefix under which the checks' "no-such-host.invalid" fails locally."""
    return private_resolver.prefix(tmp_path_factory.mktemp("names"))


def run(platform, peers, names, tls_engine=None, interpreter=None):
    if (platform in NEEDS_MICROPYTHON or interpreter == "micropython") and (
        runner.micropython_binary() is None
    ):
        pytest.skip("no micropython interpreter")
    rows = runner.run(platform, tls_engine, peers=peers, interpreter=interpreter, prefix=names)
    print(runner.table(platform, rows, tls_engine, interpreter))
    return rows


@pytest.mark.parametrize(
    "platform, interpreter",
    [(name, None) for name in CLAIMS] + [(AT_MODEM, "micropython")],
)
def test_platform_conforms(platform, interpreter, peers, names):
    # The AT-modem example also runs on the real MicroPython interpreter, its
    # UART then being a TCP connection to the simulator.
    rows = run(platform, peers, names, interpreter=interpreter)
    failed = runner.failed(rows)
    assert not failed, runner.table(platform, failed)
    skipped = {r["row"] for r in rows if r["outcome"] == "skipped"}
    assert skipped == CLAIMS[platform]
    assert all(r["present"] == "no" for r in rows if r["outcome"] == "skipped")
    assert [r["row"] for r in rows][:3] == [
        "use_platform (register)",
        "features()",
        "create (socket)",
    ]


def test_user_platform_with_registered_tls_engine(peers, names):
    # use_tls_engine() gives the minimal platform (plain CPython sockets) TLS and DTLS.
    rows = run(MINIMAL, peers, names, tls_engine="twinsock_port.tls_cpython")
    assert not runner.failed(rows)
    by_row = {r["row"]: r for r in rows}
    assert by_row["TLS (engine)"]["outcome"] == "passed"
    assert by_row["DTLS (engine)"]["outcome"] == "passed"


@pytest.mark.parametrize(
    "broken, row",
    [
        ("StoredLengthPlatform", "datagram truncation"),
        ("ImpatientWaiterPlatform", "receive timeout (waiter)"),
        ("RawErrorPlatform", "error: DNS failure"),
    ],
)
def test_suite_fails_a_broken_platform(broken, row, peers, names):
    rows = run(BROKEN + broken, peers, names)
    assert row in {r["row"] for r in runner.failed(rows)}


def test_command_line_prints_the_table_and_exits_nonzero_on_failure(names):
    ok = subprocess.run(
        names + [sys.executable, "-m", "tools.conformance", "--platform", MINIMAL],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "method" in ok.stdout and "required" in ok.stdout
    assert "skipped: absent (ENOTSUP checked)" in ok.stdout
    bad = subprocess.run(
        names
        + [
            sys.executable,
            "-m",
            "tools.conformance",
            "--platform",
            BROKEN + "StoredLengthPlatform",
        ],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "datagram truncation" in bad.stdout and "failed" in bad.stdout


def test_unknown_platform_fails_cleanly():
    result = subprocess.run(
        [sys.executable, "-m", "tools.conformance", "--platform", "no.such.module:Nothing"],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "use_platform (register)" in result.stdout
    assert "ModuleNotFoundError" in result.stdout
