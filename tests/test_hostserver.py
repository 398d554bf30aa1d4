"""The host server (tools/hostserver) as the suites and the HIL harness use it: one
process, a ready line, each service's protocol, the log, the lifetime."""

import json
import socket
import struct
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.hostserver import HostServerProcess, pattern  # noqa: E402

SERVICES = {"udp", "tcp_echo", "tcp_whoami", "tcp_control", "tcp_silent", "tcp_refused"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("hostserver") / "log.jsonl"
    proc = HostServerProcess(["--lifetime", "60", "--log", str(log), "--alias", "127.0.0.5"])
    proc.log_path = log
    yield proc
    proc.stop()


def udp(server, payload, timeout=2.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect(("127.0.0.1", server.port("udp")))
        s.send(payload)
        return s.recv(65536)


def tcp(server, service, host="127.0.0.1"):
    s = socket.create_connection((host, server.port(service)), timeout=5)
    return s


def read_line(s):
    line = b""
    while not line.endswith(b"\n"):
        chunk = s.recv(1)
        assert chunk, "EOF inside a line"
        line += chunk
    return line.decode().strip()


def read_until_eof(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


def test_ready_line_describes_every_service(server):
    desc = server.description
    assert desc["ready"] is True
    ports = desc["hosts"]["127.0.0.1"]
    assert set(ports) == SERVICES
    assert len(set(ports.values())) == len(ports)
    assert all(0 < p < 65536 for p in ports.values())
    assert desc["aliases"] == ["127.0.0.5"]


def test_udp_echo_including_empty_datagrams(server):
    assert udp(server, b"hello") == b"hello"
    assert udp(server, b"") == b""
    assert udp(server, b"SEND not-a-number") == b"SEND not-a-number"


def test_udp_requests(server):
    assert udp(server, b"SEND 300") == pattern(300)
    assert udp(server, b"EMPTY") == b""
    with pytest.raises(socket.timeout):
        udp(server, b"SILENT", timeout=0.3)
    start = time.monotonic()
    assert udp(server, b"DELAY 200 later") == b"later"
    assert time.monotonic() - start >= 0.18


def test_udp_whoami_names_the_sender(server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.bind(("127.0.0.1", 0))
        s.sendto(b"WHOAMI", ("127.0.0.1", server.port("udp")))
        assert s.recv(100).decode() == "127.0.0.1 %d" % s.getsockname()[1]


def test_pattern_is_i_mod_251():
    data = pattern(600)
    assert data[0] == 0 and data[250] == 250 and data[251] == 0 and data[599] == 599 % 251


def test_tcp_echo(server):
    with tcp(server, "tcp_echo") as s:
        payload = pattern(100000)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        assert read_until_eof(s) == payload


def test_tcp_whoami_then_echo(server):
    with tcp(server, "tcp_whoami") as s:
        peer_host, peer_port, local_host, local_port = read_line(s).split()
        assert (peer_host, int(peer_port)) == s.getsockname()
        assert (local_host, int(local_port)) == ("127.0.0.1", server.port("tcp_whoami"))
        s.sendall(b"echo")
        assert s.recv(4) == b"echo"


def test_tcp_whoami_alias_listens_on_the_same_port(server):
    with tcp(server, "tcp_whoami", host="127.0.0.5") as s:
        assert read_line(s).split()[2] == "127.0.0.5"


def test_tcp_control_send_then_clean_close(server):
    with tcp(server, "tcp_control") as s:
        s.sendall(b"SEND 70000\n")
        assert read_until_eof(s) == pattern(70000)


def test_tcp_control_close(server):
    with tcp(server, "tcp_control") as s:
        s.sendall(b"CLOSE\n")
        assert s.recv(10) == b""


def test_tcp_control_reset(server):
    with tcp(server, "tcp_control") as s:
        s.sendall(b"RESET\n")
        with pytest.raises(ConnectionResetError):
            s.recv(10)


def test_tcp_control_connect_back(server):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(5)
        with tcp(server, "tcp_control") as control:
            control.sendall(b"CONNECT 127.0.0.1 %d\n" % listener.getsockname()[1])
            conn, _ = listener.accept()
            with conn:
                assert read_line(control) == "OK"
                conn.settimeout(5)
                conn.sendall(b"ping")
                assert conn.recv(4) == b"ping"


def test_tcp_control_connect_back_refused(server):
    with tcp(server, "tcp_control") as control:
        control.sendall(b"CONNECT 127.0.0.1 %d\n" % server.port("tcp_refused"))
        assert read_line(control).startswith("ERR ")


def test_tcp_silent_accepts_and_says_nothing(server):
    with tcp(server, "tcp_silent") as s:
        s.sendall(b"hello?")
        s.settimeout(0.3)
        with pytest.raises(socket.timeout):
            s.recv(10)


def test_tcp_refused(server):
    with pytest.raises(ConnectionRefusedError):
        tcp(server, "tcp_refused").close()


def test_log_is_json_lines_of_what_was_seen(server):
    # the server writes (line-buffered) the datagram's log line before replying
    assert udp(server, b"logged datagram") == b"logged datagram"
    events = [json.loads(line) for line in server.log_path.read_text().splitlines()]
    assert events[0]["event"] == "ready"
    seen = [e for e in events if e.get("head") == "logged datagram"]
    assert seen and seen[0]["service"] == "udp" and seen[0]["len"] == 15
    assert seen[0]["peer"][0] == "127.0.0.1"


def test_lifetime_ends_the_process(tmp_path):
    start = time.monotonic()
    proc = HostServerProcess(["--lifetime", "1", "--service", "udp"])
    assert set(proc.description["hosts"]["127.0.0.1"]) == {"udp"}
    assert proc.process.wait(10) == 0
    assert time.monotonic() - start < 8
    proc.stop()


def test_sigterm_stops_promptly():
    proc = HostServerProcess(["--lifetime", "60", "--service", "tcp_echo"])
    start = time.monotonic()
    assert proc.stop() == 0
    assert time.monotonic() - start < 3


def test_ipv6_bind():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with HostServerProcess(["--bind", "::1", "--lifetime", "20", "--service", "udp"]) as proc:
        port = proc.port("udp", host="::1")
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(b"six", ("::1", port))
            assert s.recv(10) == b"six"


# ---- TLS and DTLS services (tools/hostserver/secure.py) -------------------------

PSK_KEY = "00112233445566778899aabbccddeeff"


@pytest.fixture(scope="module")
def secure(tmp_path_factory):
    pki = tmp_path_factory.mktemp("pki")
    log = pki / "log.jsonl"
    proc = HostServerProcess(
        ["--secure", "--pki", str(pki), "--psk-key", PSK_KEY, "--lifetime", "60", "--log", str(log)]
    )
    proc.log_path = log
    yield proc
    proc.stop()


def tls_client(secure, service, server_name="localhost"):
    import ssl

    context = ssl.create_default_context(cafile=secure.description["pki"] + "/ca.pem")
    raw = socket.create_connection(("127.0.0.1", secure.port(service)), timeout=5)
    return context.wrap_socket(raw, server_hostname=server_name)


def openssl_client(secure, service, dtls, psk):
    """A pyOpenSSL client over a connected socket (blocking, with a timeout)."""
    from OpenSSL import SSL
    from OpenSSL._util import ffi, lib

    ctx = SSL.Context(SSL.DTLS_CLIENT_METHOD if dtls else SSL.TLS_CLIENT_METHOD)
    keep = []
    if psk:
        identity, key = psk

        def client_callback(ssl_pointer, hint, identity_out, max_identity, psk_out, max_psk):
            ffi.memmove(identity_out, identity + b"\0", len(identity) + 1)
            ffi.memmove(psk_out, key, len(key))
            return len(key)

        callback = ffi.callback(
            "unsigned int(SSL *, char *, char *, unsigned int, unsigned char *, unsigned int)",
            client_callback,
        )
        keep.append(callback)
        lib.SSL_CTX_set_psk_client_callback(ctx._context, callback)
        ctx.set_cipher_list(b"PSK")
        ctx.set_max_proto_version(0xFEFD if dtls else 0x0303)
    else:
        ctx.load_verify_locations(secure.description["pki"] + "/ca.pem")
        ctx.set_verify(SSL.VERIFY_PEER, lambda *args: args[-1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM)
    # blocking for pyOpenSSL (a Python timeout makes the descriptor non-blocking), but
    # never for longer than 5 s: the kernel's receive timeout ends a hung read
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 5, 0))
    sock.connect(("127.0.0.1", secure.port(service)))
    conn = SSL.Connection(ctx, sock)
    conn.set_connect_state()
    conn.do_handshake()
    conn.keep = keep
    conn.raw = sock
    return conn


def test_secure_services_are_opt_in_and_described(server, secure):
    assert "tls_echo" not in server.description["hosts"]["127.0.0.1"]
    assert "pki" not in server.description
    ports = secure.description["hosts"]["127.0.0.1"]
    assert set(ports) == SERVICES | {
        "tls_echo",
        "tls_psk_echo",
        "tls_client_auth_echo",
        "tls_expired",
        "tls_untrusted",
        "tls_drip",
        "tls_drip_data",
        "dtls_echo",
        "dtls_psk_echo",
    }
    assert secure.description["psk"] == {"identity": "twinsock-hil", "key": PSK_KEY}
    pki = Path(secure.description["pki"])
    for name in ("ca", "server", "expired", "untrusted", "client"):
        assert (pki / (name + ".pem")).exists() and (pki / (name + ".der")).exists()
    assert (pki / "client_key.der").exists()


def test_tls_echo_by_name_and_by_address(secure):
    for name in ("localhost", "127.0.0.1"):
        with tls_client(secure, "tls_echo", name) as tls:
            tls.sendall(b"over tls " * 1000)
            got = b""
            while len(got) < 9000:
                got += tls.recv(65536)
            assert got == b"over tls " * 1000


def test_bad_certificate_services_fail_verification(secure):
    import ssl

    with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
        tls_client(secure, "tls_expired")
    with pytest.raises(ssl.SSLCertVerificationError, match="local issuer"):
        tls_client(secure, "tls_untrusted")


def test_client_auth_echo_requires_a_client_certificate(secure):
    import ssl

    pki = secure.description["pki"]
    context = ssl.create_default_context(cafile=pki + "/ca.pem")
    context.load_cert_chain(pki + "/client.pem", pki + "/client_key.pem")
    raw = socket.create_connection(("127.0.0.1", secure.port("tls_client_auth_echo")), timeout=5)
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"mutual")
        assert tls.recv(10) == b"mutual"
    with tls_client(secure, "tls_client_auth_echo") as tls:  # no certificate
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            tls.sendall(b"x")
            tls.recv(10)  # TLS 1.3: the server's refusal arrives after the handshake


def test_tls_psk_echo(secure):
    conn = openssl_client(secure, "tls_psk_echo", False, (b"twinsock-hil", bytes.fromhex(PSK_KEY)))
    assert conn.get_protocol_version_name() == "TLSv1.2"
    conn.sendall(b"psk")
    assert conn.recv(10) == b"psk"
    conn.shutdown()
    conn.raw.close()


def test_tls_psk_rejects_a_wrong_key(secure):
    from OpenSSL import SSL

    with pytest.raises(SSL.Error):
        openssl_client(secure, "tls_psk_echo", False, (b"twinsock-hil", b"wrong key"))


@pytest.mark.parametrize("service", ["dtls_echo", "dtls_psk_echo"])
def test_dtls_echo_record_by_record(secure, service):
    psk = (b"twinsock-hil", bytes.fromhex(PSK_KEY)) if "psk" in service else None
    conn = openssl_client(secure, service, True, psk)
    for payload in (b"one record", b"x" * 1200, b"last"):
        conn.send(payload)
        assert conn.recv(4096) == payload
    conn.shutdown()
    conn.raw.close()
    # the next client from a new port gets a new session
    conn = openssl_client(secure, service, True, psk)
    conn.send(b"again")
    assert conn.recv(100) == b"again"
    conn.raw.close()


def test_dtls_flights_are_split_at_record_boundaries():
    from tools.hostserver.secure import split_records

    record = bytes([23, 0xFE, 0xFD]) + bytes(8) + (600).to_bytes(2, "big") + bytes(600)
    datagrams = split_records(record * 5, mtu=1400)
    assert [len(d) for d in datagrams] == [1226, 1226, 613]


def test_secure_services_log_handshakes(secure):
    with tls_client(secure, "tls_echo") as tls:
        tls.sendall(b"x")
        tls.recv(1)
    events = [json.loads(line) for line in secure.log_path.read_text().splitlines()]
    assert any(e["service"] == "tls_echo" and e["event"] == "handshake" for e in events)


@pytest.mark.parametrize("service", ["dtls_echo", "dtls_psk_echo"])
def test_dtls_services_answer_a_client_hello_with_a_cookie(secure, service):
    from OpenSSL import SSL

    client = SSL.Connection(SSL.Context(SSL.DTLS_CLIENT_METHOD), None)
    client.set_connect_state()
    with pytest.raises(SSL.WantReadError):
        client.do_handshake()
    hello = client.bio_read(65536)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.connect(("127.0.0.1", secure.port(service)))
        sock.send(hello)
        answer = sock.recv(65536)
    assert answer[0] == 22 and answer[13] == 3, "not a HelloVerifyRequest: %r" % answer[:16]
