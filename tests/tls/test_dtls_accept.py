"""A twinsock DTLS server whose client sends one ClientHello and goes silent:
accept() fails with ETIMEDOUT within the handshake timeouts instead of
waiting forever (MicroPython's server sends a HelloVerifyRequest and then has
no flight of its own in the air), on both runtimes."""

import json
import socket
import subprocess
import sys

import pytest
from tlspeers import ROOT, micropython_binary, mp_env

SERVER = """
import json, sys, time
import twinsock
s = twinsock.dtls_socket(twinsock.SSLConfig(
    twinsock.PskInfo(b"id", b"0123456789abcdef"), dtls_handshake_timeouts=(100, 400)))
s.bind("127.0.0.1", 0)
print(json.dumps({"port": s.get_local_port()}))
try:
    sys.stdout.flush()
except AttributeError:
    pass
t = time.ticks_ms() if hasattr(time, "ticks_ms") else int(time.monotonic() * 1000)
try:
    s.accept()
    out = {"error": None}
except OSError as e:
    out = {"errno": e.errno, "message": str(e)}
now = time.ticks_ms() if hasattr(time, "ticks_ms") else int(time.monotonic() * 1000)
out["ms"] = now - t
print(json.dumps(out))
s.cleanup()
"""


def client_hello():
    from OpenSSL import SSL
    from twinsock.tls import PskInfo, SSLConfig
    from twinsock_port.tls_cpython import Engine

    # the CPython engine's ClientHello, taken before it reaches any socket
    engine = Engine(None, SSLConfig(PskInfo(b"id", b"0123456789abcdef")), dtls=True)
    client = engine._conn
    client.set_connect_state()
    with pytest.raises(SSL.WantReadError):
        client.do_handshake()
    return client.bio_read(65536)


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_accept_of_a_vanished_client_times_out(runtime):
    if runtime == "cpython":
        argv = [sys.executable, "-c", SERVER]
        env = dict(mp_env(), PYTHONPATH="%s:%s" % (ROOT / "lib", ROOT / "port"))
    else:
        argv = [micropython_binary(), "-c", SERVER]
        env = mp_env()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    try:
        port = json.loads(process.stdout.readline())["port"]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(client_hello(), ("127.0.0.1", port))
            out, _ = process.communicate(timeout=10)  # the client stays, silent
    finally:
        process.kill()
        process.wait(5)
    got = json.loads(out.strip().splitlines()[-1])
    assert got.get("errno") == 110, got  # ETIMEDOUT
    assert got["ms"] < 2000, got
