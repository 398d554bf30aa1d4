# Drives a TLS engine the way twinsock's TLS socket does (lib/twinsock/tls.py):
# poll the backend socket, call handshake_step/dtls_handle_timeout, never block
# inside the engine. Portable: imported by the pytest tests and by the
# MicroPython scripts under tests/tls/. The configuration classes are twinsock's.
import select

from twinsock.certinfo import CertInfo  # noqa: F401 - for the scripts
from twinsock.clock import ticks_diff as _ticks_diff, ticks_ms as _ticks_ms
from twinsock.tls import PskInfo, SSLConfig  # noqa: F401 - for the scripts


class Timeout(Exception):
    pass


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
