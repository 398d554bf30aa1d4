"""Real peers nobody here wrote, each in a subprocess of this venv's python with a
time limit, on 127.0.0.1, stopped when its `with` block ends:

- ``tinydtls_server(identity, key)`` -> port: a DTLS-PSK echo server on tinydtls
  (PyPI DTLSSocket's binding; tinydtls speaks TLS_PSK_WITH_AES_128_CCM_8 and
  TLS_PSK_WITH_AES_128_CCM only, with HelloVerifyRequest cookies);
- ``aiocoap_server(identity, key)`` -> (udp_port, dtls_port): aiocoap's CoAP server
  over plain UDP and over DTLS-PSK (its tinydtls server transport), serving
  GET /hello -> b"hello" and POST /echo -> the request payload (and GET /slow ->
  b"slow" as a separate response, after an empty ACK);
- ``loopback_capture(udp_port, fields)`` -> rows: tshark's DTLS dissection of the
  datagrams to/from a port while the block runs (Connection ID, alerts on the wire).

A peer that cannot start (package missing, build broken) raises PeerError with its
log: the test fails, it is never skipped. `python tests/interop/peers.py tinydtls|
aiocoap` is the subprocess side; it reads {"identity", "key", "lifetime"} (hex) as
one JSON line on stdin and prints {"ports": [...]} once it listens.
"""

import asyncio
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
LIFETIME = 120.0  # seconds a peer lives at most, whatever the test does
START_LIMIT = 20.0  # seconds for a peer to report its ports
STOP_LIMIT = 5.0
SLOW_ANSWER_S = 0.5  # aiocoap's GET /slow


class PeerError(RuntimeError):
    pass


@contextlib.contextmanager
def tinydtls_server(identity, key, lifetime=LIFETIME):
    """A tinydtls DTLS-PSK echo server; yields its port on 127.0.0.1."""
    with _peer_process("tinydtls", identity, key, lifetime) as ports:
        yield ports[0]


@contextlib.contextmanager
def aiocoap_server(identity, key, lifetime=LIFETIME):
    """aiocoap's CoAP server; yields (udp_port, dtls_port) on 127.0.0.1."""
    with _peer_process("aiocoap", identity, key, lifetime) as ports:
        yield ports[0], ports[1]


CAPTURE_END = b"twinsock: end of capture"


@contextlib.contextmanager
def loopback_capture(udp_port, fields):
    """tshark (Wireshark's dissectors) decoding, live, the loopback's UDP datagrams to
    or from `udp_port` as DTLS while the block runs. Yields a list that, once the block
    ends, holds one row per DTLS datagram: the tshark `fields` (e.g. "udp.srcport",
    "dtls.record.content_type") as str, several values in one datagram joined by ",".
    The block's end is marked by a datagram of our own, sent to `udp_port` after
    everything else: the capture is complete once tshark has shown it.
    Capturing needs root (or dumpcap's capabilities)."""
    command = ["tshark", "-i", "lo", "-f", "udp port %d" % udp_port, "-l"]
    command += ["-d", "udp.port==%d,dtls" % udp_port, "-T", "fields"]
    command += ["-E", "occurrence=a", "-E", "aggregator=,"]
    for field in ("udp.payload", "frame.protocols") + tuple(fields):
        command += ["-e", field]
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    rows = []
    try:
        # "Capturing on 'lo'" comes first; packets are captured from this line on
        _Lines("tshark", process, process.stderr).until(b"-- Capture started")
        yield rows
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(CAPTURE_END, (HOST, udp_port))
        lines = _Lines("tshark", process, process.stdout)
        while True:
            payload, protocols, *values = lines.until(b"").split("\t")
            if payload == CAPTURE_END.hex():
                break
            if ":dtls" in protocols:
                rows.append(values)
    finally:
        _stop(process, signal.SIGINT)


# -- the test side: start, wait for the ports, stop ----------------------------------


@contextlib.contextmanager
def _peer_process(kind, identity, key, lifetime):
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
    )
    try:
        order = {"identity": identity.hex(), "key": key.hex(), "lifetime": lifetime}
        process.stdin.write((json.dumps(order) + "\n").encode())
        process.stdin.close()
        line = _Lines(kind + " peer", process, process.stdout, log).until(b'{"ports"')
        yield json.loads(line)["ports"]
    finally:
        _stop(process)
        log.close()


class _Lines:
    """The lines a process writes to one of its pipes, each awaited with a time limit;
    PeerError (with the tail of its output, and of `log`) when none comes in time."""

    def __init__(self, what, process, stream, log=None):
        self.what = what
        self.process = process
        self.stream = stream
        self.log = log
        self.text = b""

    def until(self, needle, limit=START_LIMIT):
        """The next line that holds `needle` (earlier lines are passed over)."""
        deadline = time.monotonic() + limit
        while True:
            line, newline, rest = self.text.partition(b"\n")
            if newline:
                self.text = rest
                if needle in line:
                    return line.decode(errors="replace")
                continue
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.stream], [], [], left)[0]:
                self.fail("gave no %r within %d s" % (needle, limit))
            chunk = os.read(self.stream.fileno(), 4096)
            if not chunk:
                self.process.wait(STOP_LIMIT)
                self.fail("exited with status %s" % self.process.returncode)
            self.text += chunk

    def fail(self, why):
        output = self.text
        if self.log is not None:
            self.log.seek(0)
            output += self.log.read()
        raise PeerError("%s %s:\n%s" % (self.what, why, output[-3000:].decode(errors="replace")))


def _stop(process, how=signal.SIGTERM):
    if process.poll() is None:
        os.killpg(process.pid, how)
        try:
            process.wait(STOP_LIMIT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


# -- the peer side (this file run as a script) ----------------------------------------


def _announce(ports):
    sys.stdout.write(json.dumps({"ports": ports}) + "\n")
    sys.stdout.flush()


def serve_tinydtls(identity, key, lifetime):
    """Echo every application datagram back, on tinydtls."""
    from DTLSSocket import dtls

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    sock.settimeout(0.05)

    # tinydtls keeps peers as IPv6 sessions: IPv4 peers as mapped addresses.
    def write(address, data):
        return sock.sendto(data, (address[0].replace("::ffff:", ""), address[1]))

    def read(address, data):
        context.write(dtls.Session(address[0], address[1]), data)
        return len(data)

    def event(level, code):
        sys.stderr.write("tinydtls event: level %d code %#x\n" % (level, code))

    context = dtls.DTLS(
        read=read, write=write, event=event, pskId=identity, pskStore={identity: key}
    )
    _announce([sock.getsockname()[1]])
    end = time.monotonic() + lifetime
    while time.monotonic() < end:
        try:
            data, (host, port) = sock.recvfrom(4096)
        except socket.timeout:
            context.checkRetransmit()
            continue
        context.handleMessageAddr("::ffff:" + host, port, data)


def serve_aiocoap(identity, key, lifetime):
    asyncio.run(_aiocoap_main(identity, key, lifetime))


async def _aiocoap_main(identity, key, lifetime):
    import aiocoap
    import aiocoap.resource as resource
    from aiocoap.credentials import DTLS, CredentialsMap

    class Hello(resource.Resource):
        async def render_get(self, request):
            return aiocoap.Message(code=aiocoap.CONTENT, payload=b"hello")

    class Echo(resource.Resource):
        async def render_post(self, request):
            return aiocoap.Message(code=aiocoap.CHANGED, payload=request.payload)

    class Slow(resource.Resource):
        # answers after aiocoap's EMPTY_ACK_DELAY: an empty ACK, then a separate
        # confirmable response
        async def render_get(self, request):
            await asyncio.sleep(SLOW_ANSWER_S)
            return aiocoap.Message(code=aiocoap.CONTENT, payload=b"slow")

    site = resource.Site()
    site.add_resource(["hello"], Hello())
    site.add_resource(["echo"], Echo())
    site.add_resource(["slow"], Slow())
    credentials = CredentialsMap()
    credentials[":client"] = DTLS(psk=key, client_identity=identity)
    # The tinydtls server transport binds the given port + 1 (coaps = coap + 1):
    # find a free port whose successor is free too.
    for _ in range(20):
        port = _free_udp_port()
        try:
            context = await aiocoap.Context.create_server_context(
                site,
                bind=(HOST, port),
                transports=["udp6", "tinydtls_server"],
                server_credentials=credentials,
            )
            break
        except OSError as e:
            sys.stderr.write("ports %d/%d: %s\n" % (port, port + 1, e))
    else:
        raise PeerError("aiocoap found no free pair of UDP ports")
    _announce([port, port + 1])
    await asyncio.sleep(lifetime)
    await context.shutdown()


def _free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def main(kind):
    order = json.loads(sys.stdin.readline())
    identity = bytes.fromhex(order["identity"])
    key = bytes.fromhex(order["key"])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    {"tinydtls": serve_tinydtls, "aiocoap": serve_aiocoap}[kind](
        identity, key, float(order["lifetime"])
    )


if __name__ == "__main__":
    main(sys.argv[1])
