"""The AT-modem example's serial-line handling, with a scripted modem: URCs in
the middle of answers, the '>' prompt, binary payloads that look like AT
lines, and errors as errno. (The conformance suite runs it against the
simulator and real peers: test_conformance.py.)"""

import errno
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
for path in (ROOT, ROOT / "lib", ROOT / "port"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from twinsock.const import AF_INET4  # noqa: E402

from examples.at_modem_platform import ATModemPlatform  # noqa: E402


class ScriptedSerial:
    """pyserial's read/write/timeout/in_waiting: each write that matches a
    scripted command queues its answer, which read() hands out a byte at a time."""

    def __init__(self, script):
        self.script = dict(script)
        self.timeout = None
        self.written = []
        self._rx = bytearray()

    @property
    def in_waiting(self):
        return len(self._rx)

    def write(self, data):
        self.written.append(bytes(data))
        self._rx += self.script.pop(bytes(data), b"")

    def read(self, n):
        chunk = bytes(self._rx[:1])  # one byte at a time: every split is exercised
        del self._rx[:1]
        return chunk  # b"" when empty: a timeout, at once


def modem(script):
    serial = ScriptedSerial({b"ATE0\r": b"\r\nOK\r\n", **script})
    platform = ATModemPlatform(serial=serial, command_timeout_ms=100)
    platform.initialize()
    return platform, serial


def opened(platform, kind="tcp"):
    raw = platform.socket(AF_INET4, kind, None)
    raw.opened = True
    return raw


def test_urc_inside_an_answer_is_handled_and_binary_payload_is_kept():
    payload = b"\r\nOK\r\n> +QIURC: x\r\n"  # looks like the line protocol, is data
    answer = (
        b'\r\n+QIURC: "recv",1\r\n\r\n+QIRD: %d\r\n' % len(payload) + payload + b"\r\n\r\nOK\r\n"
    )
    platform, _ = modem({b"AT+QIRD=0,100\r": answer})
    first, second = opened(platform), opened(platform)
    assert first.recv(100) == payload
    assert second.unread and not first.peer_closed


def test_send_waits_for_the_prompt_past_a_urc():
    platform, serial = modem(
        {
            b"AT+QISEND=0,5\r": b'\r\n+QIURC: "recv",0\r\n> ',
            b"hello": b"\r\nSEND OK\r\n",
        }
    )
    raw = opened(platform)
    assert raw.send(b"hello") == 5
    assert serial.written[-1] == b"hello" and raw.unread


def test_udp_read_reports_the_full_datagram_length_and_sender():
    answer = b'\r\n+QIRD: 4,"10.0.0.7",5683,1000\r\nabcd\r\n\r\nOK\r\n'
    platform, _ = modem({b"AT+QIRD=0,4\r": answer})
    raw = opened(platform, "udp")
    buf = bytearray(4)
    assert platform.datagram_from_receiver(raw)(buf) == (1000, "10.0.0.7", 5683)
    assert buf == b"abcd"


def test_empty_buffer_is_eagain_then_end_of_stream_after_closed():
    platform, serial = modem(
        {
            b"AT+QIRD=0,10\r": b"\r\n+QIRD: 0\r\n\r\n\r\nOK\r\n",
        }
    )
    raw = opened(platform)
    raw.unread = True
    with pytest.raises(OSError) as e:
        raw.recv(10)
    assert e.value.errno == errno.EAGAIN and not raw.unread
    serial.script[b"AT+QIRD=0,10\r"] = b"\r\n+QIRD: 0\r\n\r\n\r\nOK\r\n"
    raw.peer_closed = True
    assert raw.recv(10) == b""
    with pytest.raises(OSError) as e:
        raw.send(b"x")
    assert e.value.errno == errno.EPIPE


@pytest.mark.parametrize(
    "code, expected",
    [
        (566, errno.ECONNREFUSED),
        (569, errno.ETIMEDOUT),
        (565, errno.EADDRNOTAVAIL),
        (999, errno.EIO),
    ],
)
def test_open_errors_map_to_errno(code, expected):
    command = b'AT+QIOPEN=1,0,"TCP","10.0.0.7",80,0,0\r'
    platform, _ = modem({command: b"\r\nOK\r\n\r\n+QIOPEN: 0,%d\r\n" % code})
    raw = platform.socket(AF_INET4, "tcp", None)
    with pytest.raises(OSError) as e:
        platform.connect(raw, ("10.0.0.7", 80), 1000)
    assert e.value.errno == expected
    assert platform.errno_of(e.value) == expected


def test_cme_error_and_silence():
    platform, _ = modem({b"AT+QICLOSE=0\r": b"\r\n+CME ERROR: 552\r\n"})
    with pytest.raises(OSError) as e:
        platform.at.command("AT+QICLOSE=0")
    assert e.value.errno == errno.EINVAL
    with pytest.raises(OSError) as e:
        platform.at.command("AT+QIRD=3,1")  # nothing scripted: the modem says nothing
    assert e.value.errno == errno.ETIMEDOUT


def test_dns_answer_comes_as_urcs():
    platform, _ = modem(
        {
            b'AT+QIDNSGIP=1,"example.test"\r': b'\r\nOK\r\n\r\n+QIURC: "dnsgip",0,2,600\r\n'
            b'\r\n+QIURC: "dnsgip","10.0.0.1"\r\n\r\n+QIURC: "dnsgip","10.0.0.2"\r\n',
            b'AT+QIDNSGIP=1,"bad.test"\r': b'\r\nOK\r\n\r\n+QIURC: "dnsgip",565\r\n',
        }
    )
    got = platform.resolve("example.test", 80, 0, "udp", False)
    assert [entry[1] for entry in got] == ["10.0.0.1", "10.0.0.2"]
    with pytest.raises(OSError) as e:
        platform.resolve("bad.test", 80, 0, "udp", False)
    assert e.value.errno == errno.EADDRNOTAVAIL
    with pytest.raises(OSError) as e:
        platform.resolve("::1", 80, 0, "udp", False)
    assert e.value.errno == errno.EADDRNOTAVAIL


def test_simulator_speaks_the_dialect_over_a_pty():
    serial = pytest.importorskip("serial")
    from examples.modem_simulator import SimulatorProcess

    with SimulatorProcess(lifetime=20) as simulator:
        line = serial.serial_for_url(simulator.port, baudrate=115200, timeout=5)
        try:
            line.write(b'AT+QIOPEN=1,0,"UDP","127.0.0.1",9,0,0\r')
            assert line.read_until(b"+QIOPEN: 0,0\r\n").endswith(b"+QIOPEN: 0,0\r\n")
            line.write(b"AT+QISEND=0,3\r")
            assert line.read_until(b"> ").endswith(b"> ")
            line.write(b"abc")
            assert line.read_until(b"SEND OK\r\n").endswith(b"SEND OK\r\n")
            line.write(b"AT+QIRD=0,10\r")
            assert line.read_until(b"OK\r\n") == b"\r\n+QIRD: 0\r\n\r\n\r\nOK\r\n"
            line.write(b"AT+QICLOSE=0\r")
            assert line.read_until(b"OK\r\n") == b"\r\nOK\r\n"
        finally:
            line.close()


def test_tcp_line_to_the_simulator_on_cpython():
    # StreamLine over a socket: the transport MicroPython uses, here on CPython.
    from examples.modem_simulator import SimulatorProcess

    with SimulatorProcess(lifetime=20, tcp=True) as simulator:
        platform = ATModemPlatform(address=("127.0.0.1", simulator.tcp_port))
        platform.initialize()
        try:
            entries = platform.resolve("localhost", 5683, 0, "udp", False)
            assert ("127.0.0.1", 5683) in [entry[3] for entry in entries]
            raw = platform.socket(AF_INET4, "udp", None)
            platform.connect(raw, ("127.0.0.1", 9), 2000)
            assert raw.send(b"x") == 1
            assert platform.waiter(raw)(50) is False  # nothing comes back from port 9
            platform.close(raw)
        finally:
            platform.release()
