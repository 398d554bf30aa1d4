"""CoAP (examples/coap_dtls_client.py on a twinsock socket) against aiocoap's CoAP
server, nobody's here: over plain UDP and over DTLS-PSK with CCM-8 (aiocoap's tinydtls
server transport). Resources: GET /hello -> "hello", POST /echo -> the payload."""

import pytest
from interop import (
    IDENTITY,
    KEY,
    LWM2M_PSK_SUITE,
    MICROPYTHON_SPEAKS_CCM,
    MISSING_SUITE_NAMED,
    RUNTIMES,
    check_ccm_outcome,
    known_gap,
    run_client,
    run_example,
)
from peers import aiocoap_server

from tools.proxy import UdpImpairment, UdpProxy

REQUESTS = ("GET:/hello", "POST:/echo:twinsock was here", "GET:/nothing-here")
PIGGYBACKED = "piggybacked"
ANSWERS = [
    ["2.05", "hello", 1, PIGGYBACKED],
    ["2.04", "twinsock was here", 1, PIGGYBACKED],
    ["4.04", "", 1, PIGGYBACKED],
]


@pytest.fixture(scope="module")
def aiocoap_ports():
    with aiocoap_server(IDENTITY, KEY, lifetime=600) as ports:
        yield ports


def coap(runtime, secure, port, *requests, ack_timeout_ms=2000):
    what = "coaps" if secure else "coap"
    suite = LWM2M_PSK_SUITE if secure else "-"
    key = KEY.hex()
    return run_client(runtime, what, port, IDENTITY.decode(), key, suite, ack_timeout_ms, *requests)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_coap_over_udp(runtime, aiocoap_ports):
    assert coap(runtime, False, aiocoap_ports[0], *REQUESTS) == {"answer": ANSWERS}


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_coap_over_dtls_psk(runtime, aiocoap_ports):
    check_ccm_outcome(runtime, coap(runtime, True, aiocoap_ports[1], *REQUESTS), ANSWERS)


@known_gap(MISSING_SUITE_NAMED, "tls_micropython.py says 'none of the configured ciphersuites'")
def test_micropython_names_the_suite_it_lacks(aiocoap_ports):
    result = coap("micropython", True, aiocoap_ports[1], "GET:/hello")
    message = result.get("message", "").upper()
    assert "CCM" in message or "C0A8" in message, result


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_separate_response_after_an_empty_ack(runtime, aiocoap_ports):
    # aiocoap ACKs at once, answers later in a confirmable response that we ACK;
    # the next request on the same socket still gets its own answer.
    result = coap(runtime, False, aiocoap_ports[0], "GET:/slow", "GET:/hello")
    assert result == {
        "answer": [["2.05", "slow", 1, "separate"], ["2.05", "hello", 1, PIGGYBACKED]]
    }


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_lost_request_and_response_are_resent(runtime, aiocoap_ports):
    # The first request and the first response are lost: the request goes out three
    # times (the third brings aiocoap's cached response for the same message id).
    up, down = UdpImpairment(drop_at=(0,)), UdpImpairment(drop_at=(0,))
    with UdpProxy(("127.0.0.1", aiocoap_ports[0]), up=up, down=down, lifetime=120) as proxy:
        result = coap(runtime, False, proxy.port, "GET:/hello", ack_timeout_ms=300)
        stats = proxy.stats()
    assert result == {"answer": [["2.05", "hello", 3, PIGGYBACKED]]}
    assert stats["up"]["dropped"] == 1 and stats["down"]["dropped"] == 1, stats


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_example_command_line(runtime, aiocoap_ports):
    udp_port, dtls_port = aiocoap_ports
    out = run_example(runtime, "coap://127.0.0.1:%d/hello" % udp_port)
    assert (out.returncode, out.stdout) == (0, "2.05 b'hello'\n")
    out = run_example(runtime, "coap://127.0.0.1:%d/echo" % udp_port, "--post", "posted")
    assert (out.returncode, out.stdout) == (0, "2.04 b'posted'\n")
    out = run_example(
        runtime,
        "coaps://127.0.0.1:%d/hello" % dtls_port,
        "--identity",
        IDENTITY.decode(),
        "--key",
        KEY.hex(),
    )
    if runtime == "cpython" or MICROPYTHON_SPEAKS_CCM:
        assert (out.returncode, out.stdout) == (0, "2.05 b'hello'\n")
    else:
        assert out.returncode == 1 and out.stdout.startswith("error: NetError"), out.stdout
