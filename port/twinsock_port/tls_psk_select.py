# Which engine a DTLS-PSK socket runs on when the application registered none
# (docs/TLS_ENGINES.md, "twinsock's own DTLS-PSK engine"): twinsock's own
# (tls_psk) where the platform's engine cannot give what the SSLConfig asks
# for: DTLS with PSK at all, a CCM suite (LwM2M's default CCM-8), a Connection
# ID or session resumption. Kept apart from the engine so that choosing costs
# a board only this module.

_CCM_SUITES = (0xC0A8, 0xC0A4)
_lacks_ccm = {}  # engine module -> bool, asked once


def _no_ccm(engine):
    """True when `engine` is MicroPython's mbedTLS one and its `tls` module has
    no CCM suite (rp2 and unix builds do not)."""
    if engine not in _lacks_ccm:
        lib = getattr(engine, "_tls", None)
        lacks = False
        if lib is not None:
            try:
                names = lib.SSLContext(lib.PROTOCOL_DTLS_CLIENT).get_ciphers()
                lacks = not any("CCM" in name for name in names)
            except (AttributeError, OSError, ValueError):
                lacks = True
        _lacks_ccm[engine] = lacks
    return _lacks_ccm[engine]


def wanted(config, engine):
    """True when a DTLS-PSK socket with `config` should run on tls_psk rather
    than on the platform's `engine` (None: the platform has none)."""
    have = engine.features() if engine is not None else {}
    if not (have.get("dtls") and have.get("psk")):
        return True
    if config.use_connection_id and not have.get("connection_id"):
        return True
    if config.session_resumption_buffer is not None and not have.get("session_resumption"):
        return True
    suites = config.ciphersuites
    asks_ccm = suites is None or any(s in _CCM_SUITES for s in suites)
    return asks_ccm and _no_ccm(engine)


def choose(config, engine):
    """The engine module for a DTLS-PSK socket: tls_psk when wanted() and
    this platform can run it (AES and SHA-256 from the firmware), else `engine`."""
    if not wanted(config, engine):
        return engine
    try:
        from twinsock_port import tls_psk
    except ImportError:  # no cryptolib / cryptography: keep the platform's
        return engine
    return tls_psk
