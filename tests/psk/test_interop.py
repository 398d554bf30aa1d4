"""The PSK engine (forced with use_tls_engine) on CPython and on the MicroPython
interpreter, against peers nobody here wrote: openssl s_server (CCM-8, CCM,
CBC-SHA256, resumption) and MicroPython's own mbedTLS DTLS server; and, for
Connection ID (which neither implements), against our own core behind a relay
that changes the client's source port."""

import pytest
from pskpeers import CIPHERS, PSK, RUNTIMES


def job(port, **kw):
    base = {"port": port, "engine": "psk", "psk": PSK, "recv_timeout": 5000}
    base.update(kw)
    return base


def talk(server, peer, process, replies):
    """Answer each line the client sends with a reply from s_server."""
    for number in range(1, replies + 1):
        try:
            server.expect("hello %d" % number, timeout=15)
        except AssertionError as e:
            raise AssertionError("%s\nclient said:\n%s" % (e, process.output()))
        server.write(b"reply %d\n" % number)
    return peer.result(process)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("suite", sorted(CIPHERS), ids=lambda s: CIPHERS[s])
def test_s_server_suites(psk_s_server, psk_peer, runtime, suite):
    server, port = psk_s_server(suite)
    process = psk_peer.start(runtime, job(port, ciphersuites=[suite], send="hello #\n"))
    result = talk(server, psk_peer, process, 1)
    assert result.get("ok"), result
    assert result["engine"] == "twinsock-psk"
    assert result["cipher"] == CIPHERS[suite]
    assert result["received"] == ["reply 1\n"]
    assert "CIPHER is " + CIPHERS[suite] in server.output()
    print("%s %s handshake %d ms" % (runtime, CIPHERS[suite], result["handshake_ms"]))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_default_suite_is_ccm8(psk_s_server, psk_peer, runtime):
    # s_server accepts all three: the client's first choice is LwM2M's CCM-8
    server, port = psk_s_server(
        extra=["-cipher", "PSK-AES128-CBC-SHA256:PSK-AES128-CCM:PSK-AES128-CCM8:@SECLEVEL=0"]
    )
    process = psk_peer.start(runtime, job(port, send="hello #\n"))
    result = talk(server, psk_peer, process, 1)
    assert result.get("ok"), result
    assert result["cipher"] == "PSK-AES128-CCM8"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_s_server_resumption(psk_s_server, psk_peer, runtime):
    """close() + connect() of the same socket, then a new socket given the same
    session_resumption_buffer: both abbreviated handshakes, as s_server says."""
    server, port = psk_s_server()
    process = psk_peer.start(runtime, job(port, send="hello #\n", reconnects=1, fresh_socket=True))
    server.expect("hello 1", timeout=15)
    server.write(b"reply 1\n")
    server.expect("hello 2", timeout=15)
    server.write(b"reply 2\n")
    server.expect("hello 9", timeout=15)
    server.write(b"reply 9\n")
    result = psk_peer.result(process)
    assert result.get("ok"), result
    assert result["resumed"] is False
    assert result["resumed2"] is True
    assert result["resumed3"] is True
    assert result["received"] == ["reply 1\n", "reply 2\n", "reply 9\n"]
    assert server.output().count("Reused session-id") == 2


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_mbedtls_dtls_server(mbedtls_server, psk_peer, runtime):
    """MicroPython's own DTLS server (mbedTLS) has no CCM: CBC-SHA256."""
    server, port = mbedtls_server()
    result = psk_peer.run(runtime, job(port, send="hello mbedtls"))
    assert result.get("ok"), (result, server.output())
    assert result["cipher"] == "PSK-AES128-CBC-SHA256"
    assert result["received"] == ["hello mbedtls"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_connection_id_survives_source_port_change(
    core_server, port_changing_relay, psk_peer, runtime
):
    server = core_server(cid=True)
    # 3 client datagrams make the handshake (hello, hello + cookie, finished
    # flight) and 1 the first message; every later one leaves from a new port
    relay = port_changing_relay(server.port, change_after=4)
    result = psk_peer.run(runtime, job(relay.port, send="ping #", cid=True, more=2))
    assert result.get("ok"), (result, server.errors)
    assert result["received"] == ["ping 1", "ping 10", "ping 11"]
    first, second = relay.source_ports()
    assert [addr[1] for addr, _ in server.echoed] == [first, second, second]
    assert server.handshakes == 1


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_without_connection_id_a_port_change_loses_the_session(
    core_server, port_changing_relay, psk_peer, runtime
):
    """The control for the test above: the same relay, no CID."""
    server = core_server(cid=True)
    relay = port_changing_relay(server.port, change_after=4)
    result = psk_peer.run(
        runtime, job(relay.port, send="ping #", cid=False, more=1, recv_timeout=1500)
    )
    assert result.get("errno") == 110, result  # ETIMEDOUT: the server knows no such peer
    assert result["received"] == ["ping 1"]
    assert len(relay.source_ports()) == 2


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_sessions_through_30_percent_loss_each_way(core_server, lossy_relay, psk_peer, runtime):
    """16 sessions through a relay that drops 30% of the datagrams each way:
    retransmission (100 ms doubling to 6.4 s) brings at least 15 through."""
    server = core_server(cid=False)
    relay = lossy_relay(server.port, 0.3)
    result = psk_peer.run(runtime, job(relay.port, repeat=16, timeouts=[100, 6400]), timeout=110)
    assert result["sessions_ok"] >= 15, (result, relay.dropped, server.errors)
    assert min(relay.dropped) > 0, relay.dropped
    print("%s: %d/16, dropped %r" % (runtime, result["sessions_ok"], relay.dropped))
