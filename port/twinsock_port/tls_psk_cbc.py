# PSK-AES128-CBC-SHA256 records for the PSK engine (tls_psk), loaded only
# when that suite is negotiated: LwM2M's CCM-8 sessions never hold this code.
# AES-CBC is the platform's: cryptolib on MicroPython, `cryptography` on CPython.
import sys

from twinsock_port.tls_psk import equal, hmac, prf, random

if sys.implementation.name != "micropython":
    from twinsock_port.tls_psk_cpython import cbc_decrypt, cbc_encrypt
else:
    from cryptolib import aes as _aes

    def cbc_encrypt(key, iv, data):
        return _aes(bytes(key), 2, bytes(iv)).encrypt(data)  # 2: MODE_CBC

    def cbc_decrypt(key, iv, data):
        return _aes(bytes(key), 2, bytes(iv)).decrypt(data)


def keys(master, sr, cr):
    """(client keys, server keys): each (AES key, MAC key)."""
    kb = prf(master, b"key expansion" + sr + cr, 96)
    return (kb[64:80], kb[:32]), (kb[80:96], kb[32:64])


def encrypt(k, data, aad):
    """The record body: IV, then data + MAC + padding encrypted."""
    data = data + hmac(k[1], aad + data)
    pad = 15 - len(data) % 16
    iv = random(16)
    return iv + cbc_encrypt(k[0], iv, data + bytes((pad,)) * (pad + 1))


def decrypt(k, body, dtls, kind, es, cid):
    """The plaintext of a record body, or None (the rest: dtls._aad's)."""
    if len(body) < 64 or len(body) % 16:
        return None
    p = cbc_decrypt(k[0], body[:16], body[16:])
    n = len(p)
    pad = p[-1]
    good = pad + 33 <= n
    if not good:
        pad = 0
    # padding and MAC both checked, no early exit between them
    good &= equal(p[n - pad - 1 :], bytes((pad,)) * (pad + 1))
    data = p[: n - pad - 33]
    good &= equal(
        hmac(k[1], dtls._aad(kind, es, cid, len(data)) + data), p[n - pad - 33 : n - pad - 1]
    )
    return data if good else None
