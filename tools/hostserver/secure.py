"""TLS and DTLS services of the host server, independent of twinsock: stdlib ``ssl``
for TLS with certificates, pyOpenSSL for TLS-PSK and for DTLS (memory BIOs, one UDP
socket per service, one session per client address).

The certificates come from ``server.pki`` (tools/hostserver/pki.py) and the PSK from
``server.psk`` (identity, key), both made by ``start()`` when a secure service runs.

``tls_echo``       TLS (1.2/1.3) with the ``server`` certificate: echo until EOF.
``tls_psk_echo``   TLS 1.2 PSK: echo until EOF.
``tls_client_auth_echo``  like ``tls_echo`` but requires a client certificate from the CA.
``tls_expired``    TLS presenting the ``expired`` certificate (for bad-certificate checks).
``tls_untrusted``  TLS presenting ``untrusted``, signed by a CA the client does not trust.
``tls_drip``       announces a 16 KB record after the ClientHello, then drips a byte per 200 ms.
``tls_drip_data``  TLS, then one 16000-byte record whose first 8 bytes drip, 200 ms apart.
``dtls_echo``      DTLS 1.2 with the ``server`` certificate: every record is echoed.
``dtls_psk_echo``  DTLS 1.2 PSK: every record is echoed.

Only ``tls_client_auth_echo`` asks for a client certificate. The DTLS services do
the HelloVerifyRequest cookie exchange, as field servers do (a resent ClientHello
must carry a fresh record number: a replay is dropped)."""

import hashlib
import hmac
import os
import select
import socket
import ssl
import struct
import time

from tools.hostserver import TICK, TcpService, _bind, service

HANDSHAKE_TIMEOUT_S = 15.0  # a board's first handshake (ECDHE on a slow core) fits well
DTLS_IDLE_S = 120.0  # a DTLS session without traffic for this long is forgotten
DTLS_MTU = 1400
RECORD_HEADER = 13  # DTLS: type, version(2), epoch(2), sequence(6), length(2)
TLS_1_2 = 0x0303
DTLS_1_2 = 0xFEFD


class StdlibTlsService(TcpService):
    """TLS with certificates through stdlib ssl; `certificate` names the PKI entry."""

    certificate = "server"

    def __init__(self, server, host, port=0):
        super().__init__(server, host, port)
        pki = server.pki
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(
            pki.path(self.certificate), pki.path(self.certificate + "_key")
        )

    def handle(self, conn, peer):
        conn.settimeout(HANDSHAKE_TIMEOUT_S)
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as error:
            self.server.log(self.name, "handshake_failed", peer, reason=str(error))
            return
        self.server.log(self.name, "handshake", peer, version=tls.version(), cipher=tls.cipher()[0])
        tls.settimeout(TICK)
        try:
            self.echo(tls, peer)
        except ssl.SSLError as error:
            self.server.log(self.name, "tls_error", peer, reason=str(error))
        finally:
            tls.close()


@service("tls_echo")
class TlsEcho(StdlibTlsService):
    certificate = "server"


@service("tls_client_auth_echo")
class TlsClientAuthEcho(StdlibTlsService):
    """Requires a client certificate signed by the run's CA (mutual TLS)."""

    certificate = "server"

    def __init__(self, server, host, port=0):
        super().__init__(server, host, port)
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.load_verify_locations(server.pki.path("ca"))


@service("tls_expired")
class TlsExpired(StdlibTlsService):
    certificate = "expired"


@service("tls_untrusted")
class TlsUntrusted(StdlibTlsService):
    certificate = "untrusted"


DRIP_INTERVAL_S = 0.2
DRIP_DATA = 16000


@service("tls_drip")
class TlsDrip(TcpService):
    """A peer that keeps a handshake waiting: it reads the ClientHello, announces a
    16 KB handshake record and sends one byte of it every 200 ms (20 s at most)."""

    def handle(self, conn, peer):
        if not self.recv(conn):
            return
        conn.sendall(b"\x16\x03\x03\x40\x00")
        for _ in range(100):
            if self.server.stopping.wait(DRIP_INTERVAL_S):
                return
            conn.sendall(b"\x00")  # OSError once the client has gone: ends here


@service("tls_drip_data")
class TlsDripData(StdlibTlsService):
    """TLS with the ``server`` certificate; after the handshake it sends one record of
    16000 bytes b"d": its first 8 bytes one every 200 ms, then the rest at once."""

    def handle(self, conn, peer):
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.context.wrap_bio(incoming, outgoing, server_side=True)
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT_S
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as error:
                self.server.log(self.name, "handshake_failed", peer, reason=str(error))
                return
            if outgoing.pending:
                conn.sendall(outgoing.read())
            data = self.recv(conn)
            if not data or time.monotonic() > deadline:
                return
            incoming.write(data)
        conn.sendall(outgoing.read())  # the last flight, and TLS 1.3 tickets
        tls.write(b"d" * DRIP_DATA)
        record = outgoing.read()
        for i in range(8):
            if self.server.stopping.wait(DRIP_INTERVAL_S):
                return
            conn.sendall(record[i : i + 1])
        conn.sendall(record[8:])
        while self.recv(conn):  # until the client closes
            pass


# ---- pyOpenSSL: PSK and DTLS -----------------------------------------------------


def openssl_context(dtls, psk=None, pki=None, keep=None):
    """A server context: PSK (identity, key) when given, else the server certificate.
    `keep` collects the cffi callback, which must outlive the context."""
    from OpenSSL import SSL
    from OpenSSL._util import ffi, lib

    ctx = SSL.Context(SSL.DTLS_SERVER_METHOD if dtls else SSL.TLS_SERVER_METHOD)
    ctx.set_min_proto_version(DTLS_1_2 if dtls else TLS_1_2)
    if dtls:
        cookie_exchange(ctx)
    if psk is None:
        ctx.use_certificate_file(pki.path("server"))
        ctx.use_privatekey_file(pki.path("server_key"))
        return ctx
    identity, key = psk

    def server_callback(ssl_pointer, peer_identity, psk_out, max_len):
        if peer_identity == ffi.NULL or ffi.string(peer_identity) != identity:
            return 0
        if len(key) > max_len:
            return 0
        ffi.memmove(psk_out, key, len(key))
        return len(key)

    callback = ffi.callback(
        "unsigned int(SSL *, char *, unsigned char *, unsigned int)", server_callback
    )
    keep.append(callback)
    lib.SSL_CTX_set_psk_server_callback(ctx._context, callback)
    # PSK through the legacy callback is TLS 1.2, as LwM2M peers use it
    ctx.set_max_proto_version(DTLS_1_2 if dtls else TLS_1_2)
    ctx.set_cipher_list(b"PSK:@SECLEVEL=0")
    return ctx


COOKIE_SECRET = os.urandom(16)


def cookie_exchange(ctx):
    """HelloVerifyRequest cookies (RFC 6347 4.2.1), as real DTLS servers send
    them: an HMAC of the client's address (the session's app data)."""
    from OpenSSL._util import lib

    def cookie(connection):
        peer = "%s:%d" % connection.get_app_data()
        return hmac.new(COOKIE_SECRET, peer.encode(), hashlib.sha256).digest()

    ctx.set_options(lib.SSL_OP_COOKIE_EXCHANGE)
    ctx.set_cookie_generate_callback(cookie)
    ctx.set_cookie_verify_callback(lambda c, got: hmac.compare_digest(cookie(c), got))


@service("tls_psk_echo")
class TlsPskEcho(TcpService):
    def __init__(self, server, host, port=0):
        super().__init__(server, host, port)
        self._callbacks = []
        self.context = openssl_context(False, psk=server.psk, keep=self._callbacks)

    def handle(self, conn, peer):
        from OpenSSL import SSL

        conn.setblocking(False)  # pyOpenSSL works on the descriptor: wait with select
        tls = SSL.Connection(self.context, conn)
        tls.set_accept_state()
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT_S
        while True:
            try:
                tls.do_handshake()
                break
            except SSL.WantReadError:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.server.stopping.is_set():
                    self.server.log(self.name, "handshake_failed", peer, reason="timeout")
                    return
                select.select([conn], [], [], min(TICK, remaining))
            except (SSL.Error, OSError) as error:
                self.server.log(self.name, "handshake_failed", peer, reason=repr(error))
                return
        self.server.log(
            self.name,
            "handshake",
            peer,
            version=tls.get_protocol_version_name(),
            cipher=tls.get_cipher_name(),
        )
        total = 0
        while not self.server.stopping.is_set():
            try:
                data = tls.recv(65536)
            except SSL.WantReadError:
                select.select([conn], [], [], TICK)
                continue
            except (SSL.ZeroReturnError, SSL.SysCallError):
                break  # close_notify, or the peer closed without one
            if not data:
                break
            self.send_all(tls, conn, data)
            total += len(data)
        self.server.log(self.name, "eof", peer, echoed=total)

    def send_all(self, tls, conn, data):
        from OpenSSL import SSL

        view = memoryview(data)
        while view and not self.server.stopping.is_set():
            try:
                view = view[tls.send(view) :]
            except SSL.WantWriteError:
                select.select([], [conn], [], TICK)


def split_records(data, mtu=DTLS_MTU):
    """Datagrams of whole DTLS records, each at most `mtu` bytes (unless one record is
    longer): a memory BIO hands out a whole flight as one byte string."""
    datagrams, current, offset = [], b"", 0
    while offset + RECORD_HEADER <= len(data):
        (length,) = struct.unpack_from("!H", data, offset + 11)
        record = data[offset : offset + RECORD_HEADER + length]
        offset += RECORD_HEADER + length
        if current and len(current) + len(record) > mtu:
            datagrams.append(current)
            current = b""
        current += record
    if offset < len(data):
        current += data[offset:]
    if current:
        datagrams.append(current)
    return datagrams


def is_client_hello(datagram):
    """A plaintext (epoch 0) handshake record starting with a ClientHello."""
    return (
        len(datagram) > RECORD_HEADER
        and datagram[0] == 22
        and datagram[3:5] == b"\0\0"
        and datagram[RECORD_HEADER] == 1
    )


class DtlsSession:
    def __init__(self, context, peer):
        from OpenSSL import SSL
        from OpenSSL._util import lib

        self.peer = peer
        self.connection = SSL.Connection(context, None)
        lib.SSL_set_options(self.connection._ssl, lib.SSL_OP_NO_QUERY_MTU)
        self.connection.set_ciphertext_mtu(DTLS_MTU)
        self.connection.set_app_data(peer[:2])  # what its cookie is made of
        self.connection.set_accept_state()
        self.established = False
        self.last_seen = time.monotonic()
        self.echoed = 0


class DtlsEchoBase:
    """One UDP socket, sessions by peer address, driven from one thread."""

    psk = False

    def __init__(self, server, host, port=0):
        self.server = server
        self.sock = _bind(socket.SOCK_DGRAM, host, port)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self._callbacks = []
        self.context = openssl_context(
            True, psk=server.psk if self.psk else None, pki=server.pki, keep=self._callbacks
        )
        self.sessions = {}

    def serve(self):
        try:
            while not self.server.stopping.is_set():
                readable, _, _ = select.select([self.sock], [], [], self._wait())
                if readable:
                    self._receive()
                self._timers()
        finally:
            self.sock.close()

    def _wait(self):
        wait = TICK
        for session in self.sessions.values():
            if not session.established:
                timeout = session.connection.DTLSv1_get_timeout()
                if timeout is not None:
                    wait = min(wait, max(0.0, timeout))
        return wait

    def _receive(self):
        try:
            datagram, peer = self.sock.recvfrom(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:  # an ICMP error from an earlier send
            self.server.log(self.name, "socket_error", errno=error.errno)
            return
        session = self.sessions.get(peer)
        if session is not None and session.established and is_client_hello(datagram):
            self._forget(session, "new_handshake")  # the client started over
            session = None
        if session is None:
            if not is_client_hello(datagram):
                self.server.log(self.name, "stray_datagram", peer, len=len(datagram))
                return
            session = self.sessions[peer] = DtlsSession(self.context, peer)
            self.server.log(self.name, "client_hello", peer)
        session.last_seen = time.monotonic()
        session.connection.bio_write(datagram)
        self._drive(session)

    def _drive(self, session):
        from OpenSSL import SSL

        connection = session.connection
        try:
            if not session.established:
                try:
                    connection.do_handshake()
                    session.established = True
                    self.server.log(
                        self.name,
                        "handshake",
                        session.peer,
                        cipher=connection.get_cipher_name(),
                    )
                except SSL.WantReadError:
                    pass
            while session.established:
                try:
                    data = connection.recv(65536)
                except SSL.WantReadError:
                    break
                except SSL.ZeroReturnError:
                    # answer with our close_notify: OpenSSL drops a session from
                    # its cache (no resumption by session id) when the connection
                    # is freed without one (ssl_clear_bad_session)
                    try:
                        connection.shutdown()
                    except SSL.Error:
                        pass
                    self._flush(session)
                    self._forget(session, "close_notify")
                    return
                connection.send(data)
                session.echoed += len(data)
                self._flush(session)
        except SSL.Error as error:
            self._flush(session)  # the alert, if any
            self._forget(session, "tls_error", reason=repr(error))
            return
        self._flush(session)

    def _flush(self, session):
        from OpenSSL import SSL

        while True:
            try:
                data = session.connection.bio_read(65536)
            except SSL.WantReadError:
                return
            for datagram in split_records(data):
                try:
                    self.sock.sendto(datagram, session.peer)
                except OSError as error:
                    self.server.log(self.name, "send_error", session.peer, errno=error.errno)

    def _timers(self):
        from OpenSSL import SSL

        now = time.monotonic()
        for session in list(self.sessions.values()):
            if now - session.last_seen > DTLS_IDLE_S:
                self._forget(session, "idle")
            elif not session.established:
                try:
                    if session.connection.DTLSv1_handle_timeout():
                        self._flush(session)
                except SSL.Error as error:
                    self._forget(session, "tls_error", reason=repr(error))

    def _forget(self, session, why, **fields):
        self.sessions.pop(session.peer, None)
        self.server.log(self.name, "end", session.peer, why=why, echoed=session.echoed, **fields)


@service("dtls_echo")
class DtlsEcho(DtlsEchoBase):
    psk = False


@service("dtls_psk_echo")
class DtlsPskEcho(DtlsEchoBase):
    psk = True


SECURE_SERVICES = (
    "tls_echo",
    "tls_psk_echo",
    "tls_client_auth_echo",
    "tls_expired",
    "tls_untrusted",
    "tls_drip",
    "tls_drip_data",
    "dtls_echo",
    "dtls_psk_echo",
)
