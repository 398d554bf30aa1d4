"""twinsock as a pip user gets it: the wheel built from this tree, installed into a
throwaway virtual environment (pinned dependencies from requirements.txt), then a TLS
and a DTLS exchange with `openssl s_server` on 127.0.0.1 through the installed
package, in an interpreter that cannot see the source tree (`python -I`, no
PYTHONPATH, run from the temporary directory).

Everything (a copy of the checkout to build in, the wheel, the venv, pip's cache,
the certificate) lives in one temporary directory, removed at the end."""

import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OPENSSL = shutil.which("openssl")
# The checkout, as a fresh clone has it, is what the wheel is built from.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)
PIP_LIMIT = 300  # seconds for one pip step (a cold cache downloads cryptography)
EXCHANGE_LIMIT = 30  # seconds for one exchange, handshake included
# What the README's example (under README_SECTION) talks to.
README_SECTION = "## Install on CPython"
README_PORT, README_IDENTITY, README_KEY = "5684", "my-device", "my-secret-key"

# Runs inside the throwaway venv: argv = kind ("tls" or "dtls"), port, CA file.
CLIENT = """\
import json, sys
import twinsock, twinsock_port

kind, port, ca_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(ca_file, "rb") as f:
    config = twinsock.SSLConfig(twinsock.CertInfo(trusted_certs=(f.read(),)))
make = twinsock.ssl_socket if kind == "tls" else twinsock.dtls_socket
reply = b""
with make(config) as sock:
    sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 20000)
    sock.connect("127.0.0.1", port)
    sock.send(b"ping over %s\\n" % kind.encode())
    while not reply.endswith(b"\\n"):
        chunk = sock.receive(100)
        if not chunk:
            break
        reply += chunk
print(json.dumps({
    "reply": reply.decode(),
    "twinsock": twinsock.__file__,
    "twinsock_port": twinsock_port.__file__,
    "sys_path": sys.path,
    "features": twinsock.features(),
}))
"""


def clean_env(tmp):
    """The environment without anything that points Python at the source tree, and
    with pip's cache inside `tmp`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PIP_CACHE_DIR"] = str(tmp / "pip-cache")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(cmd, env, limit, cwd):
    done = subprocess.run(
        [str(c) for c in cmd],
        cwd=str(cwd),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        timeout=limit,
    )
    output = done.stdout.decode(errors="replace")
    assert done.returncode == 0, "%s failed (%d):\n%s" % (cmd, done.returncode, output[-3000:])
    return output


@pytest.fixture(scope="module")
def installed():
    """(python of the throwaway venv, the temporary directory, timings)."""
    with tempfile.TemporaryDirectory(prefix="twinsock-package-") as name:
        tmp = Path(name)
        env = clean_env(tmp)
        timings = {}
        source = tmp / "source"
        shutil.copytree(ROOT, source, ignore=NOT_SOURCES, symlinks=True)
        started = time.monotonic()
        run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", tmp / "dist", source],
            env, PIP_LIMIT, tmp)  # fmt: skip
        timings["build"] = time.monotonic() - started
        wheels = list((tmp / "dist").glob("twinsock-*.whl"))
        assert len(wheels) == 1, wheels
        started = time.monotonic()
        # A venv without its own pip (ensurepip is the slow part); this pip installs
        # into it.
        run([sys.executable, "-m", "venv", "--without-pip", tmp / "venv"], env, PIP_LIMIT, tmp)
        python = tmp / "venv" / "bin" / "python"
        run([sys.executable, "-m", "pip", "--python", python, "install",
             "-c", ROOT / "requirements.txt", wheels[0]], env, PIP_LIMIT, tmp)  # fmt: skip
        timings["install"] = time.monotonic() - started
        yield python, tmp, timings


def certificate(tmp):
    """A self-signed server certificate for 127.0.0.1 (and its key), made by openssl."""
    cert, key = tmp / "server.pem", tmp / "server.key"
    if not cert.exists():
        run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            None, 30, tmp)  # fmt: skip
    return cert, key


class SServer:
    """`openssl s_server` for one connection, with a time limit: what the client
    sends appears on its stdout, what we write to its stdin goes to the client."""

    def __init__(self, args):
        argv = [OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-naccept", "1"]
        self.deadline = time.monotonic() + EXCHANGE_LIMIT
        self.proc = subprocess.Popen(
            argv + [str(a) for a in args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.output = b""
        try:
            line = self.read_until(b"\n", after=b"ACCEPT ")
        except BaseException:
            self.stop()
            raise
        self.port = int(line.rsplit(b":", 1)[1])

    def read_until(self, needle, after=b"", client=None):
        """Wait (within the time limit) until `after` + ... + `needle` was printed;
        returns what lies between them. A `client` process that exits first fails
        the wait with what it printed."""
        if client is not None:
            self.selector.register(client.stdout, selectors.EVENT_READ)
        try:
            while True:
                start = self.output.find(after)
                if start >= 0:
                    end = self.output.find(needle, start + len(after))
                    if end >= 0:
                        return self.output[start + len(after) : end]
                left = self.deadline - time.monotonic()
                assert left > 0, "s_server: no %r in time; it printed:\n%s" % (
                    after + needle,
                    self.output.decode(errors="replace"),
                )
                for key, _ in self.selector.select(left):
                    if key.fileobj is self.proc.stdout:
                        chunk = self.proc.stdout.read()
                        assert chunk, "s_server exited; it printed:\n" + self.output.decode(
                            errors="replace"
                        )
                        self.output += chunk
                    else:
                        client.wait(EXCHANGE_LIMIT)
                        raise AssertionError(
                            "the client exited (%d) before sending; it printed:\n%s"
                            % (client.returncode, client.stdout.read().decode(errors="replace"))
                        )
        finally:
            if client is not None:
                self.selector.unregister(client.stdout)

    def reply(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.selector.close()


def talk(python, tmp, server, script, args, expect):
    """Run `script` in the venv's interpreter (isolated from the source tree) with
    `args`; once `server` printed `expect` (what the script sent), answer one line.
    Returns what the script printed."""
    script_file = tmp / "client.py"
    script_file.write_text(script)
    try:
        client = subprocess.Popen(
            [str(python), "-I", str(script_file)] + [str(a) for a in args],
            cwd=str(tmp),
            env=clean_env(tmp),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            server.read_until(expect, client=client)
            server.reply(b"pong from openssl\n")
            output, _ = client.communicate(timeout=max(server.deadline - time.monotonic(), 1))
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
    finally:
        server.stop()
    text = output.decode(errors="replace")
    assert client.returncode == 0, "the client failed:\n" + text
    return text


def exchange(installed, kind):
    python, tmp, _ = installed
    cert, key = certificate(tmp)
    server = SServer(["-cert", cert, "-key", key] + (["-dtls1_2"] if kind == "dtls" else []))
    args = [kind, server.port, cert]
    output = talk(python, tmp, server, CLIENT, args, b"ping over %s\n" % kind.encode())
    return json.loads(output.splitlines()[-1])


def assert_installed_copy(result, tmp):
    site = str(tmp / "venv")
    for module in ("twinsock", "twinsock_port"):
        assert result[module].startswith(site), result[module]
        assert "site-packages" in result[module], result[module]
    inside_tree = [p for p in result["sys_path"] if p and Path(p).resolve().is_relative_to(ROOT)]
    assert not inside_tree, "the source tree is on sys.path: %s" % inside_tree


def test_wheel_installs_and_speaks_tls(installed):
    result = exchange(installed, "tls")
    assert result["reply"] == "pong from openssl\n"
    assert_installed_copy(result, installed[1])
    assert result["features"]["tls"] is True


def test_wheel_installs_and_speaks_dtls(installed):
    result = exchange(installed, "dtls")
    assert result["reply"] == "pong from openssl\n"
    assert_installed_copy(result, installed[1])
    assert result["features"]["dtls"] is True
    print("package: build %.1f s, venv + install %.1f s" % tuple(installed[2].values()))


def readme_example():
    """The first Python block of the README's CPython install section."""
    text = (ROOT / "README.md").read_text().split(README_SECTION, 1)[1]
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_example_runs_on_the_installed_package(installed):
    python, tmp, _ = installed
    example = readme_example()
    for what in (README_PORT, README_IDENTITY, README_KEY):
        assert what in example, "the README example no longer has %s" % what
    key = README_KEY.encode().hex()
    server = SServer(["-dtls1_2", "-nocert", "-psk", key, "-psk_identity", README_IDENTITY])
    # The example's fixed port becomes the one this server got.
    script = example.replace(README_PORT, str(server.port))
    output = talk(python, tmp, server, script, [], b"hello")
    assert output.strip().splitlines()[-1] == repr(b"pong from openssl\n")
