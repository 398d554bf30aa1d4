"""Real peers nobody here wrote, each in a subprocess of this venv's python with a
time limit, on 127.0.0.1, stopped when its `with` block ends:

- ``tinydtls_server(identity, key)`` -> port: a DTLS-PSK echo server on tinydtls
  (PyPI DTLSSocket's binding; tinydtls speaks TLS_PSK_WITH_AES_128_CCM_8 and
  TLS_PSK_WITH_AES_128_CCM only, with HelloVerifyRequest cookies);
- ``aiocoap_server(identity, key)`` -> (udp_port, dtls_port): aiocoap's CoAP server
  over plain UDP and over DTLS-PSK (its tinydtls server transport), serving
  GET /hello -> b"hello" and POST /echo -> the request payload.

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


# -- the test side: start, wait for the ports, stop ----------------------------------


@contextlib.contextmanager
def _peer_process(kind, identity, key, lifetime):
    log = tempfile.TemporaryFile(mode="w+")
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
        yield _read_ports(kind, process, log)
    finally:
        _stop(process)
        log.close()


def _read_ports(kind, process, log):
    deadline = time.monotonic() + START_LIMIT
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([process.stdout], [], [], left)[0]:
            raise PeerError("%s peer did not start within %d s%s" % (kind, START_LIMIT, _tail(log)))
        chunk = os.read(process.stdout.fileno(), 256)
        if not chunk:
            process.wait(STOP_LIMIT)
            raise PeerError(
                "%s peer exited with status %s before listening%s"
                % (kind, process.returncode, _tail(log))
            )
        line += chunk
    return json.loads(line)["ports"]


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_LIMIT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    process.stdout.close()


def _tail(log):
    log.seek(0)
    text = log.read()[-3000:]
    return (":\n" + text) if text else ""


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

    site = resource.Site()
    site.add_resource(["hello"], Hello())
    site.add_resource(["echo"], Echo())
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
