"""The PSK engine's primitives against published vectors, on CPython and on the
MicroPython interpreter (where CCM is built over cryptolib's AES)."""

import errno
import os
import subprocess
import sys

import psk_vectors
import pytest
from runtimes_psk import mp_binary, mp_env
from twinsock.errors import NetError

NAMES = [n for n in sorted(vars(psk_vectors)) if n.startswith("test_")]


@pytest.mark.parametrize("name", NAMES)
def test_cpython(name):
    getattr(psk_vectors, name)()


def test_micropython():
    out = subprocess.run(
        [mp_binary(), psk_vectors.__file__],
        env=mp_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "%d passed, 0 failed" % len(NAMES) in out.stdout, out.stdout


def test_no_csprng_is_enotsup(monkeypatch):
    from twinsock_port import tls_psk

    def missing(n):
        raise NotImplementedError

    monkeypatch.setattr(os, "urandom", missing)
    with pytest.raises(NetError) as e:
        tls_psk.random(16)
    assert e.value.errno == errno.ENOTSUP
    assert "urandom" in str(e.value)
    assert sys.modules["os"].urandom is missing
