"""A (D)TLS socket whose engine lacks the kind asked for, or PSK, is refused with
ENOTSUP naming what is missing and on which platform (lib/twinsock/tls.py
engine_module, the message from twinsock/tls_extras.py missing()), on both runtimes."""

import json
import subprocess
import sys

import pytest
from tlspeers import HERE, micropython_binary, mp_env

SCRIPT = HERE / "engine_missing.py"


def run(runtime):
    if runtime == "cpython":
        command = [sys.executable, str(SCRIPT)]
        env = dict(mp_env(), PYTHONPATH=mp_env()["MICROPYPATH"])
    else:
        command = [micropython_binary(), str(SCRIPT)]
        env = mp_env()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_a_missing_kind_or_psk_is_enotsup_naming_it(runtime):
    out = run(runtime)
    enotsup = out["ENOTSUP"]
    for name, words in (
        ("no_tls", "TLS is not available on "),
        ("no_dtls", "DTLS is not available on "),
        ("no_psk", "DTLS with PSK is not available on "),
    ):
        code, message = out[name]
        assert code == enotsup, (name, out[name])
        assert message.startswith(words), (name, message)
