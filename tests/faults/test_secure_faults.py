"""twinsock DTLS and TLS through the impairment proxy, on CPython and on the real
MicroPython interpreter (`-X heapsize=192K`).

The peers are the host server's own secure services (tools/hostserver/secure.py:
pyOpenSSL DTLS 1.2 with the run's certificate or PSK, stdlib TLS echo), started in
this process with a per-module PKI; the proxy runs here too. The twinsock side is one
scenario of tests/faults/secure_faults.py in a subprocess with a time limit; its job is
passed as a file (certificate paths and a PSK do not fit a board's command line).

Seeds: the proxy's decisions are a function of the seed and the sequence of datagrams,
so a lossy handshake is the same on every run as long as the datagrams come in the same
order; the seed below was chosen so that the handshake loses datagrams both ways and
no two timers race, which would let timing change that order (see LOSSY_SEEDS).
"""

import errno
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from faultpeers import LOOPBACK
from test_twinsock_faults import RUNTIMES, board_code, micropython_command

from tools.proxy import TcpImpairment, TcpProxy, UdpImpairment, UdpProxy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCRIPT = HERE / "secure_faults.py"
MARK = "@@faults "
MIB = 1 << 20
RUN_LIMIT = 30.0  # seconds for one scenario
SERVER_LIMIT = 300.0  # the in-process host server stops by itself after this


@pytest.fixture(scope="module")
def secure_server(tmp_path_factory):
    """The host server's DTLS (certificate, PSK) and TLS echo services, in this
    process, stopped at the end of the module (or after SERVER_LIMIT s)."""
    from tools.hostserver import start

    pki_dir = str(tmp_path_factory.mktemp("pki"))
    server, description = start(
        [LOOPBACK], ["dtls_echo", "dtls_psk_echo", "tls_echo", "tls_psk_echo"], pki_dir=pki_dir
    )
    limit = threading.Timer(SERVER_LIMIT, server.stopping.set)
    limit.daemon = True
    limit.start()
    description["pki_dir"] = pki_dir
    yield description
    limit.cancel()
    server.close()
    for thread in server.threads:
        thread.join(5)
        assert not thread.is_alive(), "host server thread did not stop"


def credentials(server, security):
    if security == "psk":
        return {
            "security": "psk",
            "psk_identity": server["psk"]["identity"],
            "psk_key": server["psk"]["key"],
        }
    return {"security": "cert", "ca_path": os.path.join(server["pki_dir"], "ca.der")}


def service_port(server, name):
    return server["hosts"][LOOPBACK][name]


def run(runtime, job, tmp_path, limit=RUN_LIMIT):
    """Run one scenario (its job written to a file); the parsed result line."""
    job_path = tmp_path / ("job-%s.json" % runtime)
    job_path.write_text(json.dumps(job))
    if runtime == "cpython":
        cmd = [sys.executable, str(SCRIPT)]
    else:
        cmd = micropython_command(SCRIPT)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (ROOT / "lib", ROOT / "port", HERE))
    env["MICROPYPATH"] = os.pathsep.join([".frozen", board_code(), str(HERE)])
    process = subprocess.Popen(
        cmd + [str(job_path)],
        cwd=str(ROOT),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        out, _ = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        pytest.fail("scenario hung (killed after %.0f s); output:\n%s" % (limit, out))
    for line in out.splitlines():
        if line.startswith(MARK):
            record = json.loads(line[len(MARK) :])
            assert "setup_error" not in record, record
            return record
    pytest.fail("scenario printed no result (status %s):\n%s" % (process.returncode, out))


# -- DTLS handshake under loss ------------------------------------------------------------

LOSSY_TIMEOUTS = (200, 1600)  # a flight is sent at 0, 200, 600, 1400 ms; given up at 3000
LOSS = 0.3
# security -> seed. With seed 29 the handshake loses, in order: our ClientHello (our
# timer resends it at 200 ms), our Finished flight (resent at +200 ms) and the server's
# final flight (it comes back in answer to the library's own resend, 1 s after our
# flight): 2 datagrams up, 1 down, complete in ~1.2 s on both runtimes, PSK and
# certificate alike. No two timers race there (the library's resend at 1.2 s, ours at
# 1.6 s), so the datagram order, hence every loss decision, is the same on every run.
# Seed 4 (~1.0 s, 3 up and 1 down) is not: at 1.0 s the server's 1 s timer and the
# client's race. Other seeds: docs/FAULTS.md, "TLS and DTLS through the proxy".
LOSSY_SEEDS = {"psk": 29, "cert": 29}
HANDSHAKE_RECORDS = (20, 22)  # DTLS content types: ChangeCipherSpec, Handshake


def handshake_drops(log_text):
    """{direction: datagrams dropped that carried handshake records} from a proxy log."""
    drops = {"up": 0, "down": 0}
    for line in log_text.splitlines():
        record = json.loads(line)
        if record.get("event") == "datagram" and record["drop"]:
            if record["first"] in HANDSHAKE_RECORDS:
                drops[record["dir"]] += 1
    return drops


def schedule_total_ms(timeouts):
    """When the engines give up: the sum of the waits min, 2min, ... up to max
    (a wait of max being the last). (100, 400): 100 + 200 + 400 = 700 ms."""
    low, high = timeouts
    total, wait = 0, low
    while True:
        wait = min(wait, high)
        total += wait
        if wait >= high:
            return total
        wait *= 2


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("security", ["psk", "cert"])
def test_dtls_handshake_completes_at_30_percent_loss_each_way(
    runtime, security, secure_server, tmp_path
):
    service = "dtls_psk_echo" if security == "psk" else "dtls_echo"
    lossy = UdpImpairment(loss=LOSS)
    log = io.StringIO()
    with UdpProxy(
        (LOOPBACK, service_port(secure_server, service)),
        up=lossy,
        down=lossy,
        seed=LOSSY_SEEDS[security],
        log=log,
        lifetime=RUN_LIMIT + 10,
    ) as proxy:
        job = credentials(secure_server, security)
        job.update(
            scenario="dtls_handshake",
            host=LOOPBACK,
            port=proxy.port,
            handshake_timeouts=list(LOSSY_TIMEOUTS),
            echoes=3,
            retry_ms=150,
        )
        got = run(runtime, job, tmp_path)
    assert got["handshake"] == "ok", got
    # bounded by the schedule, not by OPT_RECV_TIMEOUT (300 ms here)
    assert got["handshake_ms"] <= schedule_total_ms(LOSSY_TIMEOUTS), got
    # the loss really hit the handshake, both ways
    drops = handshake_drops(log.getvalue())
    assert drops["up"] >= 1 and drops["down"] >= 1, drops
    for echo in got["echoes"]:  # every record came back whole (retried over the loss)
        assert echo["ok"] and "bad" not in echo and "error" not in echo, got


FAIL_TIMEOUTS = (100, 400)  # sends at 0, 100, 300 ms; gives up at 700 ms


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("security", ["psk", "cert"])
def test_dtls_handshake_at_100_percent_loss_is_etimedout_on_schedule(
    runtime, security, secure_server, tmp_path
):
    service = "dtls_psk_echo" if security == "psk" else "dtls_echo"
    blackhole = UdpImpairment(loss=1.0)
    with UdpProxy(
        (LOOPBACK, service_port(secure_server, service)),
        up=blackhole,
        down=blackhole,
        seed=1,
        lifetime=RUN_LIMIT + 10,
    ) as proxy:
        job = credentials(secure_server, security)
        job.update(
            scenario="dtls_handshake",
            host=LOOPBACK,
            port=proxy.port,
            handshake_timeouts=list(FAIL_TIMEOUTS),
            retry_ms=30000,  # OPT_RECV_TIMEOUT must not be what ends it
        )
        got = run(runtime, job, tmp_path)
        stats = proxy.stats()
    assert got["handshake"] == "error", got
    error = got["error"]
    assert error["netError"] and error["errno"] == errno.ETIMEDOUT, error
    total = schedule_total_ms(FAIL_TIMEOUTS)
    assert total == 700
    # The engines give up when the last wait (max) runs out: at the schedule's total,
    # not before it, and within 10% after it.
    assert total - 10 <= got["handshake_ms"] <= total * 1.1, got
    # one ClientHello and a resend at each expiry but the last: 0, 100, 300 ms
    assert stats["up"]["datagrams_in"] == 3 and stats["up"]["datagrams_out"] == 0, stats


# -- TLS: 1 MiB with stalls and slow reads; reset mid-stream ---------------------------------

RAGGED = TcpImpairment(
    read_size=8192,
    random_read_size=True,
    stall_every=256 * 1024,
    stall_chance=0.01,
    stall_ms=100,
)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tls_1mib_echo_with_stalls_and_slow_reads_is_exact(runtime, secure_server, tmp_path):
    with TcpProxy(
        (LOOPBACK, service_port(secure_server, "tls_echo")),
        up=RAGGED,
        down=RAGGED,
        seed=21,
        lifetime=RUN_LIMIT + 10,
    ) as proxy:
        job = credentials(secure_server, "cert")
        job.update(scenario="tls_echo_transfer", host=LOOPBACK, port=proxy.port, size=MIB)
        got = run(runtime, job, tmp_path)
        stats = proxy.stats()
    assert got["end"] == "complete" and got["error"] is None, json.dumps(got)
    assert got["received"] == MIB and got["first_bad"] is None, got
    assert got["bytes_sent_opt"] == MIB and got["bytes_received_opt"] == MIB, got
    # the stream really was ragged and stalled both ways (TLS records add bytes)
    for d in ("up", "down"):
        assert stats[d]["stalls"] >= 4 and stats[d]["reads"] > 200, stats


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tls_mid_stream_reset_is_econnreset_not_a_hang(runtime, secure_server, tmp_path):
    cut = 300_000  # bytes of the down direction (TLS records) before the RST
    with TcpProxy(
        (LOOPBACK, service_port(secure_server, "tls_echo")),
        down=TcpImpairment(read_size=4096, reset_after=cut),
        seed=22,
        lifetime=RUN_LIMIT + 10,
    ) as proxy:
        job = credentials(secure_server, "cert")
        job.update(scenario="tls_echo_transfer", host=LOOPBACK, port=proxy.port, size=MIB)
        got = run(runtime, job, tmp_path)
        assert proxy.stats()["down"]["resets"] == 1
    assert got["end"] == "error", got  # never b"" (a clean end) or success after a reset
    error = got["error"]
    assert error["netError"] and error["errno"] == errno.ECONNRESET, error
    # what arrived before the cut is exact, and is less than the cut (record overhead)
    assert got["first_bad"] is None and 0 < got["received"] < cut, got
    assert got["error_after_ms"] < 1000, got  # the RST is seen at once, not at a timeout
    assert got["again"]["ms"] < 100, got["again"]  # the call after it returns at once


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_tls_receive_after_a_reset_fails_the_same_way(runtime, secure_server, tmp_path):
    with TcpProxy(
        (LOOPBACK, service_port(secure_server, "tls_echo")),
        down=TcpImpairment(read_size=4096, reset_after=100_000),
        seed=24,
        lifetime=RUN_LIMIT + 10,
    ) as proxy:
        job = credentials(secure_server, "cert")
        job.update(scenario="tls_echo_transfer", host=LOOPBACK, port=proxy.port, size=MIB)
        got = run(runtime, job, tmp_path)
    assert got["error"]["errno"] == errno.ECONNRESET, got
    again = got["again"]  # what a caller that logs the error and reads again sees
    assert again.get("netError") and again["errno"] == errno.ECONNRESET, again
    assert "reset" in again["message"].lower(), again


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tls_peer_closes_mid_stream_is_eof_or_error_never_success(runtime, secure_server, tmp_path):
    # A FIN (no close_notify) from the path after 200 000 bytes: the transfer must end
    # as b"" or a NetError, with every byte before it exact; never a hang or "complete".
    with TcpProxy(
        (LOOPBACK, service_port(secure_server, "tls_echo")),
        down=TcpImpairment(half_close_after=200_000),
        seed=23,
        lifetime=RUN_LIMIT + 10,
    ) as proxy:
        job = credentials(secure_server, "cert")
        job.update(scenario="tls_echo_transfer", host=LOOPBACK, port=proxy.port, size=MIB)
        got = run(runtime, job, tmp_path)
    assert got["end"] in ("eof", "error"), got
    if got["end"] == "error":
        assert got["error"]["netError"], got
    assert got["first_bad"] is None and 0 < got["received"] < 200_000, got
    assert got["error_after_ms"] < 1000 if got["end"] == "error" else True, got


FINAL_FLIGHT_TIMEOUTS = (180, 1440)  # a flight given up at 180+360+720+1440 = 2700 ms


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_dtls_final_flight_lost_twice_recovers_within_the_schedule(
    runtime, secure_server, tmp_path
):
    # The server's final flight (down datagram 2, after the HelloVerifyRequest and
    # the ServerHello flight) and its resend (down 3) are lost; every other datagram
    # passes. Only the library can resend our encrypted Finished flight (fresh record
    # numbers under the MAC; its timer: 1 s, then 3 s after the flight), as many
    # times as (180, 1440) resends a flight (three), so the answer comes at ~3.0 s.
    with UdpProxy(
        (LOOPBACK, service_port(secure_server, "dtls_psk_echo")),
        down=UdpImpairment(drop_at=(2, 3)),
        lifetime=RUN_LIMIT + 10,
    ) as proxy:
        job = credentials(secure_server, "psk")
        job.update(
            scenario="dtls_handshake",
            host=LOOPBACK,
            port=proxy.port,
            handshake_timeouts=list(FINAL_FLIGHT_TIMEOUTS),
            echoes=1,
        )
        got = run(runtime, job, tmp_path)
        stats = proxy.stats()
    assert stats["down"]["dropped"] == 2, stats
    assert got["handshake"] == "ok", got
    assert got["handshake_ms"] <= 2 * schedule_total_ms(FINAL_FLIGHT_TIMEOUTS), got
