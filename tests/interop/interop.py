"""Running twinsock's side of an interop test (tests/interop/interop_client.py, or the
CoAP example) on each runtime, and what each runtime is expected to achieve today.

CPython runs the client in this process; MicroPython runs it in the real unix
interpreter (`-X heapsize=192K`, twinsock compiled to .mpy as on a board) in a
subprocess with a time limit.
"""

import atexit
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from runtimes import MICROPYTHON_HEAP, ROOT, compile_for_board, micropython_binary

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = str(ROOT / "examples")
if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)

import coap_dtls_client as coap  # noqa: E402, F401  (examples/: for the tests)
import interop_client  # noqa: E402

RUNTIMES = ["cpython", "micropython"]
RUN_LIMIT = 60.0  # seconds for one client run on MicroPython
IDENTITY = b"twinsock-interop"
KEY = os.urandom(16)
LWM2M_PSK_SUITE = "c0a8"  # TLS_PSK_WITH_AES_128_CCM_8, what tinydtls and aiocoap speak

# -- what twinsock achieves today; each flips to True when the owner fixes it ------
# MicroPython's DTLS is mbedTLS without CCM: no session with a tinydtls peer. The
# DTLS-PSK engine of port/twinsock_port/tls_psk*.py (issue 12) makes this True.
MICROPYTHON_SPEAKS_CCM = True
# That refusal names the suite it lacks (CCM-8 / 0xC0A8), not only "none of the
# configured ciphersuites": port/twinsock_port/tls_micropython.py (forced as the
# engine, so the test still sees it once another engine serves CCM-8 by default).
MISSING_SUITE_NAMED = True
# tinydtls refuses a suite with close_notify, then a fatal handshake_failure (40)
# alert; every engine reports that alert, not "peer closed the connection"
# (tls_rare.late_alert).
FATAL_ALERT_AFTER_CLOSE_NOTIFY_REPORTED = True
# A handshake_failure in answer to our ClientHello (no ServerHello yet, so the PSK was
# never used) is a suite mismatch; the message must not send the user hunting for a
# wrong identity or key.
SUITE_MISMATCH_NOT_BLAMED_ON_PSK = True


def speaks_ccm(runtime):
    return runtime == "cpython" or MICROPYTHON_SPEAKS_CCM


def check_ccm_outcome(runtime, result, answer):
    """`result` of a CCM-8 DTLS-PSK exchange: `answer` where the runtime speaks CCM,
    else twinsock's clear refusal (NetError ENOTSUP at connect, naming ciphersuites)."""
    if speaks_ccm(runtime):
        assert result == {"answer": answer}
    else:
        assert result.get("error") == "NetError", result
        assert result["errno"] == errno.ENOTSUP, result
        assert "ciphersuite" in result["message"], result


def known_gap(fixed, why):
    """A test of required behaviour that twinsock lacks today: it must fail (strict
    xfail) until `fixed` flips, and then pass."""
    return pytest.mark.xfail(not fixed, strict=True, reason=why)


# -- running a client --------------------------------------------------------------


def run_client(runtime, *args):
    """interop_client.run(args) on `runtime` -> its result dict."""
    args = [str(a) for a in args]
    if runtime == "cpython":
        return interop_client.run(args)
    out = run_micropython([os.path.join(HERE, "interop_client.py")] + args)
    for line in out.stdout.splitlines():
        if line.startswith(interop_client.MARK):
            return json.loads(line[len(interop_client.MARK) :])
    raise AssertionError(
        "no result from MicroPython (status %s):\n%s" % (out.returncode, out.stdout[-3000:])
    )


def run_example(runtime, *args):
    """examples/coap_dtls_client.py ARGS as a command on `runtime` -> CompletedProcess
    (stdout and stderr together)."""
    script = os.path.join(EXAMPLES, "coap_dtls_client.py")
    args = [str(a) for a in args]
    if runtime == "micropython":
        return run_micropython([script] + args)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(ROOT / p) for p in ("lib", "port"))
    return _run([sys.executable, script] + args, env)


def run_micropython(argv):
    binary = micropython_binary()
    if binary is None:
        pytest.fail("the micropython interpreter is not in .venv or on PATH: run `make venv`")
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([".frozen", board_code(), HERE, EXAMPLES])
    return _run([binary, "-X", "heapsize=" + MICROPYTHON_HEAP] + argv, env)


def _run(cmd, env):
    try:
        return subprocess.run(
            cmd,
            cwd=str(ROOT),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=RUN_LIMIT,
        )
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s hung (killed after %d s):\n%s" % (cmd[0], RUN_LIMIT, e.stdout))


_board_code = []


def board_code():
    """lib/ and port/ as .mpy, compiled once per run, as a board holds them."""
    if not _board_code:
        out = tempfile.mkdtemp(prefix="twinsock-interop-mpy-")
        atexit.register(shutil.rmtree, out, True)
        _board_code.append(str(compile_for_board(out)))
    return _board_code[0]
