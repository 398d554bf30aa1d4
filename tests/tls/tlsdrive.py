# Drives a TLS engine the way the lead's TLS socket will: poll the backend
# socket, call handshake_step/dtls_handle_timeout, never block inside the
# engine. Portable: imported by the pytest tests and by the MicroPython
# scripts under tests/tls/.
import select
import time

try:
    _ticks_ms = time.ticks_ms
    _ticks_diff = time.ticks_diff
except AttributeError:

    def _ticks_ms():
        return int(time.monotonic() * 1000)

    def _ticks_diff(a, b):
        return a - b


class Timeout(Exception):
    pass


class PskInfo:
    def __init__(self, identity, key):
        self.identity = identity
        self.key = key


class CertInfo:
    def __init__(
        self,
        trusted_certs=(),
        client_cert=None,
        client_key=None,
        server_cert_validation=True,
        crls=(),
    ):
        self.trusted_certs = trusted_certs
        self.client_cert = client_cert
        self.client_key = client_key
        self.server_cert_validation = server_cert_validation
        self.crls = crls


class SSLConfig:
    """Stand-in with the API.md fields until lib/twinsock has SSLConfig."""

    def __init__(
        self,
        security,
        version=0,
        server_name_indication=None,
        session_resumption_buffer=None,
        dtls_handshake_timeouts=(1000, 60000),
        ciphersuites=None,
        use_connection_id=False,
        backend_configuration=None,
    ):
        self.security = security
        self.version = version
        self.server_name_indication = server_name_indication
        self.session_resumption_buffer = session_resumption_buffer
        self.dtls_handshake_timeouts = dtls_handshake_timeouts
        self.ciphersuites = ciphersuites
        self.use_connection_id = use_connection_id
        self.backend_configuration = backend_configuration


def _wait(sock, events, timeout_ms):
    poller = select.poll()
    poller.register(sock, events)
    return poller.poll(timeout_ms)


def handshake(engine, sock, timeout_ms=10000):
    """Run the handshake to completion; Timeout after timeout_ms."""
    start = _ticks_ms()
    while True:
        want = engine.handshake_step()
        if want is None:
            return _ticks_diff(_ticks_ms(), start)
        left = timeout_ms - _ticks_diff(_ticks_ms(), start)
        if left <= 0:
            raise Timeout("handshake still running after %d ms" % timeout_ms)
        wait = left
        timer = engine.dtls_timeout_ms()
        if timer is not None and timer < wait:
            wait = timer
        events = select.POLLIN if want == "read" else select.POLLOUT
        if not _wait(sock, events, wait):
            engine.dtls_handle_timeout()


def receive(engine, sock, buf, timeout_ms=5000):
    """One recv_into, waiting up to timeout_ms for the socket."""
    start = _ticks_ms()
    while True:
        n = engine.recv_into(buf)
        if n is not None:
            return n
        left = timeout_ms - _ticks_diff(_ticks_ms(), start)
        if left <= 0:
            raise Timeout("nothing received in %d ms" % timeout_ms)
        _wait(sock, select.POLLIN, left)


def send_all(engine, sock, data, timeout_ms=5000):
    start = _ticks_ms()
    view = memoryview(data)
    while len(view):
        n = engine.send(view)
        if n is None:
            if _ticks_diff(_ticks_ms(), start) > timeout_ms:
                raise Timeout("send blocked for %d ms" % timeout_ms)
            _wait(sock, select.POLLOUT, 100)
            continue
        view = view[n:]
