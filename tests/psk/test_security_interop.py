"""A wrong PSK against peers nobody here wrote, on both ends: our client against
openssl s_server and MicroPython's mbedTLS server, and openssl s_client against
our engine as the server (which must also serve it with the right key)."""

import pytest
from pskpeers import PSK, PSK_IDENTITY, PSK_KEY, RUNTIMES
from tlspeers import OPENSSL

WRONG = "00112233445566778899aabbccddee00"


def job(port, key=PSK_KEY, **kw):
    base = {"port": port, "engine": "psk", "psk": [PSK_IDENTITY, key], "send": "hello #\n"}
    base.update({"recv_timeout": 3000, "timeouts": [200, 800]})
    base.update(kw)
    return base


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_wrong_psk_against_s_server(psk_s_server, psk_peer, runtime):
    """OpenSSL drops the Finished it cannot decrypt (RFC 6347 4.1.2.7), sending
    no alert: the handshake ends ETIMEDOUT after the schedule, saying why."""
    server, port = psk_s_server()
    result = psk_peer.run(runtime, job(port, WRONG))
    assert result.get("errno") == 110, result
    assert "PSK identity rejected? (wrong identity or key)" in result["message"], result
    assert result["elapsed_ms"] < 5000, result
    assert "hello" not in server.output()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_wrong_psk_against_mbedtls_server(mbedtls_server, psk_peer, runtime):
    """mbedTLS drops our Finished too, and its server fails the handshake."""
    server, port = mbedtls_server()
    result = psk_peer.run(runtime, job(port, WRONG))
    assert not result.get("ok"), result
    server.wait(10)
    print(server.output())
    assert "PSK identity rejected" in server.output()
    # ETIMEDOUT, or ECONNREFUSED once the server process has given up and gone
    assert result["errno"] in (110, 111), result


def s_client(processes, port, key, suite="PSK-AES128-CCM8"):
    if OPENSSL is None:
        raise AssertionError("the openssl CLI is needed for the interop tests")
    argv = [OPENSSL, "s_client", "-dtls", "-connect", "127.0.0.1:%d" % port]
    argv += ["-psk", key, "-psk_identity", PSK_IDENTITY, "-cipher", suite + ":@SECLEVEL=0"]
    return processes(argv, limit_s=20)


@pytest.mark.parametrize("suite", ["PSK-AES128-CCM8", "PSK-AES128-CCM", "PSK-AES128-CBC-SHA256"])
def test_s_client_against_our_server(processes, core_server, suite):
    server = core_server(cid=False)
    client = s_client(processes, server.port, PSK_KEY, suite)
    client.expect("Cipher is " + suite, timeout=10)
    client.write(b"hello from s_client\n")
    client.expect("hello from s_client", timeout=10)  # our echo, printed by s_client
    assert server.handshakes == 1
    assert [payload for _, payload in server.echoed] == [b"hello from s_client\n"]


def test_s_client_with_wrong_psk_gets_bad_record_mac(processes, core_server):
    server = core_server(cid=False)
    client = s_client(processes, server.port, WRONG)
    client.expect("bad record mac", timeout=10)
    assert [getattr(e, "alert", None) for e in server.errors] == [20]
    assert "PSK identity rejected" in str(server.errors[0])
    assert PSK[1] not in str(server.errors[0]) and WRONG not in str(server.errors[0])
