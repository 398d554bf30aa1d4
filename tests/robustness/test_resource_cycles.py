"""Resource safety (issue 7 item 3): open/connect/close cycles of UDP, TCP and
TLS sockets, and of their failure paths, leave no file descriptors (CPython
and MicroPython: /proc/self/fd) and no heap growth on MicroPython
(gc.mem_free() after collect stable within 1 KB after a warm-up). Cycle
counts: robust_counts.py (TWINSOCK_CYCLES, TWINSOCK_TLS_CYCLES)."""

import json

import pytest
import twinsock
from robust_counts import CYCLES, TLS_CYCLES

HEAP_SLACK = 1024  # bytes, after warm-up
KINDS = ("udp", "tcp", "udp-fail", "tcp-refused", "bad-args", "tls", "tls-fail")
RUNTIMES = ("micropython", "cpython")
EXPECTED_ERRNO = {
    "udp-fail": twinsock.EADDRNOTAVAIL,
    "tcp-refused": twinsock.ECONNREFUSED,
    "bad-args": twinsock.EINVAL,
    "tls-fail": twinsock.EPROTO,
}
figures = []


@pytest.fixture(scope="module", autouse=True)
def print_figures():
    yield
    for f in figures:
        print(
            "\n%(runtime)s %(kind)s: %(cycles)d cycles in %(seconds)s s; fds %(fds_before)d -> "
            "%(fds_after)d; heap free %(free_before)s -> %(free_after)s; errors %(errors)s" % f
        )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cycles_leave_nothing_behind(
    run_script, hostserver, tcp_sink, pki, tls_server, compiled, runtime, kind
):
    hosts = json.loads(json.dumps(hostserver.description["hosts"]))
    hosts["127.0.0.1"]["tcp_sink"] = tcp_sink.port
    count = TLS_CYCLES if kind.startswith("tls") else CYCLES
    args = [kind, count]
    if kind.startswith("tls"):
        args += [tls_server().port, pki.path("ca")]
    result = run_script(
        "mp_cycles.py",
        args,
        python=runtime == "cpython",
        path=None if runtime == "cpython" else compiled,
        timeout=100,
        peer=json.dumps(hosts),
    )
    assert result.done(), "mp_cycles.py stopped early:\n" + result.tail()
    figure = result.one("cycles")
    figure["runtime"] = runtime
    figures.append(figure)
    assert figure["fds_after"] == figure["fds_before"], "file descriptors leaked: %r" % figure
    if runtime == "micropython":
        growth = figure["free_before"] - figure["free_after"]
        assert growth <= HEAP_SLACK, "heap grew by %d bytes over %d cycles: %r" % (
            growth,
            count,
            figure,
        )
    if kind in EXPECTED_ERRNO:
        # every failing cycle failed with a NetError (the script counts them),
        # and with the errno of that failure, not a spurious one (EADDRINUSE
        # from a local port the layer picked, for example)
        assert sum(figure["errors"].values()) == count, figure
        assert set(figure["errors"]) == {str(EXPECTED_ERRNO[kind])}, figure
