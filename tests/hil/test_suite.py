"""The real on-board suite (tests/board/) through `python -m tools.hil run`, as `make hil`
runs it: emulated board, deploy, host server with certificates and PSK, every check;
a failing check reported as failed; two boards in parallel with their own servers."""

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest
from hil_support import REPO_ROOT, SCRIPTS, table_rows

from tools.hil import checks

SUITE_TIMEOUT_S = 180
BOARD_CHECKS = os.path.join(REPO_ROOT, "tests", "board")


def hil(*args):
    command = [sys.executable, "-m", "tools.hil", "run"] + list(args)
    return subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, timeout=SUITE_TIMEOUT_S, text=True
    )


def test_the_whole_suite_passes_on_the_emulated_board(tmp_path):
    junit = tmp_path / "hil.xml"
    result = hil("--junit", str(junit))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    rows = table_rows(result.stdout)
    expected = {check.name for check in checks.default_checks()}
    assert set(rows) == expected, output
    assert all(value == "pass" for value in rows.values()), output
    for kind in ("udp_", "tcp_", "tls_", "dtls_"):
        assert any(name.startswith(kind) for name in rows), kind
    assert {"tls_psk", "dtls_psk", "tls_cert", "dtls_cert", "tls_bad_ca"} <= set(rows)
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    assert int(suite.get("tests")) == len(expected)
    bad_ca = [case for case in suite.iter("testcase") if case.get("name") == "tls_bad_ca"][0]
    assert "certificate verify failed: unknown CA" in bad_ca.find("system-out").text
    # the host side saw it too: a handshake on every secure echo service
    with open(os.path.join(REPO_ROOT, "build", "hil", "hostserver", "unix.jsonl")) as log:
        events = [json.loads(line) for line in log]
    handshakes = {e["service"] for e in events if e["event"] == "handshake"}
    assert handshakes >= {
        "tls_echo",
        "tls_psk_echo",
        "tls_client_auth_echo",
        "dtls_echo",
        "dtls_psk_echo",
    }, handshakes
    refused = {e["service"] for e in events if e["event"] == "handshake_failed"}
    assert refused >= {"tls_expired", "tls_untrusted"}, refused


def test_a_failing_check_is_reported_as_failed(tmp_path):
    junit = tmp_path / "hil.xml"
    result = hil(
        "--junit",
        str(junit),
        "--check",
        os.path.join(BOARD_CHECKS, "udp_echo.py"),
        "--check",
        os.path.join(SCRIPTS, "wrong_psk.py"),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    rows = table_rows(result.stdout)
    assert rows == {"udp_echo": "pass", "wrong_psk": "fail"}
    assert "TLSError" in result.stdout  # the progress line names the exception
    failure = ElementTree.parse(junit).getroot().find("testsuite/testcase[@name='wrong_psk']")
    assert failure.find("failure") is not None


def test_two_boards_in_parallel_each_with_its_own_server(tmp_path):
    junit = tmp_path / "hil.xml"
    result = hil(
        "--emulated",
        "2",
        "--junit",
        str(junit),
        "--check",
        os.path.join(SCRIPTS, "server_ports.py"),
        "--check",
        os.path.join(BOARD_CHECKS, "tls_psk.py"),
        "--check",
        os.path.join(BOARD_CHECKS, "dtls_cert.py"),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for board in ("unix#1", "unix#2"):
        assert table_rows(result.stdout, board) == {
            "server_ports": "pass",
            "tls_psk": "pass",
            "dtls_cert": "pass",
        }, output
    summary = result.stdout.split("summary\n", 1)[1]
    assert re.search(r"unix#1\s+3\s+3\s+0\s+0", summary) and re.search(r"unix#2\s+3\s+3", summary)
    cases = {c.get("name"): c for c in ElementTree.parse(junit).getroot().iter("testcase")}
    assert len(cases) == 6, sorted(cases)
    ports = []
    for board in ("unix#1", "unix#2"):
        case = cases["server_ports[%s]" % board]
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert properties["hil_board"] == board and properties["hil_result"] == "pass"
        ports.append(re.findall(r"(udp|tls)_port (\d+)", case.find("system-out").text))
    assert ports[0] and ports[1] and set(ports[0]).isdisjoint(ports[1]), ports


def test_an_unreachable_server_address_is_named():
    result = hil(
        "--no-deploy", "--server-host", "192.0.2.1", "--check", os.path.join(SCRIPTS, "passing.py")
    )
    assert result.returncode == 2
    assert "192.0.2.1" in result.stderr and "address of this host" in result.stderr


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pyserial's own thread setup
def test_a_board_on_a_remote_bench_over_rfc2217(emulated):
    """`make hil PORT=rfc2217://bench:4000`: deploy and secure checks through a bridge."""
    from rfc2217_bridge import Rfc2217Bridge

    bridge = Rfc2217Bridge(emulated.port).start()
    try:
        result = hil(
            "--port",
            bridge.url + "?ign_set_control",
            "--check",
            os.path.join(BOARD_CHECKS, "tls_psk.py"),
            "--check",
            os.path.join(BOARD_CHECKS, "dtls_cert.py"),
        )
    finally:
        bridge.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"deploy on unix: \d+ copied, \d+ unchanged, \d+ removed", result.stdout)
    assert "DeployReport" not in result.stdout + result.stderr
    assert table_rows(result.stdout) == {"tls_psk": "pass", "dtls_cert": "pass"}
