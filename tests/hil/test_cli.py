"""`python -m tools.hil` end to end: emulated board started, checks run, table, junit."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

from hil_support import REPO_ROOT, SCRIPTS

CLI_TIMEOUT_S = 60


def hil(*args):
    command = [sys.executable, "-m", "tools.hil"] + list(args)
    return subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, timeout=CLI_TIMEOUT_S, text=True
    )


def check(name):
    return ["--check", os.path.join(SCRIPTS, name)]


def test_run_the_builtin_check_end_to_end(tmp_path):
    junit = tmp_path / "hil.xml"
    builtin = os.path.join(REPO_ROOT, "tools", "hil", "builtin_checks", "board_info.py")
    result = hil("run", "--no-deploy", "--junit", str(junit), "--check", builtin)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "board_info" in result.stdout and "1 checks, 0 failed" in result.stdout
    case = ElementTree.parse(junit).getroot().find("testsuite/testcase")
    assert case.get("name") == "board_info"
    assert "mem_free" in case.find("system-out").text


def test_run_reports_each_failure_kind_and_exits_non_zero(tmp_path):
    junit = tmp_path / "hil.xml"
    checks = check("hang.py") + check("passing.py") + check("crash.py") + check("failing.py")
    checks += check("skipping.py") + check("exhaust_heap.py")
    result = hil(
        "run", "--no-deploy", "--heap", "64K", "--timeout", "1", "--junit", str(junit), *checks
    )
    assert result.returncode == 1, result.stdout + result.stderr
    table = result.stdout.split("CHECK", 1)[1].splitlines()[2:-1]  # rows between header and total
    rows = {line.split()[0]: line.split()[1] for line in table}
    assert rows["hang"] == "timeout"
    assert rows["passing"] == "pass"
    assert rows["crash"] == "crash"
    assert rows["failing"] == "fail"
    assert rows["skipping"] == "skip"
    assert rows["exhaust_heap"] == "memory_error"
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "6" and suite.get("failures") == "4"


def test_unreachable_port_gives_a_message_a_person_can_act_on():
    result = hil("run", "--board", "esp32", "--port", "/dev/nonexistent-board")
    assert result.returncode == 2
    assert "cannot open /dev/nonexistent-board" in result.stderr


def test_server_host_explicit_auto_and_default():
    import argparse

    from tools.hil.cli import server_host

    def args(value):
        return argparse.Namespace(server_host=value)

    assert server_host(args("192.0.2.7"), "esp32", "192.0.2.50") == "192.0.2.7"
    assert server_host(args(None), "unix", None) == "127.0.0.1"
    # auto: this host's address on the route to the board (loopback here)
    assert server_host(args(None), "esp32", "127.0.0.1") == "127.0.0.1"
    assert server_host(args("auto"), "rp2040", "127.0.0.1") == "127.0.0.1"


def test_all_without_boards_says_so():
    result = hil("run", "--all")
    assert result.returncode == 2
    assert "no boards attached" in result.stderr
