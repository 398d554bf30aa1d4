# Which engine a DTLS-PSK socket runs on when the application registered none
# (docs/TLS_ENGINES.md, "twinsock's own DTLS-PSK engine"): twinsock's own
# (tls_psk) where the platform's engine cannot give what the SSLConfig asks
# for: DTLS with PSK at all, a CCM suite (LwM2M's default CCM-8), a Connection
# ID or session resumption. On MicroPython the answer comes from the `tls`
# module itself, so a socket that gets tls_psk never loads the mbedTLS engine.
import sys

_CCM_SUITES = (0xC0A8, 0xC0A4)
_mbedtls = None  # MicroPython: (has DTLS with PSK, has a CCM suite), asked once


def _mbedtls_facts():
    global _mbedtls
    if _mbedtls is None:
        try:
            import tls

            ctx = tls.SSLContext(tls.PROTOCOL_DTLS_CLIENT)
            psk = hasattr(ctx, "psk_identity")
            _mbedtls = (psk, any("CCM" in name for name in ctx.get_ciphers()))
        except (ImportError, AttributeError, OSError, ValueError):
            _mbedtls = (False, False)
    return _mbedtls


def wanted(config, have, ccm):
    """True when a DTLS-PSK socket with `config` should run on tls_psk, given
    the platform engine's features `have` and whether it has CCM suites."""
    if not (have.get("dtls") and have.get("psk")):
        return True
    if config.use_connection_id and not have.get("connection_id"):
        return True
    if config.session_resumption_buffer is not None and not have.get("session_resumption"):
        return True
    suites = config.ciphersuites
    return not ccm and (suites is None or any(s in _CCM_SUITES for s in suites))


def choose(config, platform_engine):
    """The engine module for a DTLS-PSK socket: tls_psk when wanted() and this
    platform can run it, else platform_engine() (which imports it)."""
    if sys.implementation.name == "micropython":
        psk, ccm = _mbedtls_facts()
        have = {"dtls": psk, "psk": psk}  # mbedTLS's engine: no CID, no resumption
    else:
        engine = platform_engine()
        have = engine.features() if engine is not None else {}
        ccm = True  # OpenSSL has the CCM suites
    if wanted(config, have, ccm):
        try:
            from twinsock_port import tls_psk

            return tls_psk
        except ImportError:  # no cryptolib / cryptography: keep the platform's
            pass
    return platform_engine()


def ciphersuites(have):
    """`have` (the platform engine's suite ids) with the suites tls_psk brings
    to DTLS with PSK, where it can run here; sorted."""
    try:
        from twinsock_port import tls_psk
    except ImportError:  # no cryptolib / cryptography
        return have
    return sorted(set(have) | set(tls_psk.ciphersuites()))
