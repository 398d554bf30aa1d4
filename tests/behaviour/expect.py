# Shared helpers of the behavioural suite. Runs on CPython and MicroPython alike:
# no pytest, no typing, only modules MicroPython has.

from twinsock.clock import ticks_diff as _ticks_diff, ticks_ms as _ticks_ms

# How long a test waits for a reply the peer should send at once.
REPLY_TIMEOUT_MS = 5000


class Skip(Exception):
    """Raised to skip a test; understood by tests/conftest.py and tests/mpy_runner.py."""


def skip(reason):
    raise Skip(reason)


def require(feature):
    """Skip unless twinsock.features() says the running platform has `feature`."""
    import twinsock

    if not twinsock.features().get(feature):
        raise Skip("platform lacks feature %r" % feature)


def now_ms():
    return _ticks_ms()


def elapsed_ms(start):
    return _ticks_diff(_ticks_ms(), start)


def raises(code, fn, *args, **kwargs):
    """Call fn; it must raise twinsock.NetError with errno `code` (or one of the codes
    when a tuple is given). Returns the exception."""
    import twinsock

    codes = code if isinstance(code, tuple) else (code,)
    try:
        fn(*args, **kwargs)
    except twinsock.NetError as e:
        if e.errno not in codes:
            raise AssertionError("expected errno %r, got %r (%s)" % (codes, e.errno, e))
        return e
    except Exception as e:  # the failure this helper exists to report
        raise AssertionError("expected NetError %r, got %s: %s" % (codes, type(e).__name__, e))
    raise AssertionError("expected NetError %r, nothing was raised" % (codes,))


def receive_exactly(s, n):
    """Exactly n bytes from a stream socket, across as many receives as it takes."""
    data = b""
    while len(data) < n:
        chunk = s.receive(n - len(data))
        assert chunk != b"", "EOF after %d of %d bytes" % (len(data), n)
        data += chunk
    return data


def pattern(n):
    """The host server's SEND n content: byte i is i % 251."""
    out = bytearray(n)
    block = bytes(range(251))
    for start in range(0, n, 251):
        out[start : start + 251] = block[: n - start]
    return bytes(out)


class Peer:
    """The host server as the tests see it: `host`/`host6` and the service ports."""

    def __init__(self, description, runtime="cpython"):
        self.description = description
        self.runtime = runtime
        hosts = description["hosts"]
        self.host = "127.0.0.1"
        self.host6 = "::1" if "::1" in hosts else None
        self._ports = hosts[self.host]
        self._ports6 = hosts.get("::1") or {}
        # hosts-file names set up for this run (only inside a private mount namespace)
        self.names = description.get("names") or {}

    def port(self, service):
        return self._ports[service]

    def port6(self, service):
        return self._ports6[service]

    # -- the secure services (tools/hostserver/secure.py), for the TLS/DTLS tests --

    def pki(self, name, suffix=".pem"):
        """Bytes of this run's certificate or key `name` ("ca", "other_ca", "server",
        "client", "client_key", ...; see tools/hostserver/pki.py), read from the
        directory the description names: certificates travel as files, not in the
        job file or on a command line."""
        directory = self.description.get("pki")
        if not directory:
            raise AssertionError("the host server runs without --secure: no PKI")
        with open(directory + "/" + name + suffix, "rb") as f:
            return f.read()

    def psk(self):
        """(identity, key) of the secure services, both bytes."""
        import binascii

        psk = self.description.get("psk")
        if not psk:
            raise AssertionError("the host server runs without --secure: no PSK")
        return psk["identity"].encode(), binascii.unhexlify(psk["key"])

    def __repr__(self):
        return "Peer(%s, %r)" % (self.runtime, self.description)
