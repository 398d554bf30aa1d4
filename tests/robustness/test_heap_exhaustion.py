"""Out of heap during TLS (issue 7 item 3), on the real MicroPython
interpreter with twinsock compiled to .mpy (as a board holds it):

- under `-X heapsize=64K` a TLS connect raises NetError(ENOMEM) with a message,
  and the next, smaller operation (a UDP echo) still works;
- with a heap that holds the TLS engine but then filled to 12/8/4 KB free, the
  handshake raises NetError(ENOMEM) "TLS needs about 17 KB of contiguous heap;
  N KB free", a UDP echo still works, and TLS works once the heap is back."""

import pytest
import twinsock

RUNS = {}


@pytest.fixture(scope="module")
def enomem(run_script, peer_json, compiled, tls_server, pki):
    server = tls_server()

    def run(heap):
        if heap not in RUNS:
            RUNS[heap] = run_script(
                "mp_enomem.py",
                [server.port, pki.path("ca")],
                heap=heap,
                peer=peer_json,
                path=compiled,
                timeout=60,
            )
        result = RUNS[heap]
        assert result.done(), "mp_enomem.py stopped early:\n" + result.tail()
        return result

    return run


@pytest.fixture(scope="module")
def tls_server(pki):
    from robust_peers import OPENSSL, TlsServer

    if OPENSSL is None:
        pytest.skip("openssl CLI not installed")
    server = TlsServer(pki, limit_s=120)
    yield lambda: server
    server.stop()


def assert_enomem(outcome):
    assert outcome[0] == "net", "not a NetError: %r" % (outcome,)
    assert outcome[1] == twinsock.ENOMEM, "errno %r, not ENOMEM: %r" % (outcome[1], outcome)
    assert "KB" in outcome[2] or "memory" in outcome[2], "no useful message: %r" % (outcome,)


def test_tls_on_a_64k_heap_fails_with_enomem_and_udp_still_works(enomem):
    result = enomem("64K")
    start = result.one("free_at_start")
    first = result.one("first_tls")
    print(
        "64K heap: free %s; UDP echo before %r; TLS %r; UDP echo after %r"
        % (
            start["free_at_start"],
            start["udp_echo_before"],
            first["first_tls"],
            first["udp_echo_after"],
        )
    )
    # Even where nothing fits (the unix port keeps .mpy code in the heap), a
    # twinsock call says ENOMEM: never a raw MemoryError.
    if start["udp_echo_before"] != ["ok", True]:
        assert_enomem(start["udp_echo_before"])
    assert_enomem(first["first_tls"])
    if start["udp_echo_before"] == ["ok", True]:
        assert first["udp_echo_after"] == ["ok", True], first


@pytest.mark.parametrize("room", [12 * 1024, 8 * 1024, 4 * 1024])
def test_handshake_out_of_heap_is_enomem_and_udp_still_works(enomem, room):
    result = enomem("128K")
    assert result.one("engine_loaded")["engine_loaded"], result.tail()
    record = [r for r in result.records if r.get("room") == room][0]
    print(
        "128K heap filled to %d B free: TLS %r; UDP echo after %r"
        % (record["free_before"], record["tls"], record["udp_echo_after"])
    )
    if record["tls"][0] == "ok":
        return  # the handshake fitted in what was left: nothing ran out
    assert_enomem(record["tls"])
    if record["free_before"] >= 8 * 1024:
        assert record["udp_echo_after"] == ["ok", True], record
    elif record["udp_echo_after"] != ["ok", True]:
        assert_enomem(record["udp_echo_after"])  # too little for a socket: ENOMEM


def test_tls_works_again_once_the_heap_is_back(enomem):
    result = enomem("128K")
    assert result.one("tls_after_release")["tls_after_release"][0] == "ok", result.tail()
