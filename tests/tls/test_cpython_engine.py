"""The CPython engine (pyOpenSSL) against real peers: openssl s_server and
s_client, plain TCP/UDP misbehaving peers, and a lossy UDP relay."""

import errno
import socket
import time

import pytest
import tlsdrive
from tlsdrive import CertInfo, PskInfo, SSLConfig
from tlspeers import PSK_IDENTITY, PSK_KEY, PlainServer
from twinsock.errors import MessageTruncated, NetError, TLSError
from twinsock_port import tls_cpython
from twinsock_port.tls_cpython import Engine


def connect(port, dtls):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def cert_config(pki, ca="ca", der=False, **kwargs):
    trusted = pki.der(ca) if der else pki.pem(ca)
    return SSLConfig(CertInfo(trusted_certs=(trusted,)), **kwargs)


def psk_config(key=PSK_KEY, identity=PSK_IDENTITY, **kwargs):
    return SSLConfig(PskInfo(identity.encode(), bytes.fromhex(key)), **kwargs)


def open_engine(port, config, dtls=False, hostname="localhost", timeout_ms=5000, **kwargs):
    sock = connect(port, dtls)
    engine = Engine(
        sock,
        config,
        dtls=dtls,
        server_hostname=hostname,
        handshake_timeouts=config.dtls_handshake_timeouts,
        **kwargs,
    )
    try:
        tlsdrive.handshake(engine, sock, timeout_ms)
    except BaseException:
        sock.close()
        raise
    return engine, sock


def handshake_error(port, config, dtls=False, hostname="localhost", timeout_ms=5000):
    started = time.monotonic()
    with pytest.raises(TLSError) as info:
        engine, sock = open_engine(port, config, dtls, hostname, timeout_ms)
        sock.close()
    assert time.monotonic() - started < timeout_ms / 1000, "the failure took the whole timeout"
    return info.value


def test_features_are_real():
    assert tls_cpython.features() == {
        "tls": True,
        "dtls": True,
        "psk": True,
        "session_resumption": True,
        "connection_id": False,
        "dane": False,
    }


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
@pytest.mark.parametrize("security", ["cert_pem", "cert_der", "psk"])
def test_client_against_s_server(s_server, pki, dtls, security):
    server, port = s_server(dtls=dtls, psk=security == "psk")
    config = psk_config() if security == "psk" else cert_config(pki, der=security == "cert_der")
    engine, sock = open_engine(port, config, dtls)
    try:
        tlsdrive.send_all(engine, sock, b"hello from twinsock\n")
        server.expect("hello from twinsock")
        server.write(b"hello from openssl\n")
        buf = bytearray(256)
        n = tlsdrive.receive(engine, sock, buf)
        assert bytes(buf[:n]) == b"hello from openssl\n"
        assert engine.pending() == 0
        assert engine.record_overhead() in (22, 29, 37, 45, 65, 77)
        if security == "psk":
            assert "PSK" in engine.cipher()
    finally:
        engine.close()
        sock.close()


def test_client_certificate_accepted_by_s_server(s_server, pki):
    server, port = s_server(extra=["-Verify", "1", "-CAfile", pki.path("ca")])
    info = CertInfo(
        trusted_certs=(pki.pem("ca"),),
        client_cert=pki.der("client"),
        client_key=pki.key_der("client"),
    )
    engine, sock = open_engine(port, SSLConfig(info))
    tlsdrive.send_all(engine, sock, b"with client cert\n")
    server.expect("with client cert")
    engine.close()
    sock.close()


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
@pytest.mark.parametrize("security", ["cert", "psk"])
def test_server_against_s_client(engine_server, s_client, pki, dtls, security):
    if security == "psk":
        config = psk_config()
    else:
        config = SSLConfig(
            CertInfo(client_cert=pki.pem("server"), client_key=pki.key_pem("server"))
        )
    server = engine_server(config, dtls=dtls)
    extra = [] if security == "psk" else ["-CAfile", pki.path("ca"), "-verify_return_error"]
    client = s_client(server.port, dtls=dtls, psk=security == "psk", extra=extra)
    client.expect("CONNECTED")
    client.write(b"ping from s_client\n")
    client.expect("ping from s_client")  # the echo, printed by s_client
    client.proc.stdin.close()
    result = server.join()
    assert "error" not in result, result
    assert result["received"] == b"ping from s_client\n"


# ---- negative cases: each a TLSError with an actionable message, no hang ----


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
def test_wrong_ca(s_server, pki, dtls):
    _, port = s_server(dtls=dtls)
    err = handshake_error(port, cert_config(pki, ca="other_ca"), dtls)
    assert str(err.args[1]) == "certificate verify failed: unknown CA"
    assert err.errno == errno.EPROTO


def test_expired_certificate(s_server, pki):
    _, port = s_server(cert="expired")
    err = handshake_error(port, cert_config(pki))
    assert err.args[1] == "certificate verify failed: certificate expired"


def test_hostname_mismatch(s_server, pki):
    _, port = s_server()
    err = handshake_error(port, cert_config(pki), hostname="example.org")
    assert err.args[1] == "certificate verify failed: hostname mismatch (wanted example.org)"


def test_ip_address_is_checked_against_the_ip_san(s_server, pki):
    _, port = s_server()
    engine, sock = open_engine(port, cert_config(pki), hostname="127.0.0.1")
    engine.close()
    sock.close()
    err = handshake_error(port, cert_config(pki), hostname="127.0.0.2")
    assert "hostname mismatch (wanted 127.0.0.2)" in err.args[1]


def test_validation_off_only_when_asked(s_server, pki):
    _, port = s_server()
    config = SSLConfig(CertInfo(server_cert_validation=False))
    engine, sock = open_engine(port, config, hostname="example.org")
    engine.close()
    sock.close()
    with pytest.raises(TLSError, match="trusted_certs is empty"):
        Engine(connect(port, False), SSLConfig(CertInfo()), server_hostname="localhost")


def test_revoked_certificate_with_crl(s_server, pki):
    from cryptography.hazmat.primitives import serialization

    _, port = s_server(cert="revoked")
    crl = pki.crl.public_bytes(serialization.Encoding.PEM)
    config = SSLConfig(CertInfo(trusted_certs=(pki.pem("ca"),), crls=(crl,)))
    err = handshake_error(port, config)
    assert err.args[1] == "certificate verify failed: certificate revoked"
    # the good server certificate passes the same CRL
    _, port = s_server()
    engine, sock = open_engine(port, config)
    engine.close()
    sock.close()


def test_wrong_psk(s_server):
    _, port = s_server(psk=True)
    err = handshake_error(port, psk_config(key="ff" * 16))
    assert err.args[1].startswith("PSK identity rejected"), err.args[1]
    assert err.alert in (20, 40, 51, 115)


def test_wrong_psk_dtls_times_out_with_a_hint(s_server):
    # DTLS drops a record it cannot decrypt instead of answering with an
    # alert: our Finished goes unanswered until the handshake times out.
    _, port = s_server(dtls=True, psk=True)
    config = psk_config(key="ff" * 16, dtls_handshake_timeouts=(100, 400))
    err = handshake_error(port, config, dtls=True)
    assert err.errno == errno.ETIMEDOUT
    assert "PSK identity rejected?" in err.args[1], err.args[1]


def test_wrong_psk_identity_against_our_server(engine_server):
    server = engine_server(psk_config(), limit_s=5)
    sock = connect(server.port, False)
    engine = Engine(sock, psk_config(identity="intruder"), handshake_timeouts=None)
    with pytest.raises(TLSError) as info:
        tlsdrive.handshake(engine, sock, 5000)
    sock.close()
    assert info.value.args[1].startswith("PSK identity rejected"), info.value.args[1]
    assert "error" in server.join()


def test_plain_text_peer():
    peer = PlainServer()
    try:
        err = handshake_error(peer.port, psk_config())
        assert err.args[1] == "peer is not speaking TLS"
    finally:
        peer.stop()


def test_peer_closing_mid_handshake():
    peer = PlainServer(close=True)
    try:
        err = handshake_error(peer.port, psk_config())
        assert err.args[1] == "peer closed the connection during the handshake"
    finally:
        peer.stop()


def test_version_too_low(s_server, pki):
    from twinsock.const import TLSv1_3

    _, port = s_server(extra=["-tls1_2"])
    err = handshake_error(port, cert_config(pki, version=TLSv1_3))
    assert err.args[1].startswith("TLS version too low"), err.args[1]


def test_tls13_minimum_works_with_a_tls13_peer(s_server, pki):
    from twinsock.const import TLSv1_3

    _, port = s_server()
    engine, sock = open_engine(port, cert_config(pki, version=TLSv1_3))
    assert engine.version() == "TLSv1.3"
    engine.close()
    sock.close()


def test_dtls13_minimum_is_enotsup(pki):
    from twinsock.const import TLSv1_3

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(NetError) as info:
            Engine(sock, cert_config(pki, version=TLSv1_3), dtls=True, server_hostname="localhost")
    assert info.value.errno in (errno.ENOTSUP, errno.EOPNOTSUPP)


def test_ciphersuites_by_iana_id(s_server):
    server, port = s_server(dtls=True, psk=True, extra=["-cipher", "PSK:@SECLEVEL=0"])
    # 0xC0A8 = TLS_PSK_WITH_AES_128_CCM_8; 0xFFFF is unknown and ignored
    config = psk_config(ciphersuites=[0xFFFF, 0xC0A8])
    engine, sock = open_engine(port, config, dtls=True)
    assert engine.cipher() == "PSK-AES128-CCM8"
    assert engine.record_overhead() == 13 + 8 + 8
    engine.close()
    sock.close()


# ---- session resumption --------------------------------------------------------


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
def test_session_resumption(s_server, pki, dtls):
    extra = [] if dtls else ["-tls1_2"]
    _, port = s_server(dtls=dtls, extra=extra)
    engine, sock = open_engine(port, cert_config(pki), dtls)
    assert not engine.session_resumed()
    blob = engine.session()
    assert blob
    engine.close()
    sock.close()
    engine, sock = open_engine(port, cert_config(pki), dtls, session=blob)
    assert engine.session_resumed()
    engine.close()
    sock.close()
    # a damaged blob means a full handshake, not an error
    engine, sock = open_engine(port, cert_config(pki), dtls, session=b"\x30garbage")
    assert not engine.session_resumed()
    engine.close()
    sock.close()


def test_tls13_session_is_resumable_once_the_ticket_arrived(s_server, pki):
    # TLS 1.3 sends the ticket after the handshake: a session taken right
    # after it does not resume; one taken after a receive (or at close) does.
    server, port = s_server()
    engine, sock = open_engine(port, cert_config(pki))
    server.write(b"x\n")
    tlsdrive.receive(engine, sock, bytearray(10))
    blob = engine.session()
    engine.close()
    sock.close()
    engine, sock = open_engine(port, cert_config(pki), session=blob)
    assert engine.version() == "TLSv1.3"
    assert engine.session_resumed()
    engine.close()
    sock.close()


# ---- DTLS records, truncation, retransmission ----------------------------------


def test_dtls_record_larger_than_buffer_is_truncated(s_server):
    server, port = s_server(dtls=True, psk=True)
    engine, sock = open_engine(port, psk_config(), dtls=True)
    try:
        server.write(b"0123456789" * 10 + b"\n")
        buf = bytearray(10)
        with pytest.raises(MessageTruncated) as info:
            tlsdrive.receive(engine, sock, buf)
        assert info.value.nbytes == 10
        assert bytes(buf) == b"0123456789"
        assert engine.pending() == 0  # the rest of the record is gone
        server.write(b"next\n")
        n = tlsdrive.receive(engine, sock, bytearray(64))
        assert n == 5
    finally:
        engine.close()
        sock.close()


def test_dtls_handshake_survives_lost_flights(s_server, udp_relay):
    _, port = s_server(dtls=True, psk=True)
    relay = udp_relay(port, drop_to_server=3)
    config = psk_config(dtls_handshake_timeouts=(200, 1600))
    start = time.monotonic()
    engine, sock = open_engine(relay.port, config, dtls=True, timeout_ms=8000)
    elapsed = time.monotonic() - start
    engine.close()
    sock.close()
    # ClientHello at 0, then resent after 200, 400 and 800 ms: the 4th passes
    first_gaps = relay.intervals_ms()[:3]
    print("retransmission gaps (ms):", first_gaps, "handshake %.0f ms" % (elapsed * 1000))
    for measured, wanted in zip(first_gaps, (200, 400, 800)):
        assert wanted - 5 <= measured <= wanted + 80, (first_gaps, relay.from_client)
    assert 1.3 < elapsed < 3.0


def test_dtls_handshake_gives_up_after_max(s_server, udp_relay):
    _, port = s_server(dtls=True, psk=True)
    relay = udp_relay(port, drop_all=True)
    config = psk_config(dtls_handshake_timeouts=(100, 400))
    sock = connect(relay.port, True)
    engine = Engine(sock, config, dtls=True, handshake_timeouts=config.dtls_handshake_timeouts)
    start = time.monotonic()
    with pytest.raises(TLSError) as info:
        tlsdrive.handshake(engine, sock, 10000)
    elapsed = time.monotonic() - start
    sock.close()
    assert info.value.errno == errno.ETIMEDOUT
    assert "timed out" in info.value.args[1]
    gaps = relay.intervals_ms()
    print("gaps (ms):", gaps, "gave up after %.0f ms" % (elapsed * 1000))
    # sent at 0, 100 and 300 ms; the third wait is max (400 ms): at 700 ms
    # the handshake fails (mbedTLS's rule: no wait longer than max)
    assert len(relay.from_client) == 3
    for measured, wanted in zip(gaps, (100, 200)):
        assert wanted - 5 <= measured <= wanted + 80, gaps
    assert 0.68 < elapsed < 1.0


def test_dtls_handshake_survives_a_lost_final_flight(s_server, udp_relay):
    # The server's CCS+Finished is lost: only OpenSSL's own resend of our
    # Finished flight (fresh record numbers, after its 1 s timer) gets past the
    # server's replay check, so the engine lets that resend through.
    _, port = s_server(dtls=True, psk=True)
    relay = udp_relay(port, drop_server_ccs=1)
    config = psk_config(dtls_handshake_timeouts=(200, 3200))
    start = time.monotonic()
    engine, sock = open_engine(relay.port, config, dtls=True, timeout_ms=8000)
    elapsed = time.monotonic() - start
    engine.close()
    sock.close()
    print("lost final flight: handshake %.0f ms" % (elapsed * 1000))
    assert relay.dropped_from_server == 1
    assert elapsed < 1.5  # OpenSSL resends at its 1 s timer; we wake for it


def test_peer_close_reads_as_zero(s_server):
    server, port = s_server(psk=True)
    engine, sock = open_engine(port, psk_config(), False)
    try:
        server.proc.stdin.close()  # s_server: EOF on stdin -> close_notify
        assert tlsdrive.receive(engine, sock, bytearray(16)) == 0
    finally:
        engine.close()
        sock.close()


def test_dtls_close_notify_reads_as_zero(engine_server):
    # (s_server sends no close_notify over DTLS; our own server does)
    server = engine_server(psk_config(), dtls=True, close_at_once=True)
    engine, sock = open_engine(server.port, psk_config(), True)
    try:
        tlsdrive.send_all(engine, sock, b"bye")
        buf = bytearray(16)
        assert tlsdrive.receive(engine, sock, buf) == 3
        assert tlsdrive.receive(engine, sock, buf) == 0
    finally:
        engine.close()
        sock.close()
    assert "error" not in server.join()
