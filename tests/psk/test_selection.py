"""Which engine a DTLS-PSK socket gets when the application registers none
(docs/TLS_ENGINES.md): on MicroPython, LwM2M's default suite (CCM-8), a
Connection ID or a resumption buffer bring twinsock's own engine; a config
the mbedTLS engine can serve keeps it; use_tls_engine() forces either.
And close() + connect() of a Connection ID session: no new handshake."""

import pytest
from pskpeers import PSK, RUNTIMES


def job(port, **kw):
    base = {"port": port, "psk": PSK, "recv_timeout": 5000, "send": "hello #\n"}
    base.update(kw)
    return base


def answered(server, peer, process):
    server.expect("hello 1", timeout=15)
    server.write(b"reply 1\n")
    return peer.result(process)


def test_micropython_default_config_gets_the_psk_engine(psk_s_server, psk_peer):
    server, port = psk_s_server(0xC0A8)
    result = answered(server, psk_peer, psk_peer.start("micropython", job(port)))
    assert result.get("ok"), result
    assert (result["engine"], result["cipher"]) == ("twinsock-psk", "PSK-AES128-CCM8")


@pytest.mark.parametrize(
    "ask",
    [{"cid": True}, {"buffer": True}],
    ids=["connection_id", "resumption_buffer"],
)
def test_micropython_cid_or_resumption_gets_the_psk_engine(psk_s_server, psk_peer, ask):
    server, port = psk_s_server(0x00AE)
    settings = {"ciphersuites": [0x00AE], "buffer": False}
    settings.update(ask)
    result = answered(server, psk_peer, psk_peer.start("micropython", job(port, **settings)))
    assert result.get("ok"), result
    assert result["engine"] == "twinsock-psk"


def test_micropython_cbc_only_config_keeps_mbedtls(psk_s_server, psk_peer):
    server, port = psk_s_server(0x00AE)
    settings = {"ciphersuites": [0x00AE], "buffer": False}
    result = answered(server, psk_peer, psk_peer.start("micropython", job(port, **settings)))
    assert result.get("ok"), result
    assert (result["engine"], result["cipher"]) == ("mbedtls", "TLS-PSK-WITH-AES-128-CBC-SHA256")


def test_forcing_mbedtls_keeps_it_even_for_ccm8(psk_s_server, psk_peer):
    server, port = psk_s_server(0x00AE)
    process = psk_peer.start("micropython", job(port, engine="mbedtls"))
    result = answered(server, psk_peer, process)
    assert result.get("ok"), result
    assert result["engine"] == "mbedtls"


def test_cpython_keeps_openssl_unless_cid_is_asked(psk_s_server, psk_peer):
    server, port = psk_s_server(0x00AE)
    result = answered(server, psk_peer, psk_peer.start("cpython", job(port)))
    assert result.get("ok"), result
    assert result["engine"] == "openssl"
    server, port = psk_s_server(0x00AE)
    result = answered(server, psk_peer, psk_peer.start("cpython", job(port, cid=True)))
    assert result.get("ok"), result
    assert result["engine"] == "twinsock-psk"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cid_close_and_connect_continue_without_a_handshake(core_server, psk_peer, runtime):
    server = core_server(cid=True)
    result = psk_peer.run(runtime, job(server.port, send="ping #", cid=True, reconnects=2))
    assert result.get("ok"), (result, server.errors)
    assert result["engine"] == "twinsock-psk"
    assert result["cid_resumed"] is False
    assert result["cid_resumed2"] is True
    assert result["received"] == ["ping 1", "ping 2", "ping 3"]
    assert server.handshakes == 1
    ports = [addr[1] for addr, _ in server.echoed]
    assert len(set(ports)) == 3, ports  # each connect() got a new source port


_SUITES_SCRIPT = """
import twinsock
from twinsock_port import tls_micropython
print(twinsock.ciphersuites())
twinsock.use_tls_engine(tls_micropython)
print(twinsock.ciphersuites())
"""


def test_micropython_ciphersuites_include_the_psk_engines_unless_an_engine_is_registered():
    # what an LwM2M client asks before it picks suites: CCM-8 is reachable for
    # DTLS-PSK through twinsock's own engine, not through mbedTLS forced
    import ast

    lines = run_script("micropython", _SUITES_SCRIPT).stdout.split("\n")
    default, forced = ast.literal_eval(lines[0]), ast.literal_eval(lines[1])
    assert {0xC0A8, 0xC0A4, 0x00AE} <= set(default) and default == sorted(default), default
    assert 0xC0A8 not in forced and 0xC0A4 not in forced, forced
    assert set(forced) < set(default), (forced, default)


def run_script(runtime, script):
    """Run `script` on `runtime` with twinsock's lib/ and port/; the finished
    process, which must have exited cleanly."""
    import os
    import subprocess
    import sys

    from runtimes_psk import ROOT, mp_binary, mp_env

    if runtime == "micropython":
        argv, env = [mp_binary(), "-c", script], mp_env()
    else:
        env = dict(os.environ, PYTHONPATH="%s:%s" % (ROOT / "lib", ROOT / "port"))
        argv = [sys.executable, "-c", script]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


_FEATURES_SCRIPT = """
import sys
import twinsock
from twinsock_port import tls_psk
if sys.implementation.name == "micropython":
    from twinsock_port import tls_micropython as platform_engine
else:
    from twinsock_port import tls_cpython as platform_engine
print(repr(twinsock.features()))
twinsock.use_tls_engine(platform_engine)
print(repr(twinsock.features()))
twinsock.use_tls_engine(tls_psk)
print(repr(twinsock.features()))
"""

# what a DTLS-PSK socket that asks for it gets, per runtime: (default rule,
# platform engine forced, tls_psk forced); MicroPython's engine has neither,
# OpenSSL resumes but has no Connection ID, tls_psk has both
_PSK_FEATURES = {
    "micropython": ((True, True), (False, False), (True, True)),
    "cpython": ((True, True), (True, False), (True, True)),
}


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_features_say_what_dtls_psk_sockets_get(runtime):
    # the fixed keys keep meaning every (D)TLS socket kind: the platform's
    # engine; psk_session_resumption and psk_connection_id follow the engine
    # the selection rule gives a DTLS-PSK socket that asks for them
    import ast

    out = run_script(runtime, _FEATURES_SCRIPT)
    runs = [ast.literal_eval(line) for line in out.stdout.split("\n") if line]
    got = [(f["psk_session_resumption"], f["psk_connection_id"]) for f in runs]
    assert got == list(_PSK_FEATURES[runtime]), runs
    default = runs[0]
    assert default["connection_id"] is False  # no platform engine has it
    assert default["session_resumption"] is (runtime == "cpython")
    assert all(type(v) is bool for f in runs for v in f.values()), runs


_NO_PRIMITIVES_SCRIPT = """
import builtins
import sys
import twinsock
if sys.implementation.name == "micropython":
    from twinsock_port import tls_micropython as platform_engine
else:
    from twinsock_port import tls_cpython as platform_engine
from twinsock_port import tls_psk_select
real_import = builtins.__import__


def without_primitives(name, *args, **kw):
    # as firmware without cryptolib, or a host without `cryptography`
    if name.split(".")[0] in ("cryptolib", "cryptography"):
        raise ImportError("no module named " + name)
    return real_import(name, *args, **kw)


builtins.__import__ = without_primitives
config = twinsock.SSLConfig(twinsock.PskInfo(b"id", b"key"), use_connection_id=True)
print(tls_psk_select.choose(config, lambda: platform_engine) is platform_engine)
f = twinsock.features()
print(repr((f["psk_session_resumption"], f["psk_connection_id"])))
"""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_without_its_primitives_the_own_engine_is_not_chosen(runtime):
    # where tls_psk's primitives are missing (firmware without cryptolib, a
    # host without `cryptography`), a DTLS-PSK socket asking for LwM2M's CCM-8
    # and a Connection ID keeps the platform's engine (degraded, as avs_net's
    # backends degrade) and features() does not promise what it lacks
    out = run_script(runtime, _NO_PRIMITIVES_SCRIPT)
    lines = out.stdout.split("\n")
    assert lines[0] == "True", out.stdout  # the platform's engine
    # the platform's engine alone: OpenSSL resumes, mbedTLS does not; neither has a CID
    assert lines[1] == repr((runtime == "cpython", False)), out.stdout
