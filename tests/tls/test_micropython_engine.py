"""The MicroPython engine (`tls` module, mbedTLS) on the real MicroPython
interpreter, against openssl s_server/s_client and the CPython engine."""

import errno

import pytest
from tlsdrive import CertInfo, PskInfo, SSLConfig
from tlspeers import PSK_IDENTITY, PSK_KEY, PlainServer

PSK = [PSK_IDENTITY, PSK_KEY]
EPROTO = 71  # Linux value: MicroPython's errno lacks EPROTO
ETIMEDOUT = 110


def test_features_are_real(micropython):
    process = micropython.start({"features": True})
    process.wait(10)
    import json

    features = json.loads(process.lines[-1])
    assert features == {
        "tls": True,
        "dtls": True,
        "psk": True,
        "session_resumption": False,
        "connection_id": False,
        "dane": False,
    }


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
@pytest.mark.parametrize("security", ["cert_pem", "cert_der", "psk"])
def test_client_against_s_server(micropython, s_server, pki, dtls, security):
    server, port = s_server(dtls=dtls, psk=security == "psk")
    job = {"port": port, "dtls": dtls, "send": "hello from micropython\n", "receive": True}
    if security == "psk":
        job["psk"] = PSK
    else:
        job["ca"] = [pki.path("ca", ".pem")]
        job["hostname"] = "localhost"
        if security == "cert_der":
            (pki.dir / "ca.der").write_bytes(pki.der("ca"))
            job["ca"] = [str(pki.dir / "ca.der")]
    process = micropython.start(job)
    try:
        server.expect("hello from micropython")
    except AssertionError as e:
        raise AssertionError("%s\nmicropython said:\n%s" % (e, process.output()))
    server.write(b"hello from openssl\n")
    result = micropython.result(process)
    assert result.get("ok"), result
    assert result["received"] == "hello from openssl\n"
    print("micropython handshake: %d ms, %s" % (result["handshake_ms"], result["cipher"]))
    if security == "psk":
        assert "PSK" in result["cipher"]


def test_client_certificate_accepted_by_s_server(micropython, s_server, pki):
    server, port = s_server(extra=["-Verify", "1", "-CAfile", pki.path("ca")])
    job = {
        "port": port,
        "ca": [pki.path("ca")],
        "cert": pki.path("client"),
        "key": pki.path("client", ".key"),
        "hostname": "localhost",
        "send": "with client cert\n",
    }
    result = micropython.run(job)
    assert result.get("ok"), result
    server.expect("with client cert")


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
def test_server_against_s_client(micropython, s_client, pki, dtls):
    import socket

    from tlspeers import free_port

    port = free_port(socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM)
    job = {
        "role": "server",
        "port": port,
        "dtls": dtls,
        "psk": PSK,
        "receive": True,
        "echo": True,
    }
    server = micropython.start(job)
    server.expect("listening")
    client = s_client(port, dtls=dtls, psk=True)
    client.expect("CONNECTED")
    client.write(b"ping from s_client\n")
    client.expect("ping from s_client")
    result = micropython.result(server)
    assert result.get("ok"), result
    assert result["received"] == "ping from s_client\n"


# ---- across runtimes ----------------------------------------------------------


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
@pytest.mark.parametrize("security", ["cert", "psk"])
def test_micropython_client_to_cpython_server(micropython, engine_server, pki, dtls, security):
    if security == "psk":
        config = SSLConfig(PskInfo(PSK_IDENTITY.encode(), bytes.fromhex(PSK_KEY)))
        job = {"psk": PSK}
    else:
        config = SSLConfig(
            CertInfo(client_cert=pki.pem("server"), client_key=pki.key_pem("server"))
        )
        job = {"ca": [pki.path("ca")], "hostname": "localhost"}
    server = engine_server(config, dtls=dtls)
    job.update({"port": server.port, "dtls": dtls, "send": "across\n", "receive": True})
    result = micropython.run(job)
    assert result.get("ok"), result
    assert result["received"] == "across\n"
    served = server.join()
    assert "error" not in served, served


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
@pytest.mark.parametrize("security", ["cert", "psk"])
def test_cpython_client_to_micropython_server(micropython, pki, dtls, security):
    import socket

    import tlsdrive
    from tlspeers import free_port
    from twinsock_port.tls_cpython import Engine

    port = free_port(socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM)
    job = {"role": "server", "port": port, "dtls": dtls, "receive": True, "echo": True}
    if security == "psk":
        job["psk"] = PSK
        config = SSLConfig(PskInfo(PSK_IDENTITY.encode(), bytes.fromhex(PSK_KEY)))
    else:
        job["cert"] = pki.path("server")
        job["key"] = pki.path("server", ".key")
        config = SSLConfig(CertInfo(trusted_certs=(pki.pem("ca"),)))
    server = micropython.start(job)
    server.expect("listening")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM)
    try:
        sock.settimeout(5)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        engine = Engine(sock, config, dtls=dtls, server_hostname="localhost")
        tlsdrive.handshake(engine, sock, 5000)
        tlsdrive.send_all(engine, sock, b"to micropython\n")
        buf = bytearray(64)
        n = tlsdrive.receive(engine, sock, buf)
        assert bytes(buf[:n]) == b"to micropython\n"
        engine.close()
    finally:
        sock.close()
    result = micropython.result(server)
    assert result.get("ok"), result


# ---- negative cases ------------------------------------------------------------


def failed(result):
    assert not result.get("ok"), result
    assert result["error"] == "TLSError", result
    assert result["elapsed_ms"] < 5000, result
    return result["message"]


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
def test_wrong_ca(micropython, s_server, pki, dtls):
    _, port = s_server(dtls=dtls)
    job = {"port": port, "dtls": dtls, "ca": [pki.path("other_ca")], "hostname": "localhost"}
    result = micropython.run(job)
    assert failed(result) == "certificate verify failed: unknown CA"
    assert result["errno"] == EPROTO


def test_expired_certificate(micropython, s_server, pki):
    _, port = s_server(cert="expired")
    result = micropython.run({"port": port, "ca": [pki.path("ca")], "hostname": "localhost"})
    assert failed(result) == "certificate verify failed: certificate expired"


def test_hostname_mismatch(micropython, s_server, pki):
    _, port = s_server()
    result = micropython.run({"port": port, "ca": [pki.path("ca")], "hostname": "example.org"})
    assert failed(result) == "certificate verify failed: hostname mismatch (wanted example.org)"


def test_wrong_psk_tls(micropython, s_server):
    _, port = s_server(psk=True)
    result = micropython.run({"port": port, "psk": [PSK_IDENTITY, "ff" * 16]})
    assert failed(result).startswith("PSK identity rejected"), result


def test_wrong_psk_dtls_times_out_with_a_hint(micropython, s_server):
    _, port = s_server(dtls=True, psk=True)
    job = {"port": port, "dtls": True, "psk": [PSK_IDENTITY, "ff" * 16], "timeouts": [100, 400]}
    result = micropython.run(job)
    assert "PSK identity rejected?" in failed(result), result
    assert result["errno"] == ETIMEDOUT


def test_plain_text_peer(micropython):
    peer = PlainServer()
    try:
        result = micropython.run({"port": peer.port, "psk": PSK})
        assert failed(result) == "peer is not speaking TLS"
    finally:
        peer.stop()


def test_peer_closing_mid_handshake(micropython):
    peer = PlainServer(close=True)
    try:
        result = micropython.run({"port": peer.port, "psk": PSK})
        assert failed(result) == "peer closed the connection during the handshake"
    finally:
        peer.stop()


def test_version_too_low(micropython, s_server, pki):
    _, port = s_server(extra=["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"])
    result = micropython.run({"port": port, "ca": [pki.path("ca")], "hostname": "localhost"})
    assert failed(result).startswith("TLS version too low"), result


def test_tls13_minimum_is_enotsup(micropython, pki):
    result = micropython.run(
        # UDP: the engine refuses before any packet is sent
        {"port": 9, "dtls": True, "ca": [pki.path("ca")], "hostname": "localhost", "version": 7}
    )
    assert result["errno"] in (errno.ENOTSUP, errno.EOPNOTSUPP), result


# ---- DTLS records and retransmission -------------------------------------------


def test_dtls_record_larger_than_buffer_is_truncated(micropython, engine_server):
    config = SSLConfig(PskInfo(PSK_IDENTITY.encode(), bytes.fromhex(PSK_KEY)))
    server = engine_server(config, dtls=True, reply=b"0123456789" * 10)
    job = {
        "port": server.port,
        "dtls": True,
        "psk": PSK,
        "send": "x",
        "receive": True,
        "recvbuf": 10,
    }
    result = micropython.run(job)
    assert result.get("ok"), result
    assert result["truncated"] == 10
    assert result["received"] == "0123456789"
    assert "error" not in server.join()


def test_dtls_handshake_survives_lost_flights(micropython, s_server, udp_relay):
    _, port = s_server(dtls=True, psk=True)
    relay = udp_relay(port, drop_to_server=3)
    job = {
        "port": relay.port,
        "dtls": True,
        "psk": PSK,
        "timeouts": [200, 1600],
        "send": "after loss\n",
    }
    result = micropython.run(job)
    assert result.get("ok"), result
    gaps = relay.intervals_ms()[:3]
    print("micropython retransmission gaps (ms):", gaps, "handshake", result["handshake_ms"])
    for measured, wanted in zip(gaps, (200, 400, 800)):
        assert wanted - 5 <= measured <= wanted + 80, (gaps, relay.from_client)
    assert 1300 < result["handshake_ms"] < 3000


def test_dtls_handshake_gives_up_after_max(micropython, s_server, udp_relay):
    _, port = s_server(dtls=True, psk=True)
    relay = udp_relay(port, drop_all=True)
    job = {"port": relay.port, "dtls": True, "psk": PSK, "timeouts": [100, 400]}
    result = micropython.run(job)
    assert failed(result).startswith("DTLS handshake timed out"), result
    assert result["errno"] == ETIMEDOUT
    gaps = relay.intervals_ms()
    print("micropython gaps (ms):", gaps, "gave up after", result["elapsed_ms"])
    assert len(relay.from_client) == 3, relay.from_client
    for measured, wanted in zip(gaps, (100, 200)):
        assert wanted - 5 <= measured <= wanted + 80, gaps
    assert 680 < result["elapsed_ms"] < 1000


def test_dtls_handshake_survives_a_lost_final_flight(micropython, s_server, udp_relay):
    _, port = s_server(dtls=True, psk=True)
    relay = udp_relay(port, drop_server_ccs=1)
    job = {"port": relay.port, "dtls": True, "psk": PSK, "timeouts": [200, 3200]}
    result = micropython.run(job)
    assert result.get("ok"), result
    print("micropython lost final flight: handshake", result["handshake_ms"], "ms")
    assert relay.dropped_from_server == 1
    assert result["handshake_ms"] < 1500  # mbedTLS resends at its 1 s timer


def test_error_mapping_of_raw_tls_failures(micropython, processes):
    import json

    from tlspeers import HERE, micropython_binary, mp_env

    process = processes([micropython_binary(), str(HERE / "mp_errors.py")], env=mp_env())
    process.wait(10)
    table = json.loads(process.lines[-1])
    assert table["enomem"][0] == errno.ENOMEM
    assert table["enomem"][1].startswith("TLS needs about 17 KB of contiguous heap; ")
    assert table["enomem"][1].endswith(" KB free")
    assert table["memoryerror"][0] == errno.ENOMEM
    assert table["alloc_failed"][0] == errno.ENOMEM
    assert table["conn_eof"][1] == "peer closed the connection during the handshake"
    assert table["fatal_alert"][1] == "handshake failed: peer sent a fatal alert"
    assert table["fatal_alert_psk"][1].startswith("PSK identity rejected")
    assert table["invalid_record"][1] == "peer is not speaking TLS"
    assert table["closed_socket"][1] == "peer closed the connection during the handshake"
    assert table["timeout"][0] == ETIMEDOUT
    assert table["handshake_failure"][2] == 40
    assert table["unknown"][1] == "handshake failed: mbedTLS error -0x1234"
    assert table["expired"][1] == "certificate verify failed: certificate expired"
    assert table["future"][1] == "certificate verify failed: certificate not yet valid"
    for name, (code, message, _) in table.items():
        assert code in (EPROTO, errno.ENOMEM, ETIMEDOUT), (name, code, message)


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
def test_data_right_behind_the_handshake_is_kept(micropython, engine_server, dtls):
    # The server writes as soon as its handshake is over: its first record
    # can reach mbedTLS inside our last handshake step.
    config = SSLConfig(PskInfo(PSK_IDENTITY.encode(), bytes.fromhex(PSK_KEY)))
    server = engine_server(config, dtls=dtls, greet=b"welcome", reply=b"second")
    job = {
        "port": server.port,
        "dtls": dtls,
        "psk": PSK,
        "send": "x",
        "receive": True,
        "receive2": True,
    }
    result = micropython.run(job)
    assert result.get("ok"), result
    assert result["received"] == "welcome"
    assert result["received2"] == "second"
    assert "error" not in server.join()


def test_bulk_tls_from_micropython(micropython, engine_server):
    # 1 MiB through non-blocking mbedTLS writes (partial writes included)
    config = SSLConfig(PskInfo(PSK_IDENTITY.encode(), bytes.fromhex(PSK_KEY)))
    size = 1 << 20
    server = engine_server(config, bulk=size)
    job = {"port": server.port, "psk": PSK, "bulk": size, "receive": True}
    result = micropython.run(job)
    assert result.get("ok"), result
    assert result["received"] == str(size)
    print("micropython TLS bulk: 1 MiB in %d ms" % result["bulk_ms"])
    assert "error" not in server.join()


def test_peer_close_reads_as_zero(micropython, s_server):
    server, port = s_server(psk=True)
    job = {"port": port, "psk": PSK, "send": "bye\n", "receive": True, "expect_close": True}
    process = micropython.start(job)
    server.expect("bye")
    server.write(b"last words\n")
    server.proc.stdin.close()  # s_server: EOF on stdin -> close_notify
    result = micropython.result(process)
    assert result.get("ok"), result
    assert result["received"] == "last words\n"
    assert result["after_close"] == 0


def test_dtls_close_notify_reads_as_zero(micropython, engine_server):
    config = SSLConfig(PskInfo(PSK_IDENTITY.encode(), bytes.fromhex(PSK_KEY)))
    server = engine_server(config, dtls=True, close_at_once=True)
    job = {"port": server.port, "dtls": True, "psk": PSK, "send": "bye", "receive": True}
    job["expect_close"] = True
    result = micropython.run(job)
    assert result.get("ok"), result
    assert result["received"] == "bye"
    assert result["after_close"] == 0
    assert "error" not in server.join()
