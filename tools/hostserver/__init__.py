"""twinsock host server: the peer that twinsock tests and the HIL harness talk to.

One process, stdlib only (UDP/TCP), serving a set of *services* on one or more bind
addresses, each on its own ephemeral port. Run it as::

    python -m tools.hostserver [--bind 127.0.0.1] [--bind ::1] [--alias 127.0.0.3]
                               [--lifetime 60] [--log PATH] [--service NAME ...]

When every service listens it prints ONE JSON line on stdout and flushes::

    {"ready": true, "pid": 1234, "lifetime": 60,
     "hosts": {"127.0.0.1": {"udp": 40001, "tcp_echo": 40002, ...}, "::1": {...}},
     "aliases": ["127.0.0.3"]}            (only with --alias)

``HostServerProcess`` starts it as a child process and reads that line (with a time
limit), for test suites and the HIL harness.

It exits by itself after ``--lifetime`` seconds (or on SIGTERM/SIGINT).  ``--log`` writes
one JSON object per line for every event it sees (``{"t": ..., "service": ...,
"event": ..., "peer": [host, port], ...}``) so a test or harness can check what reached
the wire.

Services (``SERVICES`` is the registry; ``@service("name")`` adds one). Without
``--service`` the plain UDP/TCP services below run; ``--secure`` adds the TLS/DTLS
services of ``tools/hostserver/secure.py`` (``tls_echo``, ``tls_psk_echo``,
``tls_client_auth_echo``, ``tls_expired``, ``tls_untrusted``, ``dtls_echo``,
``dtls_psk_echo``), which can also
be named one by one with ``--service``. They use certificates made per run
(``tools/hostserver/pki.py``; ``--pki DIR`` keeps them in DIR, else a temporary
directory removed at exit) and a PSK (``--psk-identity``, ``--psk-key HEX``, else a
random key); the ready line then also has ``"pki": DIR`` and
``"psk": {"identity": ..., "key": HEX}``.

``udp``
    UDP echo: every datagram is sent back unchanged (an empty one too), except these
    ASCII requests, which are answered instead of echoed:

    - ``SEND n``            -> one datagram of n pattern bytes (see ``pattern``)
    - ``EMPTY``             -> one empty datagram
    - ``SILENT``            -> no reply at all
    - ``DELAY ms payload``  -> ``payload`` sent back after ``ms`` milliseconds
    - ``WHOAMI``            -> ``"<host> <port>"``: the source address the server saw

``tcp_echo``
    TCP echo until the client closes; then the server closes too.
``tcp_whoami``
    On accept sends one line ``"<peer host> <peer port> <local host> <local port>\\n"``
    (what the server saw, including which local address was connected to), then
    echoes. ``--alias ADDR`` makes this service also listen on ADDR with the SAME
    port number (used by the IP-stickiness tests with a name resolving to several
    loopback addresses).
``tcp_control``
    Reads one command line, then:

    - ``SEND n``            -> n pattern bytes, then a clean close (FIN)
    - ``RESET``             -> an abortive close (SO_LINGER 0: RST)
    - ``CLOSE``             -> a clean close without data
    - ``CONNECT host port`` -> connects to host:port (a listening socket of the
      device under test), replies ``"OK\\n"`` (or ``"ERR <errno>\\n"``) on the control
      connection, and echoes on the new connection until it closes
``tcp_silent``
    Accepts and never sends; reads and discards until the client closes.
``tcp_refused``
    A port that is bound but never listens: every connect is refused.

``pattern(n)`` (byte i is ``i % 251``) is the known content of ``SEND n`` replies.
"""

import argparse
import errno
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

SERVICES = {}


def service(name):
    """Register a service class under `name`. A service is constructed as
    ``cls(server, host, port)`` (port 0 = ephemeral), must set ``self.port`` in its
    constructor (after binding) and run in ``serve()`` until ``server.stopping``."""

    def register(cls):
        SERVICES[name] = cls
        cls.name = name
        return cls

    return register


def pattern(n):
    return bytes(i % 251 for i in range(n))


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class Server:
    def __init__(self, log_path=None):
        self.pki = None  # tools.hostserver.pki.Pki, for the secure services
        self.psk = None  # (identity bytes, key bytes)
        self.stopping = threading.Event()
        self._log_lock = threading.Lock()
        self._log = open(log_path, "a", buffering=1) if log_path else None
        self.threads = []

    def log(self, service_name, event, peer=None, **fields):
        if self._log is None:
            return
        record = {"t": round(time.time(), 6), "service": service_name, "event": event}
        if peer is not None:
            record["peer"] = [peer[0], peer[1]]
        record.update(fields)
        with self._log_lock:
            self._log.write(json.dumps(record) + "\n")

    def spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)
        return thread

    def close(self):
        self.stopping.set()
        if self._log is not None:
            with self._log_lock:
                self._log.close()
                self._log = None


def _bind(kind, host, port, reuse=True):
    sock = socket.socket(family_of(host), kind)
    if reuse:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family_of(host) == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((host, port))
    return sock


# Poll interval of every accept/recv loop, so that the lifetime is honoured.
TICK = 0.2


@service("udp")
class UdpService:
    def __init__(self, server, host, port=0):
        self.server = server
        self.sock = _bind(socket.SOCK_DGRAM, host, port)
        self.sock.settimeout(TICK)
        self.port = self.sock.getsockname()[1]

    def serve(self):
        while not self.server.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                if self.server.stopping.is_set():
                    return
                continue
            self.server.log(self.name, "datagram", peer, len=len(data), head=_head(data))
            self.answer(data, peer)

    def answer(self, data, peer):
        words = data.split(b" ", 2)
        command = words[0]
        reply = data
        try:
            if command == b"SEND" and len(words) == 2:
                reply = pattern(int(words[1]))
            elif data == b"EMPTY":
                reply = b""
            elif data == b"SILENT":
                return
            elif data == b"WHOAMI":
                reply = ("%s %d" % (peer[0], peer[1])).encode()
            elif command == b"DELAY" and len(words) >= 2:
                payload = words[2] if len(words) == 3 else b""
                timer = threading.Timer(int(words[1]) / 1000.0, self._send, (payload, peer))
                timer.daemon = True
                timer.start()
                return
        except ValueError:
            reply = data
        self._send(reply, peer)

    def _send(self, data, peer):
        try:
            self.sock.sendto(data, peer)
            self.server.log(self.name, "sent", peer, len=len(data))
        except OSError as e:
            self.server.log(self.name, "send_error", peer, errno=e.errno)


class TcpService:
    """Accept loop; `handle(conn, peer)` runs in a thread per connection."""

    backlog = 16

    def __init__(self, server, host, port=0):
        self.server = server
        self.host = host
        self.sock = _bind(socket.SOCK_STREAM, host, port)
        self.sock.listen(self.backlog)
        self.sock.settimeout(TICK)
        self.port = self.sock.getsockname()[1]

    def serve(self):
        while not self.server.stopping.is_set():
            try:
                conn, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                if self.server.stopping.is_set():
                    return
                continue
            local = conn.getsockname()
            self.server.log(self.name, "accept", peer, local=[local[0], local[1]])
            conn.settimeout(TICK)
            self.server.spawn(self._run, conn, peer)

    def _run(self, conn, peer):
        try:
            self.handle(conn, peer)
        except OSError as e:
            self.server.log(self.name, "error", peer, errno=e.errno)
        finally:
            conn.close()
            self.server.log(self.name, "closed", peer)

    def recv(self, conn, n=65536):
        """recv that honours the server lifetime; None when stopping."""
        while not self.server.stopping.is_set():
            try:
                return conn.recv(n)
            except socket.timeout:
                continue
        return None

    def echo(self, conn, peer):
        total = 0
        while True:
            data = self.recv(conn)
            if not data:
                break
            conn.sendall(data)
            total += len(data)
        self.server.log(self.name, "eof", peer, echoed=total)

    def read_line(self, conn):
        line = b""
        while not line.endswith(b"\n") and len(line) < 256:
            data = self.recv(conn, 1)
            if not data:
                break
            line += data
        return line.strip()


@service("tcp_echo")
class TcpEcho(TcpService):
    def handle(self, conn, peer):
        self.echo(conn, peer)


@service("tcp_whoami")
class TcpWhoami(TcpService):
    def handle(self, conn, peer):
        local = conn.getsockname()
        conn.sendall(("%s %d %s %d\n" % (peer[0], peer[1], local[0], local[1])).encode())
        self.echo(conn, peer)


@service("tcp_control")
class TcpControl(TcpService):
    def handle(self, conn, peer):
        line = self.read_line(conn)
        self.server.log(self.name, "command", peer, command=line.decode("ascii", "replace"))
        words = line.split()
        if len(words) == 2 and words[0] == b"SEND":
            conn.sendall(pattern(int(words[1])))
            conn.shutdown(socket.SHUT_WR)
            self.recv(conn)  # wait for the client's close, so the FIN is the last word
        elif line == b"RESET":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif line == b"CLOSE":
            conn.shutdown(socket.SHUT_WR)
        elif len(words) == 3 and words[0] == b"CONNECT":
            self.connect_back(conn, peer, words[1].decode(), int(words[2]))

    def connect_back(self, conn, peer, host, port):
        try:
            back = socket.create_connection((host, port), timeout=5)
        except OSError as e:
            code = e.errno if e.errno is not None else errno.ETIMEDOUT
            conn.sendall(b"ERR %d\n" % code)
            self.server.log(self.name, "connect_failed", (host, port), errno=code)
            return
        conn.sendall(b"OK\n")
        self.server.log(self.name, "connected", (host, port))
        back.settimeout(TICK)
        try:
            self.echo(back, (host, port))
        finally:
            back.close()


@service("tcp_silent")
class TcpSilent(TcpService):
    def handle(self, conn, peer):
        while self.recv(conn):
            pass


@service("tcp_refused")
class TcpRefused:
    """Bound, never listening: Linux answers every SYN with RST."""

    def __init__(self, server, host, port=0):
        self.server = server
        self.sock = _bind(socket.SOCK_STREAM, host, port, reuse=False)
        self.port = self.sock.getsockname()[1]

    def serve(self):
        self.server.stopping.wait()


def _head(data):
    return data[:32].decode("ascii", "replace")


def _same_port_group(server, cls, hosts, attempts=20):
    """One service instance per host, all on the same (ephemeral) port number."""
    for _ in range(attempts):
        group = [cls(server, hosts[0], 0)]
        try:
            for host in hosts[1:]:
                group.append(cls(server, host, group[0].port))
            return group
        except OSError:  # that port is taken on an alias address: try another
            for svc in group:
                svc.sock.close()
    raise OSError(errno.EADDRINUSE, "no common free port on %s" % ", ".join(hosts))


PLAIN_SERVICES = ("udp", "tcp_echo", "tcp_whoami", "tcp_control", "tcp_silent", "tcp_refused")


def start(bind_hosts, service_names=None, aliases=(), log_path=None, pki_dir=None, psk=None):
    """Start the services; returns (server, description dict). Used by the CLI and
    usable in-process by tests. Secure services need `pki_dir` (made there if empty)."""
    server = Server(log_path)
    names = list(service_names or PLAIN_SERVICES)
    if any(name in SECURE_SERVICES for name in names):
        from tools.hostserver.pki import Pki, new_psk

        server.pki = Pki.load_or_create(pki_dir, list(bind_hosts) + list(aliases))
        server.psk = psk or new_psk()
    hosts = {}
    for host in bind_hosts:
        ports = hosts[host] = {}
        for name in names:
            if name == "tcp_whoami" and host == bind_hosts[0] and aliases:
                group = _same_port_group(server, SERVICES[name], [host] + list(aliases))
            else:
                group = [SERVICES[name](server, host, 0)]
            ports[name] = group[0].port
            for svc in group:
                server.spawn(svc.serve)
    description = {"ready": True, "pid": os.getpid(), "hosts": hosts}
    if server.pki is not None:
        description["pki"] = os.path.abspath(server.pki.dir)
        description["psk"] = {"identity": server.psk[0].decode(), "key": server.psk[1].hex()}
    if aliases:
        description["aliases"] = list(aliases)
    return server, description


class HostServerProcess:
    """The host server as a child process: started, waited for (its ready line, with a
    time limit), described (`description`, the parsed ready line) and stopped.
    For test suites and the HIL harness: ``HostServerProcess(["--bind", "::1"])``."""

    def __init__(self, args=(), ready_timeout=15.0, python=None, cwd=None):
        import subprocess

        self.stderr_text = ""
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.process = subprocess.Popen(
            [python or sys.executable, "-m", "tools.hostserver"] + list(args),
            cwd=cwd or root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.description = self._read_ready_line(ready_timeout)

    def _read_ready_line(self, timeout):
        import selectors

        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(deadline - time.monotonic()):
                    line = self.process.stdout.readline()
                    if line:
                        return json.loads(line)
                    break
        self.stop()
        raise RuntimeError("host server not ready: %s" % self.stderr_text)

    def port(self, service, host="127.0.0.1"):
        return self.description["hosts"][host][service]

    def stop(self, timeout=5.0):
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.process.stderr.closed:
            self.stderr_text = self.process.stderr.read()
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tools.hostserver",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bind", action="append", help="address to serve on (repeatable)")
    parser.add_argument("--alias", action="append", default=[], help="extra tcp_whoami address")
    parser.add_argument("--lifetime", type=float, default=60.0, help="seconds before exiting")
    parser.add_argument("--log", help="JSON-lines log file of what the server saw")
    parser.add_argument("--service", action="append", choices=sorted(SERVICES))
    parser.add_argument("--secure", action="store_true", help="add the TLS/DTLS services")
    parser.add_argument("--pki", help="directory of the run's certificates (made if empty)")
    parser.add_argument("--psk-identity", default="twinsock-hil")
    parser.add_argument("--psk-key", help="PSK as hex (default: random per run)")
    args = parser.parse_args(argv)

    names = list(args.service or PLAIN_SERVICES)
    if args.secure:
        names += [name for name in SECURE_SERVICES if name not in names]
    key = bytes.fromhex(args.psk_key) if args.psk_key else os.urandom(16)
    psk = (args.psk_identity.encode(), key)
    temporary_pki = None
    pki_dir = args.pki
    if pki_dir is None and any(name in SECURE_SERVICES for name in names):
        import tempfile

        pki_dir = temporary_pki = tempfile.mkdtemp(prefix="twinsock-pki-")
    try:
        server, description = start(
            args.bind or ["127.0.0.1"], names, args.alias, args.log, pki_dir, psk
        )
    except BaseException:
        _remove_tree(temporary_pki)
        raise
    description["lifetime"] = args.lifetime
    server.log("hostserver", "ready", hosts=description["hosts"])

    def stop(signum, frame):
        server.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write(json.dumps(description) + "\n")
    sys.stdout.flush()
    server.stopping.wait(args.lifetime)
    server.log("hostserver", "exit")
    server.close()
    _remove_tree(temporary_pki)
    return 0


def _remove_tree(path):
    if path:
        import shutil

        shutil.rmtree(path, ignore_errors=True)


from tools.hostserver.secure import SECURE_SERVICES  # noqa: E402 (registers the services)
