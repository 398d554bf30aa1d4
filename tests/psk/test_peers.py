"""twinsock's own DTLS-PSK engine against tinydtls and aiocoap's CoAP server
(tests/interop/peers.py), peers nobody here wrote that speak only CCM: on
MicroPython out of the box (no engine registered: the selection rule picks
tls_psk), on CPython with tls_psk registered."""

import os
import subprocess
import sys

import pytest
from pskpeers import PSK, PSK_IDENTITY, PSK_KEY, RUNTIMES
from runtimes import MICROPYTHON_HEAP, ROOT

sys.path.insert(0, str(ROOT / "tests" / "interop"))
from peers import aiocoap_server, tinydtls_server  # noqa: E402

IDENTITY = PSK_IDENTITY.encode()
KEY = bytes.fromhex(PSK_KEY)


def engine_for(runtime):
    # MicroPython: whatever the rule chooses; CPython: ours, registered
    return {} if runtime == "micropython" else {"engine": "psk"}


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tinydtls_ccm8_echo(psk_peer, runtime):
    with tinydtls_server(IDENTITY, KEY) as port:
        job = {"port": port, "psk": PSK, "send": "hello tinydtls #", "buffer": False}
        job.update(engine_for(runtime), reconnects=1)
        result = psk_peer.run(runtime, job)
    assert result.get("ok"), result
    assert (result["engine"], result["cipher"]) == ("twinsock-psk", "PSK-AES128-CCM8")
    assert result["received"] == ["hello tinydtls 1", "hello tinydtls 2"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tinydtls_connection_id_offer_is_ignored_cleanly(psk_peer, runtime):
    """tinydtls has no Connection ID: asking for one is a plain session."""
    with tinydtls_server(IDENTITY, KEY) as port:
        job = {"port": port, "psk": PSK, "send": "cid?", "cid": True}
        job.update(engine_for(runtime))
        result = psk_peer.run(runtime, job)
    assert result.get("ok"), result
    assert result["received"] == ["cid?"]
    assert result["cid_resumed"] is False


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_coap_get_and_post_over_dtls_to_aiocoap(board_code, runtime):
    """examples/coap_dtls_client.py, as a user runs it, over DTLS-PSK CCM-8."""
    example = str(ROOT / "examples" / "coap_dtls_client.py")
    env = dict(os.environ)
    if runtime == "micropython":
        env["MICROPYPATH"] = "%s:%s" % (board_code, ROOT / "examples")
        argv = [str(ROOT / ".venv/bin/micropython"), "-X", "heapsize=" + MICROPYTHON_HEAP]
    else:
        env["PYTHONPATH"] = "%s:%s" % (ROOT / "lib", ROOT / "port")
        argv = [sys.executable]
    with aiocoap_server(IDENTITY, KEY) as (_, dtls_port):
        outputs = []
        for path, extra in (("hello", []), ("echo", ["--post", "from twinsock"])):
            uri = "coaps://127.0.0.1:%d/%s" % (dtls_port, path)
            out = subprocess.run(
                argv + [example, uri, "--identity", PSK_IDENTITY, "--key", PSK_KEY] + extra,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            outputs.append(out.stdout + out.stderr)
            assert out.returncode == 0, outputs
    assert "2.05 b'hello'" in outputs[0], outputs
    assert "2.04 b'from twinsock'" in outputs[1], outputs
