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
    # CCM-8 or CCM; the default list (None) starts with CCM-8
    ccm_asked = suites is None or 0xC0A8 in suites or 0xC0A4 in suites
    if (
        not (have.get("dtls") and have.get("psk"))
        or (config.use_connection_id and not have.get("connection_id"))
        or (config.session_resumption_buffer is not None and not have.get("session_resumption"))
        or (ccm_asked and not ccm)
    ) and own_engine_runs():  # else (no cryptolib / cryptography) the platform's
        from twinsock.net import load_or_enomem

        return load_or_enomem("twinsock_port.tls_psk")  # a short heap: ENOMEM
    return engine()


def own_engine_runs():
    """Whether tls_psk's primitives are here (cryptolib on MicroPython;
    on CPython tls_psk_cpython, over `cryptography`), asked without loading tls_psk."""
    try:
        if sys.implementation.name == "micropython":
            import cryptolib  # noqa: F401
        else:
            import twinsock_port.tls_psk_cpython  # noqa: F401
        return True
    except ImportError:
        return False
