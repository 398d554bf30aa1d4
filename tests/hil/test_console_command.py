"""`twinsock-hil`, the console command of the `hil` extra: declared in pyproject.toml
with the extra pinned as requirements.txt pins it, and runs the harness of the checkout
it is started in."""

import os
import subprocess
import sys

from hil_support import REPO_ROOT

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None


def pins():
    found = {}
    with open(os.path.join(REPO_ROOT, "requirements.txt")) as requirements:
        for line in requirements:
            line = line.split("#")[0].strip()
            if "==" in line:
                name, version = line.split("==")
                found[name.lower().replace("_", "-")] = version
    return found


def test_the_extra_and_the_command_are_declared_and_pinned():
    if tomllib is None:
        import pytest

        pytest.fail("Python 3.11+ (tomllib) needed to read pyproject.toml")
    with open(os.path.join(REPO_ROOT, "pyproject.toml"), "rb") as pyproject:
        config = tomllib.load(pyproject)
    project = config["project"]
    assert project["scripts"]["twinsock-hil"] == "twinsock_hil:main"
    setuptools = config["tool"]["setuptools"]
    assert "twinsock_hil" in setuptools["packages"]
    assert setuptools["package-dir"]["twinsock_hil"] == "tools/hil_command"
    pinned = pins()
    extra = {}
    for requirement in project["optional-dependencies"]["hil"]:
        name, version = requirement.split(";")[0].strip().split("==")
        extra[name.lower().replace("_", "-")] = version
    assert {"mpremote", "pyserial", "esptool", "pytest", "pytest-xdist"} <= set(extra)
    for name, version in extra.items():
        assert pinned.get(name) == version, (name, version, pinned.get(name))


def command(*args, cwd, env=None):
    """`twinsock-hil ARGS` as the console script calls it (the module imported here
    from tools/ under its directory's name, as the wheel installs it as twinsock_hil)."""
    code = "import sys, hil_command; sys.exit(hil_command.main(sys.argv[1:]))"
    environment = dict(os.environ, PYTHONPATH=os.path.join(REPO_ROOT, "tools"))
    environment.pop("TWINSOCK_SOURCE", None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", code] + list(args),
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_runs_the_harness_of_the_checkout_it_is_started_in(tmp_path):
    inside = command("run", "--check", "udp_echo", cwd=os.path.join(REPO_ROOT, "docs"))
    assert inside.returncode == 0, inside.stdout + inside.stderr
    assert "udp_echo" in inside.stdout and "1 check, 0 failed" in inside.stdout
    elsewhere = command("list", cwd=str(tmp_path))
    assert elsewhere.returncode == 2
    assert elsewhere.stderr.count("\n") == 1 and "TWINSOCK_SOURCE" in elsewhere.stderr
    pointed = command("list", cwd=str(tmp_path), env={"TWINSOCK_SOURCE": REPO_ROOT})
    assert pointed.returncode == 0, pointed.stderr
