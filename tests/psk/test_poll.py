"""twinsock.poll drives a pending DTLS retransmission (API.md: poll "also
wakes in time to drive a pending DTLS retransmission"): a poll loop on a
DTLS-PSK socket whose flight is in the air resends it when its timer runs out,
on MicroPython and CPython, against our PSK core as the server."""

import pytest
from pskpeers import PSK, RUNTIMES


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_poll_resends_a_flight_in_the_air_on_time(core_server, psk_peer, runtime):
    server = core_server(cid=False)
    job = {"port": server.port, "psk": PSK, "engine": "psk", "timeouts": [300, 60000]}
    result = psk_peer.run(runtime, dict(job, poll_timer=5000))
    assert result.get("ok"), (result, server.errors)
    # resent at 300 ms; the server answers our repeated Finished with its
    # flight again, which makes the socket readable
    assert result["poll_ready"], result
    assert result["poll_ms"] < 2500, result
