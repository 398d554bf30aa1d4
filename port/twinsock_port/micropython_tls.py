# What a (D)TLS socket asks of the MicroPython shim: the TLS engine, waits
# on the platform socket during a handshake, TCP_NODELAY (tls_missing, asked
# only when there is no engine, is in micropython_extras.py). Apart from
# micropython_extras.py, so a secure client does not load the server side.
# install() puts these on MicroPythonPlatform the first time one is asked for.
from twinsock_port.micropython import select, socket

NAMES = ("tls_engine", "no_delay", "waiter")


def install(cls):
    g = globals()
    for name in NAMES:
        setattr(cls, name, g[name])


def tls_engine(self):
    try:
        from twinsock_port import tls_mbedtls
    except ImportError:  # firmware without the tls module
        return None
    return tls_mbedtls


def no_delay(self, raw):
    # Nagle against delayed ACKs costs a TLS handshake ~45 ms. esp32 (v1.23+) and
    # lwIP ports name the option; the unix port does not (IPPROTO_TCP 6, TCP_NODELAY 1).
    try:
        raw.setsockopt(getattr(socket, "IPPROTO_TCP", 6), getattr(socket, "TCP_NODELAY", 1), 1)
    except OSError:
        pass  # lwIP builds without the option: only slower


def waiter(self, raw, writable=False):
    poller = select.poll()
    poller.register(raw, select.POLLOUT if writable else select.POLLIN)
    ipoll = poller.ipoll  # ipoll allocates nothing per call

    def wait(timeout_ms):
        for _ in ipoll(-1 if timeout_ms is None else timeout_ms):
            return True
        return False

    return wait
