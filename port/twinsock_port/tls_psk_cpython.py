# AES-CCM and AES-CBC for the PSK engine on CPython, from `cryptography`
# (tls_psk has the MicroPython ones, over cryptolib): a module of its
# own so that a board never loads this code.
from cryptography.exceptions import InvalidTag as _InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher as _Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM as _AESCCM


class Ccm:
    """AES-CCM with a `tag`-byte tag: encrypt/decrypt(nonce, data, aad)."""

    def __init__(self, key, tag):
        self._ccm = _AESCCM(bytes(key), tag)

    def encrypt(self, nonce, data, aad):
        return self._ccm.encrypt(bytes(nonce), bytes(data), bytes(aad))

    def decrypt(self, nonce, data, aad):
        """The plaintext, or None when the tag does not match."""
        try:
            return self._ccm.decrypt(bytes(nonce), bytes(data), bytes(aad))
        except _InvalidTag:
            return None


def cbc_encrypt(key, iv, data):
    e = _Cipher(algorithms.AES(bytes(key)), modes.CBC(bytes(iv))).encryptor()
    return e.update(bytes(data)) + e.finalize()


def cbc_decrypt(key, iv, data):
    d = _Cipher(algorithms.AES(bytes(key)), modes.CBC(bytes(iv))).decryptor()
    return d.update(bytes(data)) + d.finalize()
