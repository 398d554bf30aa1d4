"""`python -m tools.hil` end to end: emulated board started, checks run, table, junit;
and the command line's messages (one line per error, units, plurals)."""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

from hil_support import REPO_ROOT, SCRIPTS, table_rows

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
    assert table_rows(result.stdout) == {"board_info": "pass"}
    assert "\n1 check, 0 failed\n" in result.stdout  # not "1 checks"
    case = ElementTree.parse(junit).getroot().find("testsuite/testcase")
    assert case.get("name") == "board_info"
    assert "mem_free" in case.find("system-out").text


def test_run_reports_each_failure_kind_and_exits_non_zero(tmp_path):
    junit = tmp_path / "hil.xml"
    checks = check("hang.py") + check("passing.py") + check("crash.py") + check("failing.py")
    checks += check("exhaust_heap.py") + check("skipping.py")
    result = hil(
        "run", "--no-deploy", "--heap", "64K", "--timeout", "1", "--junit", str(junit), *checks
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert table_rows(result.stdout) == {
        "hang": "timeout",
        "passing": "pass",
        "crash": "crash",
        "failing": "fail",
        "exhaust_heap": "memory_error",
        "skipping": "skip",  # after a MemoryError the board was made usable again
    }, result.stdout
    assert "no end after 1.0 s; recovered by interrupt, soft reset" in result.stdout
    xml_text = junit.read_text()
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "6" and suite.get("failures") == "4"
    assert suite.get("skipped") == "1"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    failure = cases["failing"].find("failure")
    assert "Traceback (most recent call last)" in failure.text
    assert "ValueError: this check fails on purpose" in failure.text
    assert cases["hang"].find("failure").get("message").startswith("timeout: no end after")
    # system-out is the board's text: no raw REPL framing (Ctrl-A/D, raw-paste header)
    # nor pytest's escapes of it
    assert not re.search(r"#x0[0-8bcef]|#x1[0-9a-f]|R#x01", xml_text, re.IGNORECASE)
    for case in cases.values():
        out = case.find("system-out")
        text = out.text if out is not None else ""
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", text or ""), case.get("name")
    assert "about to crash" in cases["crash"].find("system-out").text


def test_an_unknown_check_is_one_line_and_exit_2():
    for wanted in ("no_such_check", "/nowhere/at_all.py"):
        result = hil("run", "--no-deploy", "--check", wanted)
        assert result.returncode == 2, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: no check %r" % wanted), lines
        assert "udp_echo" in lines[0]  # says what there is
    assert hil("run", "--no-deploy", "--check", "udp_echo", "--", "--collect-only").returncode == 0


def test_timeout_help_gives_its_unit():
    result = hil("run", "--help")
    assert re.search(r"--timeout SECONDS\s+seconds each check may run", result.stdout)


def test_deploy_without_a_port_says_where_it_went():
    result = hil("deploy")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\d+ copied, \d+ unchanged, \d+ removed", result.stdout)
    assert "deployed to a throwaway emulated board" in result.stdout
    assert "DeployReport" not in result.stdout


def test_unreachable_port_gives_a_message_a_person_can_act_on():
    result = hil("run", "--board", "esp32", "--port", "/dev/nonexistent-board")
    assert result.returncode == 2
    assert "cannot open /dev/nonexistent-board" in result.stderr
    # said once, with no traceback
    assert (result.stdout + result.stderr).count("cannot open /dev/nonexistent-board") == 1
    assert "Traceback" not in result.stdout + result.stderr


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


def test_selection_and_rerunning_failures_come_from_pytest(tmp_path):
    scripts = check("passing.py") + check("failing.py")
    cache = ["-o", "cache_dir=%s" % (tmp_path / "cache")]
    first = hil("run", "--no-deploy", *scripts, "--", *cache)
    assert first.returncode == 1, first.stdout + first.stderr
    assert table_rows(first.stdout) == {"passing": "pass", "failing": "fail"}
    again = hil("run", "--no-deploy", *scripts, "--", "--lf", *cache)
    assert table_rows(again.stdout) == {"failing": "fail"}, again.stdout
    selected = hil("run", "--no-deploy", *scripts, "--", "-k", "passing", *cache)
    assert selected.returncode == 0, selected.stdout + selected.stderr
    assert table_rows(selected.stdout) == {"passing": "pass"}
