"""The PSK engine's protocol core between two in-memory endpoints (handshake,
retransmission, reassembly, replay window, alerts), on CPython and on the
MicroPython interpreter."""

import subprocess

import psk_core_cases
import pytest
from runtimes_psk import mp_binary, mp_env

NAMES = [n for n in sorted(vars(psk_core_cases)) if n.startswith("test_")]


@pytest.mark.parametrize("name", NAMES)
def test_cpython(name):
    getattr(psk_core_cases, name)()


def test_micropython():
    out = subprocess.run(
        [mp_binary(), psk_core_cases.__file__],
        env=mp_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "%d passed, 0 failed" % len(NAMES) in out.stdout, out.stdout
