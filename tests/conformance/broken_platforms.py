"""Deliberately broken platforms: the conformance suite must fail each one on
the row that covers what it gets wrong (tests/conformance/test_conformance.py)."""

import errno
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from examples.minimal_platform import MinimalPlatform  # noqa: E402


class StoredLengthPlatform(MinimalPlatform):
    """datagram_receiver returns the bytes stored, not the datagram's full
    length: twinsock cannot see truncation."""

    name = "broken-stored-length"

    def datagram_receiver(self, raw):
        full = MinimalPlatform.datagram_receiver(self, raw)

        def receive(buf):
            return min(full(buf), len(buf))

        return receive


class ImpatientWaiterPlatform(MinimalPlatform):
    """A waiter that gives up at once: every receive times out too early."""

    name = "broken-impatient-waiter"

    def waiter(self, raw, writable=False):
        wait = MinimalPlatform.waiter(self, raw, writable)
        return lambda timeout_ms: wait(0)


class RawErrorPlatform(MinimalPlatform):
    """resolve lets the raw socket.gaierror escape instead of EADDRNOTAVAIL."""

    name = "broken-raw-error"

    def resolve(self, host, port, family, kind, passive):
        import socket

        if host.endswith(".invalid"):
            raise socket.gaierror(-2, "Name or service not known")
        return MinimalPlatform.resolve(self, host, port, family, kind, passive)

    def errno_of(self, exc):
        if isinstance(exc, OSError) and exc.errno and exc.errno > 0:
            return exc.errno
        return errno.EIO
