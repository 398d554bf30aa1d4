# The primitives of the PSK DTLS engine: AES-CCM, HMAC-SHA256 and the TLS 1.2
# PRF (AES-CBC: tls_psk_cbc). The ciphers and the hash are the platform's:
# `cryptography` on CPython (tls_psk_cpython); `cryptolib.aes` (ECB/CBC) and
# `hashlib.sha256` on MicroPython, where CCM (RFC 3610) is only the mode's
# protocol around the firmware's AES: its CBC-MAC is one CBC pass, its counter
# stream one ECB pass.
import hashlib
import os
import sys


def random(n):
    """n bytes from the platform's CSPRNG; ENOTSUP where there is none."""
    try:
        return os.urandom(n)
    except (AttributeError, NotImplementedError, OSError):
        from twinsock_port.tls_psk_alert import error

        raise error("urandom")


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


def hmac(key, data):
    """HMAC-SHA256 (RFC 2104; MicroPython has no hmac)."""
    if len(key) > 64:
        key = sha256(key)
    key = bytes(key) + bytes(64 - len(key))
    h = hashlib.sha256(xor(key, b"\x36" * 64))
    h.update(data)
    return sha256(xor(key, b"\x5c" * 64) + h.digest())


def prf(secret, label, seed, n):
    """The TLS 1.2 PRF, P_SHA256 (RFC 5246 5)."""
    seed = label + seed
    a = seed
    out = b""
    while len(out) < n:
        a = hmac(secret, a)
        out += hmac(secret, a + seed)
    return out[:n]


def sha256(data):
    return hashlib.sha256(data).digest()


if sys.implementation.name != "micropython":
    from twinsock_port.tls_psk_cpython import Ccm  # noqa: F401
else:
    from cryptolib import aes as _aes

    class Ccm:
        """AES-CCM (RFC 3610) with a `tag`-byte tag over the firmware's AES
        block cipher: encrypt/decrypt(nonce, data, aad)."""

        def __init__(self, key, tag):
            self._key = bytes(key)
            self._tag = tag
            self._ecb = _aes(self._key, 1)  # 1: MODE_ECB

        def decrypt(self, nonce, data, aad):
            """The plaintext, or None when the tag does not match."""
            n = len(data) - self._tag
            if n < 0:
                return None
            return self.encrypt(nonce, memoryview(data)[:n], aad, memoryview(data)[n:])

        def encrypt(self, nonce, data, aad, tag=None):
            """Ciphertext + tag; given the `tag` of ciphertext `data` (decrypt()),
            the plaintext, or None when it does not match."""
            size = 15 - len(nonce)  # L: bytes of the length field
            n = len(data)
            # counter blocks A_0 .. A_k encrypted: S_0 then the key stream
            blocks = (n + 15) // 16 + 1
            a = bytearray(16 * blocks)
            for i in range(blocks):
                at = 16 * i
                a[at] = size - 1
                a[at + 1 : at + 16 - size] = nonce
                a[at + 16 - size : at + 16] = i.to_bytes(size, "big")
            s = self._ecb.encrypt(a)
            out = xor(data, memoryview(s)[16:])
            # the CBC-MAC, over the plaintext
            flags = (64 if aad else 0) | ((self._tag - 2) // 2) << 3 | (size - 1)
            b = bytearray(b"%c" % flags)
            b += nonce
            b += n.to_bytes(size, "big")
            if aad:  # every TLS aad is shorter than 0xFF00
                b += len(aad).to_bytes(2, "big")
                b += aad
                b += bytes(-len(b) % 16)
            b += data if tag is None else out
            b += bytes(-len(b) % 16)
            mac = _aes(self._key, 2, bytes(16)).encrypt(b)[-16:]  # 2: MODE_CBC
            mac = xor(mac[: self._tag], s)
            if tag is None:
                return out + mac
            return out if equal(mac, tag) else None
