# twinsock's own DTLS 1.2 PSK engine, in the shape of the other TLS engines
# (see docs/TLS_ENGINES.md): tls_psk_core's Dtls over a connected,
# non-blocking platform UDP socket. Runs on MicroPython (cryptolib + hashlib)
# and CPython (cryptography): it brings LwM2M's CCM-8, Connection ID and
# session resumption to stock firmware. The code is in tls_psk_core.
from twinsock_port.tls_psk_core import NAMES, Engine, features  # noqa: F401


def ciphersuites():
    """The IANA ids of the suites this engine speaks, sorted."""
    return sorted(NAMES)
