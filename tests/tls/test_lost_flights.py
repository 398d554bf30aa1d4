"""DTLS handshakes that lose datagrams, on both engines (CPython: pyOpenSSL;
MicroPython: the `tls` module), against servers nobody here wrote: openssl
s_server -dtls (stateful HelloVerify cookies), s_server -dtls -listen
(stateless cookies) and MicroPython's own DTLS server (mbedTLS, cookies on).

A relay in front of the server drops one handshake datagram (each one in
turn, each way), or 30% of them at random. A resend must be the same message
in a record whose number was never used in its epoch: servers drop replays."""

import socket

import pytest
import tlsdrive
from tlsdrive import CertInfo, PskInfo, SSLConfig
from tlspeers import (
    PSK_IDENTITY,
    PSK_KEY,
    RandomLoss,
    epoch0_record_numbers,
    free_port,
)

TIMEOUTS = (300, 2400)
HANDSHAKE_LIMIT_MS = 15000
SERVERS = ["s_server", "s_server_listen", "micropython"]


def cpython_client(port, security, pki, message, timeouts=TIMEOUTS):
    from twinsock_port.tls_cpython import Engine

    if security == "psk":
        config = SSLConfig(
            PskInfo(PSK_IDENTITY.encode(), bytes.fromhex(PSK_KEY)),
            dtls_handshake_timeouts=timeouts,
        )
    else:
        config = SSLConfig(
            CertInfo(trusted_certs=(pki.pem("ca"),)), dtls_handshake_timeouts=timeouts
        )
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    result = {}
    try:
        engine = Engine(
            sock,
            config,
            dtls=True,
            server_hostname="localhost",
            handshake_timeouts=timeouts,
        )
        result["handshake_ms"] = tlsdrive.handshake(engine, sock, HANDSHAKE_LIMIT_MS)
        tlsdrive.send_all(engine, sock, message)
        engine.close()
        result["ok"] = True
    except Exception as e:
        result["error"] = repr(e)
    finally:
        sock.close()
    return result


def micropython_client(micropython, port, security, pki, message, timeouts=TIMEOUTS):
    job = {
        "port": port,
        "dtls": True,
        "timeouts": list(timeouts),
        "timeout_ms": HANDSHAKE_LIMIT_MS,
        "send": message.decode(),
    }
    if security == "psk":
        job["psk"] = [PSK_IDENTITY, PSK_KEY]
    else:
        job["ca"] = [pki.path("ca")]
        job["hostname"] = "localhost"
    return micropython.run(job, timeout=HANDSHAKE_LIMIT_MS / 1000 + 5)


class Server:
    """One DTLS server of `kind`; check(message) tells whether it received it."""

    def __init__(self, kind, security, s_server, micropython, pki):
        self.kind = kind
        self.micropython = micropython
        if kind == "micropython":
            self.port = free_port(socket.SOCK_DGRAM)
            job = {
                "role": "server",
                "port": self.port,
                "dtls": True,
                "receive": True,
                "timeouts": list(TIMEOUTS),
                "timeout_ms": HANDSHAKE_LIMIT_MS,
            }
            if security == "psk":
                job["psk"] = [PSK_IDENTITY, PSK_KEY]
            else:
                job["cert"] = pki.path("server")
                job["key"] = pki.path("server", ".key")
                job["validate"] = False
            self.process = micropython.start(job, limit_s=HANDSHAKE_LIMIT_MS / 1000 + 10)
            self.process.expect('"listening"', timeout=10)
        else:
            extra = ["-listen"] if kind == "s_server_listen" else []
            self.process, self.port = s_server(dtls=True, psk=security == "psk", extra=extra)

    def received(self, message):
        if self.kind == "micropython":
            result = self.micropython.result(self.process, HANDSHAKE_LIMIT_MS / 1000 + 5)
            return result.get("received") == message.decode() or result
        try:
            self.process.expect(message.decode().strip(), timeout=5)
            return True
        except AssertionError as e:
            return str(e)

    def stop(self):
        self.process.stop()


def one_handshake(runtime, kind, security, drop, fixtures, message, hold=None):
    s_server, micropython, pki, udp_relay = fixtures
    server = Server(kind, security, s_server, micropython, pki)
    try:
        relay = udp_relay(server.port, drop=drop, hold=hold, limit_s=HANDSHAKE_LIMIT_MS / 1000 + 10)
        if runtime == "cpython":
            result = cpython_client(relay.port, security, pki, message)
        else:
            result = micropython_client(micropython, relay.port, security, pki, message)
        if result.get("ok"):
            got = server.received(message)
            if got is not True:
                result = dict(result, ok=False, server=got)
        numbers = epoch0_record_numbers(relay.sent_up)
        result["renumbered"] = numbers == sorted(set(numbers))
        result["counts"] = dict(relay.handshake_datagrams)
        result["dropped"] = list(relay.dropped)
        result["held"] = list(relay.held)
        relay.close()
        return result
    finally:
        server.stop()


@pytest.fixture
def fixtures(s_server, micropython, pki, udp_relay):
    return s_server, micropython, pki, udp_relay


@pytest.mark.parametrize("security", ["cert", "psk"])
@pytest.mark.parametrize("kind", SERVERS)
@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_any_single_lost_datagram(runtime, kind, security, fixtures):
    clean = one_handshake(runtime, kind, security, None, fixtures, b"no loss\n")
    assert clean.get("ok"), clean
    counts = clean["counts"]
    failures = []
    lines = []
    for direction in ("up", "down"):
        for index in range(counts[direction]):

            def drop(way, i, data, direction=direction, index=index):
                return way == direction and i == index

            message = ("lost %s %d\n" % (direction, index)).encode()
            result = one_handshake(runtime, kind, security, drop, fixtures, message)
            lines.append(
                "%s #%d: %s in %s ms"
                % (
                    direction,
                    index,
                    "ok" if result.get("ok") else "FAILED",
                    result.get("handshake_ms"),
                )
            )
            if not result.get("ok") or result["dropped"] != [(direction, index)]:
                failures.append((direction, index, result))
            elif not result["renumbered"]:
                failures.append((direction, index, "an epoch-0 record number was reused"))
    print("\n%s client, %s %s, handshake datagrams %s:" % (runtime, kind, security, counts))
    print("\n".join(lines))
    assert not failures, failures


@pytest.mark.parametrize("security", ["cert", "psk"])
@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_micropython_server_gets_resent_hello_and_finished_at_once(runtime, security, fixtures):
    # The server's ServerHello flight (down #1) is lost. The client resends its
    # ClientHello (up #2); the server resends its flight on its own timer and the
    # client answers with its Finished flight (up #3). When up #2 and up #3 wait
    # in the server's socket together, the server must both resend (dropped as a
    # duplicate of its ServerHello flight) and answer the Finished with its own.
    # The relay holds up #2 back until up #3 comes, so they always do.
    result = one_handshake(
        runtime,
        "micropython",
        security,
        lambda way, i, data: (way, i) == ("down", 1),
        fixtures,
        b"hello and finished at once\n",
        hold=lambda way, i, data: (way, i) == ("up", 2),
    )
    assert result["dropped"] == [("down", 1)], result
    assert result["held"] == [("up", 2)], result
    assert result.get("ok"), result
    assert result["renumbered"], result


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_thirty_percent_loss(runtime, fixtures):
    ok = 0
    outcomes = []
    for seed in range(16):
        security = "psk" if seed % 2 else "cert"
        message = ("lossy %d\n" % seed).encode()
        result = one_handshake(
            runtime, "s_server", security, RandomLoss(0.3, seed), fixtures, message
        )
        ok += bool(result.get("ok"))
        outcomes.append(
            (seed, security, result.get("handshake_ms"), result["dropped"], result.get("error"))
        )
    print("\n%s: %d of 16 handshakes with 30%% loss" % (runtime, ok))
    for outcome in outcomes:
        print(outcome)
    assert ok >= 15, outcomes


@pytest.mark.parametrize("security", ["cert", "psk"])
@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_server_final_flight_lost_three_times(
    runtime, security, s_server, micropython, pki, udp_relay
):
    # The server's ChangeCipherSpec + Finished is lost three times; its
    # NewSessionTicket, in a datagram of its own, gets through each time. Only
    # the library can resend our Finished flight (1, 3 and 7 s after it, with
    # the default (1000, 60000)); a datagram from the peer in between must not
    # make that resend look like a new flight and lose the library's timer.
    server, port = s_server(dtls=True, psk=security == "psk")
    relay = udp_relay(port, drop_server_ccs=3, limit_s=30)
    message = b"after three lost final flights\n"
    if runtime == "cpython":
        result = cpython_client(relay.port, security, pki, message, (1000, 60000))
    else:
        result = micropython_client(micropython, relay.port, security, pki, message, (1000, 60000))
    assert relay.dropped_from_server == 3, relay.dropped_from_server
    assert result.get("ok"), result
    assert 6500 <= result["handshake_ms"] <= 8500, result
    server.expect(message.decode().strip(), timeout=5)
