"""Where the platform reports an ICMP port-unreachable (CPython and the MicroPython
unix port, on Linux), a connected UDP receive and a DTLS handshake with a port
nobody has bound fail at once with ECONNREFUSED, and send nothing more: counted on
the wire by tshark capturing on the loopback interface, from before the call until
well after the moment the handshake's first resend would have been due.

The capture counts UDP datagrams to two closed ports: the scenario's, and a marker
port this test sends to until tshark shows it is capturing (its start-up is slow).
The scenario runs in a subprocess (tests/faults/icmp_refused.py) on CPython or
`micropython -X heapsize=192K`, and keeps its socket open while the wire is watched.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from faultpeers import LOOPBACK
from test_twinsock_faults import MARK, RUNTIMES, board_code, micropython_command

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCRIPT = HERE / "icmp_refused.py"
HANDSHAKE_TIMEOUTS = (300, 1200)  # a first resend 300 ms in, the next 600 ms later
# How long the wire is watched after the call failed: the two resends a handshake
# that carried on would have sent (at 300 and 900 ms) fall inside it.
WATCH_AFTER_S = 1.5
CAPTURE_LIMIT_S = 60  # tshark stops by itself after this, whatever happens here
RUN_LIMIT_S = 30.0


def closed_udp_port():
    """A UDP port number nobody has bound (bound, then given back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


class LoopbackCapture:
    """tshark on `lo`, listing the destination port of each UDP datagram sent to one
    of `ports`; time-limited, stopped by stop()."""

    def __init__(self, ports):
        tshark = shutil.which("tshark")
        if tshark is None:
            pytest.fail("tshark is not installed (apt-get install tshark)")
        wanted = " or ".join("dst port %d" % port for port in ports)
        self.process = subprocess.Popen(
            [tshark, "-i", "lo", "-n", "-l", "-f", "udp and (%s)" % wanted]
            + ["-a", "duration:%d" % CAPTURE_LIMIT_S, "-T", "fields", "-e", "udp.dstport"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.seen = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            if line.strip().isdigit():
                with self.changed:
                    self.seen.append(int(line))
                    self.changed.notify_all()

    def wait_live(self, marker_port, limit_s=20.0):
        """Send to `marker_port` until the capture lists one: from then on it counts."""
        deadline = time.monotonic() + limit_s
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as marker:
            while time.monotonic() < deadline:
                marker.sendto(b"marker", (LOOPBACK, marker_port))
                with self.changed:
                    if self.changed.wait_for(lambda: marker_port in self.seen, 0.2):
                        return
                if self.process.poll() is not None:
                    break
        self.stop()
        pytest.fail("tshark never showed a datagram: %s" % self.process.stderr.read())

    def stop(self):
        """Stop the capture; the destination ports it listed."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(10)
        return list(self.seen)


def run_refused(runtime, job):
    """Run the scenario; return (its result, the destination ports captured)."""
    refused_port = job["port"]
    marker_port = closed_udp_port()
    capture = LoopbackCapture((refused_port, marker_port))
    scenario = None
    try:
        capture.wait_live(marker_port)
        if runtime == "cpython":
            cmd = [sys.executable, str(SCRIPT)]
        else:
            cmd = micropython_command(SCRIPT)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "lib"), str(ROOT / "port"), str(HERE)])
        env["MICROPYPATH"] = os.pathsep.join([".frozen", board_code(), str(HERE)])
        scenario = subprocess.Popen(
            cmd + [json.dumps(job)],
            cwd=str(ROOT),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        result = read_result(scenario)
        time.sleep(WATCH_AFTER_S)  # the watch itself, not a wait for something to happen
        scenario.communicate("done\n", timeout=RUN_LIMIT_S)
    finally:
        if scenario is not None and scenario.poll() is None:
            scenario.kill()
            scenario.communicate()
        seen = capture.stop()
    return result, [port for port in seen if port == refused_port]


def read_result(scenario):
    """The scenario's result line, read with a time limit."""
    found = []
    lines = []

    def read():
        for line in scenario.stdout:
            lines.append(line)
            if line.startswith(MARK):
                found.append(json.loads(line[len(MARK) :]))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(RUN_LIMIT_S)
    if not found:
        scenario.kill()
        pytest.fail("the scenario printed no result:\n%s" % "".join(lines))
    return found[0]


@pytest.fixture(scope="module")
def ca_path(tmp_path_factory):
    from tools.hostserver.pki import Pki

    pki = Pki.load_or_create(str(tmp_path_factory.mktemp("icmp-pki")))
    return pki.path("ca", ".der")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_udp_receive_refused_at_once_sends_nothing_more(runtime):
    job = {"kind": "udp", "host": LOOPBACK, "port": closed_udp_port()}
    result, datagrams = run_refused(runtime, job)
    error = result["error"]
    assert error and error["netError"] and error["errno"] == 111, result  # ECONNREFUSED
    assert "receive" in error["message"] and "refused" in error["message"], error
    assert result["took_ms"] < 1000, result  # at once, not after the 3 s timeout
    assert len(datagrams) == 1, "%d datagrams reached the refused port, not 1" % len(datagrams)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_dtls_handshake_refused_at_once_sends_nothing_more(runtime, ca_path):
    job = {
        "kind": "dtls",
        "host": LOOPBACK,
        "port": closed_udp_port(),
        "timeouts": list(HANDSHAKE_TIMEOUTS),
        "ca_path": ca_path,
    }
    result, datagrams = run_refused(runtime, job)
    error = result["error"]
    assert error and error["netError"] and error["errno"] == 111, result  # ECONNREFUSED
    assert error["type"] != "TLSError", error  # the network's answer, not the handshake's
    assert result["took_ms"] < HANDSHAKE_TIMEOUTS[0], result  # before the first resend
    # one ClientHello, and nothing after the ICMP error: no resend, no alert
    assert len(datagrams) == 1, "%d datagrams reached the refused port, not 1" % len(datagrams)
