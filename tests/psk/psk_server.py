"""Our own DTLS-PSK core (port/twinsock_port/tls_psk.py) as a host echo
server on CPython, for the PSK engine tests and tools/bench/psk_cost.py. Needs
lib/ and port/ on sys.path; nothing from pytest."""

import socket
import threading
import time

PSK_IDENTITY = "twinsock-client"
PSK_KEY = "00112233445566778899aabbccddeeff"


class CoreServer:
    """Our own DTLS core as a host echo server on one unconnected UDP socket:
    sessions are found by the client's address or, in tls12_cid records, by
    the Connection ID (RFC 9146 6: the peer address then follows the record)."""

    def __init__(self, cid=True, key=PSK_KEY, limit_s=30):
        from twinsock_port.tls_psk_server import CidServer, Server

        self._make = lambda addr: (CidServer if cid else Server)(
            PSK_IDENTITY.encode(),
            bytes.fromhex(key),
            client_id=("%s:%d" % addr).encode(),
        )
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sessions = {}  # address -> Dtls
        self.handshakes = 0
        self.echoed = []  # (client address, payload)
        self.errors = []
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit_s
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _session_for(self, data, addr):
        session = self.sessions.get(addr)
        hello = data[:1] == b"\x16" and data[3:5] == b"\0\0" and data[13:14] == b"\x01"
        if session is not None and not (hello and (session.done or session.closed)):
            return session  # (RFC 6347 4.2.8: a new ClientHello from a used port starts over)
        if data[:1] == b"\x19":
            for s in list(self.sessions.values()):
                if s.rx_cid and data[11 : 11 + len(s.rx_cid)] == s.rx_cid:
                    return s
            return None
        session = self.sessions[addr] = self._make(addr)
        return session

    def _run(self):
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            self.sock.settimeout(0.05)
            try:
                data, addr = self.sock.recvfrom(65536)
            except (TimeoutError, socket.timeout, OSError):
                self._timers()
                continue
            session = self._session_for(data, addr)
            if session is None:
                continue
            was_done = session.done
            seen = len(session.app)
            try:
                session.feed(data)
            except OSError as e:
                self.errors.append(e)
                self.sessions = {a: s for a, s in self.sessions.items() if s is not session}
            if session.done and not was_done:
                self.handshakes += 1
            if len(session.app) > seen:  # authenticated: this is where the peer is now
                self.sessions = {a: s for a, s in self.sessions.items() if s is not session}
                self.sessions[addr] = session
            while session.app:
                payload = session.app.pop(0)
                self.echoed.append((addr, payload))
                session.send(payload)
            for datagram in session.out:
                self.sock.sendto(datagram, addr)
            session.out = []

    def _timers(self):
        """Resend the flights whose retransmission timer ran out."""
        for addr, session in list(self.sessions.items()):
            if session.dtls_timeout_ms() != 0:
                continue
            try:
                session.dtls_handle_timeout()
            except OSError as e:
                self.errors.append(e)
                del self.sessions[addr]
            for datagram in session.out:
                self.sock.sendto(datagram, addr)
            session.out = []

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
