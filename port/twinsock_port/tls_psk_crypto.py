# The primitives of the PSK DTLS engine: AES-CCM, HMAC-SHA256 and the TLS 1.2
# PRF (AES-CBC: tls_psk_cbc). The ciphers and the hash are the platform's: `cryptography`
# on CPython (tls_psk_cpython); `cryptolib.aes` (ECB/CBC) and `hashlib.sha256`
# on MicroPython, where CCM (RFC 3610) is only the mode's protocol around the
# firmware's AES: its CBC-MAC is one CBC pass, its counter stream one ECB pass.
import hashlib
import os
import sys

from twinsock.errors import unsupported

_ECB = 1
_CBC = 2


def random(n):
    """n bytes from the platform's CSPRNG; ENOTSUP where there is none."""
    try:
        return os.urandom(n)
    except (AttributeError, NotImplementedError, OSError):
        raise unsupported("DTLS needs os.urandom (a CSPRNG); this platform has none")


def equal(a, b):
    """a == b in time that depends only on the length (for tags and MACs)."""
    if len(a) != len(b):
        return False
    diff = 0
    for x, y in zip(a, b):
        diff |= x ^ y
    return diff == 0


def xor(a, b):
    """a XOR the first len(a) bytes of b, in one big-int step (no byte loop)."""
    n = len(a)
    if not n:
        return b""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b[:n], "big")).to_bytes(n, "big")


class Hmac:
    """HMAC-SHA256 with a fixed key (RFC 2104; MicroPython has no hmac)."""

    def __init__(self, key):
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = bytes(key) + bytes(64 - len(key))
        self._inner = xor(key, b"\x36" * 64)
        self._outer = xor(key, b"\x5c" * 64)

    def __repr__(self):
        return "<Hmac>"

    def digest(self, data):
        h = hashlib.sha256(self._inner)
        h.update(data)
        return hashlib.sha256(self._outer + h.digest()).digest()


def prf(secret, label, seed, n):
    """The TLS 1.2 PRF, P_SHA256 (RFC 5246 5)."""
    mac = Hmac(secret)
    seed = label + seed
    a = seed
    out = b""
    while len(out) < n:
        a = mac.digest(a)
        out += mac.digest(a + seed)
    return out[:n]


def sha256(data):
    return hashlib.sha256(data).digest()


if sys.implementation.name != "micropython":
    from twinsock_port.tls_psk_cpython import Ccm  # noqa: F401
else:
    from cryptolib import aes as _aes

    class Ccm:
        """AES-CCM (RFC 3610) over the firmware's AES block cipher."""

        def __init__(self, key, tag):
            self._key = bytes(key)
            self._tag = tag
            self._ecb = _aes(self._key, _ECB)

        def __repr__(self):
            return "<Ccm>"

        def _cbc_mac(self, nonce, data, aad):
            size = 15 - len(nonce)  # L: bytes of the length field
            flags = (64 if aad else 0) | ((self._tag - 2) // 2) << 3 | (size - 1)
            b = bytearray(b"%c" % flags)
            b += nonce
            b += len(data).to_bytes(size, "big")
            if aad:  # every TLS aad is shorter than 0xFF00
                b += len(aad).to_bytes(2, "big")
                b += aad
                b += bytes(-len(b) % 16)
            b += data
            b += bytes(-len(b) % 16)
            return _aes(self._key, _CBC, bytes(16)).encrypt(b)[-16:]

        def _stream(self, nonce, n):
            """Counter blocks A_0 .. A_k encrypted: S_0 then the key stream."""
            size = 15 - len(nonce)
            blocks = (n + 15) // 16 + 1
            a = bytearray(16 * blocks)
            for i in range(blocks):
                at = 16 * i
                a[at] = size - 1
                a[at + 1 : at + 16 - size] = nonce
                a[at + 16 - size : at + 16] = i.to_bytes(size, "big")
            return self._ecb.encrypt(a)

        def seal(self, nonce, data, aad):
            s = self._stream(nonce, len(data))
            tag = xor(self._cbc_mac(nonce, data, aad)[: self._tag], s)
            return xor(data, memoryview(s)[16:]) + tag

        def open(self, nonce, data, aad):
            n = len(data) - self._tag
            if n < 0:
                return None
            s = self._stream(nonce, n)
            plain = xor(memoryview(data)[:n], memoryview(s)[16:])
            tag = xor(self._cbc_mac(nonce, plain, aad)[: self._tag], s)
            if not equal(tag, memoryview(data)[n:]):
                return None
            return plain
