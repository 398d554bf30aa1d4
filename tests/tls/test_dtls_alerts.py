"""A DTLS peer's fatal alert is reported as that alert (TLSError.alert, its name
and number in the message) on both engines, even when a close_notify came
first, as tinydtls sends them when it refuses our suites."""

import socket
import threading

import pytest
import tlsdrive
from tlsdrive import PskInfo, SSLConfig
from tlspeers import PSK_IDENTITY, PSK_KEY
from twinsock.errors import TLSError

PSK = [PSK_IDENTITY, PSK_KEY]


def alert_record(number, level, description):
    return (
        b"\x15\xfe\xfd\x00\x00"
        + number.to_bytes(6, "big")
        + b"\x00\x02"
        + bytes((level, description))
    )


class RefusingPeer:
    """Answers the first ClientHello with close_notify, then a fatal
    handshake_failure, in two datagrams."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            hello, client = self.sock.recvfrom(4096)
            self.sock.sendto(alert_record(0, 1, 0), client)
            self.sock.sendto(alert_record(1, 2, 40), client)
        except OSError:
            pass

    def close(self):
        self.thread.join(11)
        self.sock.close()


@pytest.fixture
def refusing_peer():
    peer = RefusingPeer()
    yield peer
    peer.close()


def cpython_handshake(port, ciphersuites=None):
    from twinsock_port.tls_cpython import Engine

    config = SSLConfig(
        PskInfo(PSK_IDENTITY.encode(), bytes.fromhex(PSK_KEY)),
        ciphersuites=ciphersuites,
        dtls_handshake_timeouts=(300, 2400),
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    try:
        engine = Engine(sock, config, dtls=True, handshake_timeouts=(300, 2400))
        with pytest.raises(TLSError) as info:
            tlsdrive.handshake(engine, sock, 5000)
        return {"alert": info.value.alert, "message": str(info.value)}
    finally:
        sock.close()


def micropython_handshake(micropython, port, ciphersuites=None):
    job = {"port": port, "dtls": True, "psk": PSK, "timeouts": [300, 2400]}
    if ciphersuites:
        job["ciphersuites"] = ciphersuites
    result = micropython.run(job)
    assert result.get("error") == "TLSError", result
    return result


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_fatal_alert_behind_close_notify(runtime, refusing_peer, micropython):
    if runtime == "cpython":
        got = cpython_handshake(refusing_peer.port)
    else:
        got = micropython_handshake(micropython, refusing_peer.port)
    assert got["alert"] == 40, got
    assert "handshake_failure (40)" in got["message"], got


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_suite_mismatch_with_s_server_is_its_alert(runtime, s_server, micropython):
    # the server speaks only AES-256-GCM; we offer only AES-128-GCM
    _, port = s_server(dtls=True, psk=True, extra=["-cipher", "PSK-AES256-GCM-SHA384"])
    if runtime == "cpython":
        got = cpython_handshake(port, [0x00A8])
    else:
        got = micropython_handshake(micropython, port, [0x00A8])
    assert got["alert"] == 40, got
    assert "handshake_failure (40)" in got["message"], got
