"""A peer that refuses the PSK engine's ClientHello the way tinydtls does, with
close_notify and then a fatal handshake_failure in a second datagram
(tests/interop/test_tinydtls.py sees that on the wire): connect() reports the
handshake_failure, as a refusal of our suites, not the close_notify and not a
rejected PSK."""

import socket
import threading

import pytest
import twinsock
from twinsock_port import tls_psk

CLOSE_NOTIFY = b"\x15\xfe\xfd" + bytes(8) + b"\x00\x02\x01\x00"
HANDSHAKE_FAILURE = b"\x15\xfe\xfd" + bytes(8) + b"\x00\x02\x02\x28"


@pytest.fixture
def refusing_peer():
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(10)  # the peer's time limit
    seen = []

    def serve():
        try:
            hello, client = peer.recvfrom(4096)
        except OSError:
            return
        seen.append(hello)
        peer.sendto(CLOSE_NOTIFY, client)
        peer.sendto(HANDSHAKE_FAILURE, client)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield peer.getsockname()[1], seen
    finally:
        peer.close()
        thread.join(10)


def test_close_notify_then_fatal_alert_reports_the_alert(refusing_peer):
    port, seen = refusing_peer
    twinsock.use_tls_engine(tls_psk)
    try:
        config = twinsock.SSLConfig(
            twinsock.PskInfo(b"device-1", bytes(16)), dtls_handshake_timeouts=(1000, 4000)
        )
        sock = twinsock.dtls_socket(config)
        try:
            with pytest.raises(twinsock.TLSError) as info:
                sock.connect("127.0.0.1", port)
        finally:
            sock.close()
    finally:
        twinsock.use_tls_engine(None)
    e = info.value
    assert seen and seen[0][0] == 22, seen  # our ClientHello reached the peer
    assert e.alert == 40, (e, e.alert)
    assert "handshake_failure" in str(e) and "ciphersuites" in str(e), e
    assert "PSK" not in str(e) and "key" not in str(e), e
