# Which engine a DTLS-PSK socket runs on when the application registered none
# (docs/TLS_ENGINES.md, "twinsock's own DTLS-PSK engine"): twinsock's own
# (tls_psk) where the platform's engine cannot give what the SSLConfig asks
# for: DTLS with PSK at all, a CCM suite (LwM2M's default CCM-8), a Connection
# ID or session resumption. On MicroPython the answer comes from the `tls`
# module itself, so a socket that gets tls_psk never loads the mbedTLS engine.
import sys

_mbedtls = None  # MicroPython: (has DTLS with PSK, has a CCM suite), asked once


def choose(config, engine):
    """The engine module for a DTLS-PSK socket: tls_psk when the platform's
    engine lacks what `config` asks for and this platform can run tls_psk,
    else engine() (the platform's, which imports it)."""
    global _mbedtls
    if sys.implementation.name == "micropython":
        if _mbedtls is None:
            try:
                import tls

                ctx = tls.SSLContext(tls.PROTOCOL_DTLS_CLIENT)
                psk = hasattr(ctx, "psk_identity")
                _mbedtls = (psk, "CCM" in " ".join(ctx.get_ciphers()))
            except (ImportError, AttributeError, OSError, ValueError):
                _mbedtls = (False, False)
        psk, ccm = _mbedtls
        have = {"dtls": psk, "psk": psk}  # mbedTLS's engine: no CID, no resumption
    else:
        platform = engine()
        have = platform.features() if platform is not None else {}
        ccm = True  # OpenSSL has the CCM suites
    suites = config.ciphersuites
    ccm_asked = suites is None  # the default list starts with CCM-8
    for s in suites or ():
        ccm_asked |= s in (0xC0A8, 0xC0A4)
    if (
        not (have.get("dtls") and have.get("psk"))
        or (config.use_connection_id and not have.get("connection_id"))
        or (config.session_resumption_buffer is not None and not have.get("session_resumption"))
        or (ccm_asked and not ccm)
    ):
        try:
            from twinsock_port import tls_psk

            return tls_psk
        except ImportError:  # no cryptolib / cryptography: keep the platform's
            pass
    return engine()


def ciphersuites(suites):
    """`suites` (the platform engine's ids) with the suites tls_psk brings
    to DTLS with PSK, where it can run here; sorted."""
    try:
        from twinsock_port import tls_psk
    except ImportError:  # no cryptolib / cryptography
        return suites
    return sorted(set(suites) | set(tls_psk.ciphersuites()))
