"""twinsock (UDP, TCP) through the impairment proxy, on CPython and on the real
MicroPython interpreter.

Each test starts its peer and a proxy in this process, then runs one scenario of
tests/faults/twinsock_faults.py in a subprocess (CPython, or `micropython -X
heapsize=192K`) with a time limit, and judges the JSON it reports. A hang is a failure
("killed after N s"), not a stuck test run.
"""

import atexit
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from faultpeers import LOOPBACK, TcpPeer, UdpPeer, wait_for
from runtimes import compile_for_board, micropython_binary
from twinsock_faults import datagram

from tools.proxy import TcpImpairment, TcpProxy, UdpImpairment, UdpProxy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCRIPT = HERE / "twinsock_faults.py"
MARK = "@@faults "
DGRAM = "@@dgram "
MIB = 1 << 20
RUN_LIMIT = 20.0  # seconds for one scenario


_board_code = []


def board_code():
    """lib/ and port/ as .mpy, compiled once: MicroPython runs twinsock as a board
    does (compiling the TLS source at 192K needs heap a board never spends)."""
    if not _board_code:
        out = tempfile.mkdtemp(prefix="twinsock-faults-mpy-")
        atexit.register(shutil.rmtree, out, True)
        _board_code.append(str(compile_for_board(out)))
    return _board_code[0]


def micropython_command(script):
    binary = micropython_binary()
    if binary is None:
        pytest.fail("the micropython interpreter is not in .venv or on PATH: run `make venv`")
    return [binary, "-X", "heapsize=192K", str(script)]


RUNTIMES = ["cpython", "micropython"]


class Scenario:
    """One scenario run in a subprocess; `result()` waits (time-limited) for its line."""

    def __init__(self, runtime, job):
        if runtime == "cpython":
            cmd = [sys.executable, str(SCRIPT)]
        else:
            cmd = micropython_command(SCRIPT)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(str(ROOT / p) for p in ("lib", "port"))
        env["MICROPYPATH"] = os.pathsep.join([".frozen", board_code()])
        self.process = subprocess.Popen(
            cmd + [json.dumps(job)],
            cwd=str(ROOT),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )

    def result(self, limit=RUN_LIMIT):
        try:
            out, _ = self.process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
            pytest.fail("scenario hung (killed after %.0f s); output:\n%s" % (limit, out))
        datagrams = []
        for line in out.splitlines():
            if line.startswith(DGRAM):
                datagrams.append(line[len(DGRAM) :])
            elif line.startswith(MARK):
                record = json.loads(line[len(MARK) :])
                assert "setup_error" not in record, record
                record["datagrams"] = datagrams
                return record
        pytest.fail("scenario printed no result (status %s):\n%s" % (self.process.returncode, out))

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def run(runtime, job, limit=RUN_LIMIT):
    scenario = Scenario(runtime, job)
    try:
        return scenario.result(limit)
    finally:
        scenario.kill()


# -- TCP ----------------------------------------------------------------------------------

RAGGED = TcpImpairment(
    read_size=8192,
    random_read_size=True,
    stall_every=256 * 1024,
    stall_chance=0.01,
    stall_ms=150,
)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("method", ["receive_into", "receive"])
def test_tcp_download_1mib_with_stalls_and_slow_reads_is_exact(runtime, method):
    with TcpPeer("send", MIB) as peer, TcpProxy(peer.address, down=RAGGED, seed=1) as proxy:
        job = {"scenario": "tcp_download", "host": LOOPBACK, "port": proxy.port, "method": method}
        got = run(runtime, job)
        stats = proxy.stats()["down"]
    assert got["end"] == "eof", got
    assert got["received"] == MIB and got["first_bad"] is None, got
    assert got["bytes_received_opt"] == MIB
    assert stats["stalls"] >= 4 and stats["reads"] > 200, stats


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tcp_upload_1mib_with_stalls_and_slow_reads_is_exact(runtime):
    with TcpPeer("sink") as peer, TcpProxy(peer.address, up=RAGGED, seed=2) as proxy:
        job = {"scenario": "tcp_upload", "host": LOOPBACK, "port": proxy.port, "size": MIB}
        got = run(runtime, job)
        wait_for(lambda: peer.finished, 10, "the sink to see the end of the stream")
        stats = proxy.stats()["up"]
    assert got["error"] is None and got["sent"] == MIB and got["bytes_sent_opt"] == MIB, got
    assert peer.received == [MIB] and peer.mismatch is None, (peer.received, peer.mismatch)
    assert stats["stalls"] >= 4, stats


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("method", ["receive_into", "receive"])
def test_tcp_mid_stream_reset_is_econnreset_not_truncated_success(runtime, method):
    cut = 300_000
    with TcpPeer("send_forever") as peer, TcpProxy(
        peer.address, down=TcpImpairment(read_size=4096, reset_after=cut), seed=3
    ) as proxy:
        job = {"scenario": "tcp_download", "host": LOOPBACK, "port": proxy.port}
        job.update(method=method, receive_again=True)
        got = run(runtime, job)
        assert proxy.stats()["down"]["resets"] == 1
    assert got["end"] == "error", got  # never b"" (a clean end) after a reset
    error = got["error"]
    assert error["netError"] and error["errno"] == errno.ECONNRESET, error
    assert "reset" in error["message"], error
    # What arrived is exact. A reset makes the kernel drop what the application has
    # not read yet, so a slow reader may see less than the cut, never more, and
    # never as a clean end.
    assert got["first_bad"] is None and 0 < got["received"] <= cut, got
    # The call after the error fails the same way at once: a cut stream never
    # passes for a complete one.
    assert got["again"].get("errno") == errno.ECONNRESET, got["again"]
    assert got["again"]["ms"] < 100, got["again"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tcp_clean_close_mid_stream_is_eof_with_every_byte(runtime):
    # The peer closes cleanly (FIN) after 300 000 bytes: b"" after all of them.
    with TcpPeer("send", 300_000) as peer, TcpProxy(peer.address, seed=4) as proxy:
        got = run(runtime, {"scenario": "tcp_download", "host": LOOPBACK, "port": proxy.port})
    assert got["end"] == "eof" and got["received"] == 300_000 and got["first_bad"] is None, got


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tcp_half_close_is_eof_and_our_direction_still_works(runtime):
    with TcpPeer("echo") as peer, TcpProxy(
        peer.address, down=TcpImpairment(half_close_after=0)
    ) as proxy:
        job = {"scenario": "tcp_download", "host": LOOPBACK, "port": proxy.port}
        job["send_after"] = "after the FIN"
        got = run(runtime, job)
        wait_for(lambda: peer.received == [13], 5, "the peer to get our bytes")
    assert got["end"] == "eof" and got["received"] == 0, got
    assert got["sent_after"] is True and got["eof_again"] == 0, got


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tcp_stall_longer_than_timeout_times_out_then_stream_goes_on(runtime):
    timeout_ms = 300
    with TcpPeer("send", 200_000) as peer, TcpProxy(
        peer.address, down=TcpImpairment(stall_at=(100_000,), stall_ms=800)
    ) as proxy:
        job = {"scenario": "tcp_download", "host": LOOPBACK, "port": proxy.port}
        job.update(timeout_ms=timeout_ms, tolerate_timeouts=5)
        got = run(runtime, job)
    assert got["end"] == "eof" and got["received"] == 200_000, got
    assert got["first_bad"] is None, got
    # two timeouts (0.3 s each) in the 0.8 s stall, both at byte 100 000
    assert [t[0] for t in got["timeouts"]] == [100_000, 100_000], got
    assert all(timeout_ms * 0.9 <= t[1] <= timeout_ms * 1.5 + 100 for t in got["timeouts"]), got


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tcp_reset_while_sending_fails_with_clear_errno(runtime):
    with TcpPeer("sink") as peer, TcpProxy(
        peer.address, up=TcpImpairment(reset_after=200_000), seed=5
    ) as proxy:
        job = {"scenario": "tcp_upload", "host": LOOPBACK, "port": proxy.port, "size": 8 * MIB}
        got = run(runtime, job)
    error = got["error"]
    assert error is not None, got  # 8 MiB cannot all fit in buffers after the RST
    assert error["netError"] and error["errno"] in (errno.ECONNRESET, errno.EPIPE), error


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tcp_peer_vanishes_times_out_within_recv_timeout(runtime):
    # The path goes silent at 300 000 bytes (no FIN, no RST): a peer that lost power.
    timeout_ms = 500
    with TcpPeer("send_forever") as peer, TcpProxy(
        peer.address, down=TcpImpairment(stall_at=(300_000,), stall_ms=60_000), seed=6
    ) as proxy:
        job = {
            "scenario": "tcp_download",
            "host": LOOPBACK,
            "port": proxy.port,
            "timeout_ms": timeout_ms,
            "receive_again": True,
        }
        got = run(runtime, job)
    error = got["error"]
    assert got["end"] == "error" and error["netError"], got
    assert error["errno"] == errno.ETIMEDOUT, error
    assert got["received"] == 300_000 and got["first_bad"] is None, got
    assert timeout_ms * 0.9 <= got["error_after_ms"] <= timeout_ms * 1.5 + 100, got
    again = got["again"]  # the socket stays usable: the next wait times out too
    assert again.get("errno") == errno.ETIMEDOUT, again
    assert again["ms"] <= timeout_ms * 1.5 + 100, again


# -- UDP ----------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("mode", ["receive", "receive_into", "receive_from", "receive_from_into"])
def test_udp_duplicates_and_reorders_return_only_sent_datagrams(runtime, mode):
    count, bufsize = 200, 64
    sizes = [10, 40, 64, 65, 100, 300]  # 65+ do not fit the 64-byte buffer
    down = UdpImpairment(duplicate=0.3, reorder=0.3, reorder_hold_ms=100)
    with UdpPeer(echo=True) as peer, UdpProxy(peer.address, down=down, seed=7) as proxy:
        job = {
            "scenario": "udp_exchange",
            "host": LOOPBACK,
            "port": proxy.port,
            "count": count,
            "sizes": sizes,
            "bufsize": bufsize,
            "mode": mode,
            "timeout_ms": 400,
        }
        got = run(runtime, job)
        stats = proxy.stats()["down"]
    whole = {i: len(datagram(i, sizes)) for i in range(count)}
    heads = []
    truncated = 0
    for record in got["datagrams"]:  # "index:length:same[:nbytes][|host|port]"
        record, *sender = record.split("|")
        if mode.startswith("receive_from"):
            assert sender == [LOOPBACK, str(proxy.port)], (record, sender)
        fields = [int(x) for x in record.split(":")]
        i, n, same = fields[:3]
        assert same == 1 and i in whole, "not a datagram the peer sent: %s" % record
        if len(fields) == 4:  # flagged truncated: the buffer is full, of its first bytes
            assert whole[i] > bufsize and n == fields[3] == bufsize, record
            truncated += 1
        else:
            assert n == whole[i] <= bufsize, "a datagram cut short: %s" % record
        heads.append(i)
    assert got["returned"] + got["truncated"] == len(heads) and got["truncated"] == truncated
    assert [e["errno"] for e in got["errors"]] == [errno.ETIMEDOUT], got["errors"]
    # every copy the proxy delivered came back, once each, whole or flagged truncated
    assert len(heads) == stats["datagrams_out"] == count + stats["duplicated"], stats
    assert set(heads) == set(range(count))
    assert truncated and heads != sorted(heads)  # truncation and reordering happened
    assert stats["duplicated"] > 20 and stats["reordered"] > 20, stats


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_udp_peer_dies_next_receive_times_out(runtime):
    timeout_ms = 400
    with UdpPeer(echo=True) as peer, UdpProxy(peer.address, seed=8) as proxy:
        job = {
            "scenario": "udp_until_failure",
            "host": LOOPBACK,
            "port": proxy.port,
            "timeout_ms": timeout_ms,
        }
        scenario = Scenario(runtime, job)
        try:
            wait_for(lambda: peer.echoed >= 50, 10, "50 exchanges")
            peer.stop()  # the peer dies mid-exchange
            got = scenario.result()
        finally:
            scenario.kill()
    assert got["answered"] >= 50
    error = got["error"]
    assert error["netError"] and error["errno"] == errno.ETIMEDOUT, error
    assert got["error_after_ms"] <= timeout_ms * 1.5 + 100, got


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_udp_peer_dies_without_proxy_is_refused_or_timeout(runtime):
    # Directly connected: Linux passes the ICMP port-unreachable on as ECONNREFUSED.
    timeout_ms = 400
    with UdpPeer(echo=True) as peer:
        job = {
            "scenario": "udp_until_failure",
            "host": LOOPBACK,
            "port": peer.port,
            "timeout_ms": timeout_ms,
        }
        scenario = Scenario(runtime, job)
        try:
            wait_for(lambda: peer.echoed >= 50, 10, "50 exchanges")
            peer.stop()
            got = scenario.result()
        finally:
            scenario.kill()
    error = got["error"]
    assert error["netError"] and error["errno"] in (errno.ECONNREFUSED, errno.ETIMEDOUT), error
    assert got["error_after_ms"] <= timeout_ms * 1.5 + 100, got
