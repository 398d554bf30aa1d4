"""Fixtures and helpers for the TLS engine tests (registered by conftest.py):
a PKI made per test session with `cryptography`, openssl s_server/s_client
peers, a lossy UDP relay, the CPython engine as a server, and a runner for
the MicroPython peer script (tests/tls/mp_peer.py).

Every peer has a time limit and is stopped by the fixture that started it."""

import datetime
import ipaddress
import json
import os
import random
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(HERE), str(ROOT / "lib"), str(ROOT / "port")]

OPENSSL = shutil.which("openssl")
PSK_IDENTITY = "twinsock-client"
PSK_KEY = "00112233445566778899aabbccddeeff"


def micropython_binary():
    found = ROOT / ".venv" / "bin" / "micropython"
    return str(found) if found.exists() else shutil.which("micropython")


# ---- PKI ---------------------------------------------------------------------


class Pki:
    """Certificates and keys as bytes (PEM and DER) and as files for openssl."""

    def __init__(self, directory):
        self.dir = Path(directory)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca_key, self.ca = self._ca("twinsock test CA", now)
        self.other_ca_key, self.other_ca = self._ca("some other CA", now)
        self.server_key, self.server = self._leaf(
            "localhost", now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
        )
        self.expired_key, self.expired = self._leaf(
            "localhost", now - datetime.timedelta(days=60), now - datetime.timedelta(days=30)
        )
        self.client_key, self.client = self._leaf(
            "twinsock client", now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
        )
        self.revoked_key, self.revoked = self._leaf(
            "localhost", now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
        )
        self.crl = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca.subject)
            .last_update(now - datetime.timedelta(days=1))
            .next_update(now + datetime.timedelta(days=30))
            .add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(self.revoked.serial_number)
                .revocation_date(now - datetime.timedelta(hours=1))
                .build()
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.empty_crl = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca.subject)
            .last_update(now - datetime.timedelta(days=1))
            .next_update(now + datetime.timedelta(days=30))
            .sign(self.ca_key, hashes.SHA256())
        )
        for name in ("ca", "other_ca", "server", "expired", "client", "revoked"):
            (self.dir / (name + ".pem")).write_bytes(self.pem(name))
        for name in ("server", "expired", "client", "revoked"):
            (self.dir / (name + ".key")).write_bytes(self.key_pem(name))

    def _ca(self, cn, now):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=90))
            .not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return key, cert

    def _leaf(self, cn, not_before, not_after):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(self.ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
        )
        if cn == "localhost":
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        return key, builder.sign(self.ca_key, hashes.SHA256())

    def pem(self, name):
        return getattr(self, name).public_bytes(serialization.Encoding.PEM)

    def der(self, name):
        return getattr(self, name).public_bytes(serialization.Encoding.DER)

    def key_pem(self, name):
        return getattr(self, name + "_key").private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def key_der(self, name):
        return getattr(self, name + "_key").private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def path(self, name, suffix=".pem"):
        return str(self.dir / (name + suffix))


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


# ---- ports, peers ------------------------------------------------------------


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process with line-wise stdout and time-limited waits."""

    def __init__(self, argv, env=None, limit_s=20):
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.deadline = time.monotonic() + limit_s
        self.lines = []
        self._buffer = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)
        os.set_blocking(self.proc.stdout.fileno(), False)

    def _pump(self, timeout):
        if not self._selector.select(timeout):
            return False
        chunk = self.proc.stdout.read()
        if not chunk:
            return None
        self._buffer += chunk
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            self.lines.append(line.decode(errors="replace"))
        return True

    def expect(self, text, timeout=5.0):
        """Wait for a line containing `text`; return it."""
        end = min(time.monotonic() + timeout, self.deadline)
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if text in line:
                    return line
            seen = len(self.lines)
            left = end - time.monotonic()
            if left <= 0 or self._pump(left) is None:
                for line in self.lines[seen:]:
                    if text in line:
                        return line
                raise AssertionError(
                    "%r never printed %r; output:\n%s" % (self.argv[:3], text, self.output())
                )

    def output(self):
        while self._pump(0):
            pass
        return "\n".join(self.lines + [self._buffer.decode(errors="replace")])

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait(self, timeout=10.0):
        timeout = min(timeout, max(0.1, self.deadline - time.monotonic()))
        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            self._pump(min(0.2, max(0.0, end - time.monotonic())))
        if self.proc.poll() is None:
            self.stop()
            raise AssertionError("%r still running after %.1f s" % (self.argv[:3], timeout))
        while self._pump(0):
            pass
        return self.proc.returncode

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._selector.close()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


@pytest.fixture
def processes():
    """Start child processes; all are stopped when the test ends."""
    started = []

    def start(argv, env=None, limit_s=20):
        p = Process(argv, env=env, limit_s=limit_s)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


@pytest.fixture
def s_server(processes, pki):
    """start(dtls=False, psk=False, extra=()) -> (process, port): an openssl
    s_server on 127.0.0.1 that has printed ACCEPT."""
    if OPENSSL is None:
        pytest.skip("openssl CLI not installed")

    def start(dtls=False, psk=False, cert="server", extra=()):
        # port 0: s_server picks a free port and prints it ("ACCEPT host:port"),
        # so concurrent test sessions never share a UDP port
        argv = [OPENSSL, "s_server", "-accept", "127.0.0.1:0"]
        if dtls:
            argv.append("-dtls")
        if psk:
            argv += ["-nocert", "-psk", PSK_KEY, "-psk_identity", PSK_IDENTITY]
        else:
            argv += ["-cert", pki.path(cert), "-key", pki.path(cert, ".key")]
        argv += list(extra)
        p = processes(argv)
        port = int(p.expect("ACCEPT").rsplit(":", 1)[1])
        return p, port

    return start


@pytest.fixture
def s_client(processes):
    if OPENSSL is None:
        pytest.skip("openssl CLI not installed")

    def start(port, dtls=False, psk=False, extra=()):
        argv = [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port]
        if dtls:
            argv.append("-dtls")
        if psk:
            argv += ["-psk", PSK_KEY, "-psk_identity", PSK_IDENTITY]
        argv += list(extra)
        return processes(argv)

    return start


class PlainServer:
    """A TCP peer that does not speak TLS: it answers like an HTTP server,
    or closes right after the ClientHello (`close=True`)."""

    def __init__(self, close=False):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(5)
        self.port = self.listener.getsockname()[1]
        self.close = close
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(4096)
                if not self.close:
                    conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass

    def stop(self):
        self.thread.join(6)
        self.listener.close()


# ---- a lossy UDP relay ---------------------------------------------------------


class UdpRelay:
    """client <-> relay <-> server. Drops the first `drop_to_server` datagrams
    the client sends (or all when None... see drop_all) and records when each
    client datagram arrived, so tests can measure retransmission times."""

    def __init__(
        self,
        server_port,
        drop_to_server=0,
        drop_all=False,
        drop_server_ccs=0,
        drop=None,
        hold=None,
        limit_s=20,
    ):
        self.server = ("127.0.0.1", server_port)
        # drop(direction, index, datagram) -> True to drop: direction "up" (client
        # to server) or "down"; index counts the handshake datagrams (first record
        # a handshake or ChangeCipherSpec) seen in that direction, from 0
        self.drop = drop
        # hold(direction, index, datagram) -> True to keep that datagram back and
        # send it just before the next one going the same way, so that the peer
        # finds both queued (never sent if nothing follows)
        self.hold = hold
        self.held = []  # (direction, index)
        self._waiting = {}  # direction -> the datagram held back
        self.handshake_datagrams = {"up": 0, "down": 0}
        self.dropped = []  # (direction, index)
        self.sent_up = []  # every datagram the client sent, dropped or not
        self.drop_to_server = drop_to_server
        # drop the first N server datagrams that start with a ChangeCipherSpec
        # record: the server's final flight, which only a retransmission of
        # our Finished flight (with fresh record numbers) brings back
        self.drop_server_ccs = drop_server_ccs
        self.dropped_from_server = 0
        self.drop_all = drop_all
        self.from_client = []  # (monotonic time, length, dropped)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.upstream.connect(self.server)
        self.client = None
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit_s
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ)
        sel.register(self.upstream, selectors.EVENT_READ)
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            for key, _ in sel.select(0.05):
                try:
                    data, addr = key.fileobj.recvfrom(65536)
                except OSError:
                    continue
                if key.fileobj is self.sock:
                    self.client = addr
                    self.sent_up.append(data)
                    dropped = self.drop_all or len(self.from_client) < self.drop_to_server
                    ruling = self._ruled("up", data)
                    dropped = ruling == "drop" or dropped
                    self.from_client.append((time.monotonic(), len(data), dropped))
                    if not dropped and ruling != "hold":
                        self._release("up")
                        self.upstream.send(data)
                elif self.client is not None:
                    if data[:1] == b"\x14" and self.dropped_from_server < self.drop_server_ccs:
                        self.dropped_from_server += 1
                        continue
                    if self._ruled("down", data):
                        continue
                    self._release("down")
                    self.sock.sendto(data, self.client)
        sel.close()

    def _ruled(self, direction, data):
        # None: pass it on; "drop" or "hold" (see __init__)
        if data[:1] not in (b"\x14", b"\x16"):
            return None
        index = self.handshake_datagrams[direction]
        self.handshake_datagrams[direction] += 1
        if self.drop is not None and self.drop(direction, index, data):
            self.dropped.append((direction, index))
            return "drop"
        if self.hold is not None and self.hold(direction, index, data):
            self.held.append((direction, index))
            self._waiting[direction] = data
            return "hold"
        return None

    def _release(self, direction):
        data = self._waiting.pop(direction, None)
        if data is not None:
            if direction == "up":
                self.upstream.send(data)
            else:
                self.sock.sendto(data, self.client)

    def intervals_ms(self):
        times = [t for t, _, _ in self.from_client]
        return [round((b - a) * 1000) for a, b in zip(times, times[1:])]

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        self.upstream.close()


def message_key(datagram):
    """What a datagram's first record carries: its type and epoch and, for a
    plaintext handshake record, the message type, sequence and fragment offset."""
    key = (datagram[0], datagram[3:5])
    if datagram[0] == 22 and datagram[3:5] == b"\0\0" and len(datagram) >= 22:
        key += (datagram[13], datagram[17:19], datagram[19:22])
    return key


class RandomLoss:
    """A UdpRelay drop rule: each handshake datagram is lost with probability
    `rate` (seeded), except that a message is never lost twice in a row."""

    def __init__(self, rate, seed):
        self.rate = rate
        self.random = random.Random(seed)
        self.lost_last_time = {}

    def __call__(self, direction, index, datagram):
        key = (direction,) + message_key(datagram)
        lost = not self.lost_last_time.get(key) and self.random.random() < self.rate
        self.lost_last_time[key] = lost
        return lost


def epoch0_record_numbers(datagrams):
    """The record numbers of the epoch-0 records in `datagrams`, in order."""
    numbers = []
    for data in datagrams:
        pos = 0
        while pos + 13 <= len(data):
            if data[pos + 3 : pos + 5] == b"\0\0":
                numbers.append(int.from_bytes(data[pos + 5 : pos + 11], "big"))
            pos += 13 + int.from_bytes(data[pos + 11 : pos + 13], "big")
    return numbers


@pytest.fixture
def udp_relay():
    relays = []

    def start(server_port, **kwargs):
        relay = UdpRelay(server_port, **kwargs)
        relays.append(relay)
        return relay

    yield start
    for relay in relays:
        relay.close()


# ---- MicroPython ---------------------------------------------------------------


def mp_env():
    env = dict(os.environ)
    env["MICROPYPATH"] = ":".join([str(ROOT / "lib"), str(ROOT / "port"), str(HERE)])
    return env


@pytest.fixture
def micropython(processes):
    """start(job) -> Process running tests/tls/mp_peer.py with `job`;
    result(process) -> its JSON result."""
    binary = micropython_binary()
    if binary is None:
        pytest.skip("micropython interpreter not installed")

    class Runner:
        def start(self, job, limit_s=20):
            return processes(
                [binary, str(HERE / "mp_peer.py"), json.dumps(job)], env=mp_env(), limit_s=limit_s
            )

        def result(self, process, timeout=15.0):
            process.wait(timeout)
            for line in reversed(process.lines):
                if line.startswith("{") and '"listening"' not in line:
                    return json.loads(line)
            raise AssertionError("no result from MicroPython:\n" + process.output())

        def run(self, job, timeout=15.0):
            return self.result(self.start(job), timeout)

    return Runner()


# ---- the CPython engine as a server in a thread --------------------------------


class EngineServer:
    """One connection served by the CPython engine in a thread: handshake,
    receive one message, echo it, close. `result` holds what happened."""

    def __init__(
        self, config, dtls=False, limit_s=10, reply=None, greet=None, bulk=0, close_at_once=False
    ):
        from twinsock_port.tls_cpython import Engine

        self.Engine = Engine
        self.config = config
        self.dtls = dtls
        self.reply = reply
        self.greet = greet  # sent right after the handshake, before receiving
        self.bulk = bulk  # receive this many bytes, then reply with the count
        self.close_at_once = close_at_once  # close (close_notify) right after replying
        self.limit_ms = int(limit_s * 1000)
        kind = socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM
        self.listener = socket.socket(socket.AF_INET, kind)
        self.listener.bind(("127.0.0.1", 0))
        if not dtls:
            self.listener.listen(1)
        self.listener.settimeout(limit_s)
        self.port = self.listener.getsockname()[1]
        self.result = {}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import tlsdrive

        sock = None
        try:
            pending = None
            if self.dtls:
                pending, peer = self.listener.recvfrom(65536)
                self.listener.connect(peer)
                sock = self.listener
            else:
                sock, _ = self.listener.accept()
            sock.setblocking(False)
            engine = self.Engine(
                sock,
                self.config,
                dtls=self.dtls,
                server_side=True,
                handshake_timeouts=self.config.dtls_handshake_timeouts,
                pending_datagram=pending,
            )
            self.result["handshake_ms"] = tlsdrive.handshake(engine, sock, self.limit_ms)
            self.result["cipher"] = engine.cipher()
            if self.greet:
                tlsdrive.send_all(engine, sock, self.greet)
            buf = bytearray(4096)
            if self.bulk:
                total = 0
                while total < self.bulk:
                    total += tlsdrive.receive(engine, sock, buf, self.limit_ms)
                self.reply = b"%d" % total
            n = tlsdrive.receive(engine, sock, buf, self.limit_ms) if not self.bulk else 0
            self.result["received"] = bytes(buf[:n])
            tlsdrive.send_all(engine, sock, self.reply or bytes(buf[:n]))
            # wait for the client to finish (close_notify or EOF), bounded
            try:
                if not self.close_at_once:
                    tlsdrive.receive(engine, sock, buf, 2000)
            except (tlsdrive.Timeout, OSError):
                pass
            engine.close()
        except Exception as e:  # reported to the test
            self.result["error"] = e
        finally:
            if sock is not None and sock is not self.listener:
                sock.close()

    def join(self):
        self._thread.join(self.limit_ms / 1000 + 2)
        assert not self._thread.is_alive(), "engine server thread still running"
        self.listener.close()
        return self.result


@pytest.fixture
def engine_server():
    servers = []

    def start(config, dtls=False, **kwargs):
        server = EngineServer(config, dtls=dtls, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server._thread.join(12)
        server.listener.close()
