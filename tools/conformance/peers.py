"""TLS and DTLS echo peers for the conformance suite: the CPython engine
(port/twinsock_port/tls_cpython.py, pyOpenSSL) on the server side, with a PSK,
so no certificates are needed. Each peer is a thread that serves one session
after another until stopped or until its time limit; `description` is what a
check needs to connect ({"port", "identity", "key"})."""

import select
import socket
import threading
import time

IDENTITY = "twinsock-conformance"
KEY = "conformance-psk-0123456789abcdef"
TICK = 0.2


def available():
    try:
        import OpenSSL  # noqa: F401
    except ImportError:
        return False
    return True


def _wait(sock, readable, timeout_s):
    r, w, _ = select.select([sock] if readable else [], [] if readable else [sock], [], timeout_s)
    return bool(r or w)


class SecureEchoPeer:
    def __init__(self, dtls, lifetime=60.0, session_limit=10.0):
        from twinsock.tls import PskInfo, SSLConfig
        from twinsock_port.tls_cpython import Engine

        self._Engine = Engine
        self._config = SSLConfig(PskInfo(IDENTITY.encode(), KEY.encode()))
        self.dtls = dtls
        self._until = time.monotonic() + lifetime
        self._session_limit = session_limit
        self._stopping = threading.Event()
        self._listener = self._bind(0)
        self.port = self._listener.getsockname()[1]
        self.description = {"port": self.port, "identity": IDENTITY, "key": KEY}
        self.errors = []
        self._clients = set()
        self._sessions = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _bind(self, port):
        kind = socket.SOCK_DGRAM if self.dtls else socket.SOCK_STREAM
        sock = socket.socket(socket.AF_INET, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        if not self.dtls:
            sock.listen(4)
        return sock

    def _running(self):
        return not self._stopping.is_set() and time.monotonic() < self._until

    def _serve(self):
        # Each session runs in its own thread on its own socket, so a client that
        # never says goodbye cannot hold up the next one. DTLS: a socket bound to
        # the same port and connected to the client (SO_REUSEADDR) takes that
        # client's datagrams; the listener stays unconnected for new clients.
        while self._running():
            if not _wait(self._listener, True, TICK):
                continue
            pending = None
            try:
                if self.dtls:
                    pending, client = self._listener.recvfrom(65536)
                    if client in self._clients:
                        continue  # a resend that beat our connect(): the session has it
                    sock = self._bind(self.port)
                    sock.connect(client)
                else:
                    sock, client = self._listener.accept()
            except OSError:
                continue
            self._clients.add(client)
            thread = threading.Thread(target=self._run_session, args=(sock, client, pending))
            thread.daemon = True
            thread.start()
            self._sessions.append(thread)

    def _run_session(self, sock, client, pending):
        try:
            sock.setblocking(False)
            self._session(sock, pending)
        except Exception as e:  # noqa: BLE001 - a failed session is the client's problem
            self.errors.append(e)
        finally:
            sock.close()
            self._clients.discard(client)

    def _session(self, sock, pending):
        engine = self._Engine(
            sock,
            self._config,
            dtls=self.dtls,
            server_side=True,
            handshake_timeouts=(500, 4000),
            pending_datagram=pending,
        )
        deadline = time.monotonic() + self._session_limit
        while True:
            want = engine.handshake_step()
            if want is None:
                break
            if not self._running() or time.monotonic() > deadline:
                return
            timer = engine.dtls_timeout_ms()
            wait = TICK if timer is None else min(TICK, timer / 1000)
            if not _wait(sock, want == "read", wait):
                engine.dtls_handle_timeout()
        buf = bytearray(16384)
        while self._running() and time.monotonic() < deadline:
            n = engine.recv_into(buf)
            if n is None:
                _wait(sock, True, TICK)
                continue
            if n == 0:
                break
            view = memoryview(buf)[:n]
            while len(view):
                sent = engine.send(view)
                if sent is None:
                    _wait(sock, False, TICK)
                    continue
                view = view[sent:]
        engine.close()

    def stop(self):
        self._stopping.set()
        self._thread.join(TICK * 5)
        for session in self._sessions:
            session.join(TICK * 5)
        self._listener.close()
