# The platform twinsock runs on, and its TLS engine: chosen once, on first
# use, unless the application registered its own before.
_current = None
_tls_engine = None  # registered with use_tls_engine()
_platform_engine = None  # the platform's own, once loaded (False: it has none)


def use_platform(platform):
    """Register `platform` (a twinsock.porting.Platform) for every later call."""
    global _current, _platform_engine
    from twinsock.errors import invalid
    from twinsock.porting import Platform, check

    if not isinstance(platform, Platform):
        raise invalid("use_platform: %r is not a twinsock.porting.Platform" % (platform,))
    missing = check(platform)
    if missing:
        raise invalid(
            "use_platform: platform %s lacks %s()" % (platform.name, "(), ".join(missing))
        )
    if _current is not None and _current is not platform:
        _current.cleanup()
    _current = platform
    _platform_engine = None
    platform.initialize()


def use_tls_engine(engine):
    """Register a TLS engine module (see docs/PORTING.md) in place of the
    platform's own; None goes back to the platform's."""
    global _tls_engine
    if engine is not None and not (
        callable(getattr(engine, "features", None)) and hasattr(engine, "Engine")
    ):
        from twinsock.errors import invalid

        raise invalid("use_tls_engine: %r has no features() and Engine" % (engine,))
    _tls_engine = engine


def tls_engine_registered():
    """True when the application chose the engine with use_tls_engine()."""
    return _tls_engine is not None


def tls_engine():
    global _platform_engine
    if _tls_engine is not None:
        return _tls_engine
    if _platform_engine is None:  # the first call imports it
        _platform_engine = load_or_enomem(get().tls_engine, "the TLS engine") or False
    return _platform_engine or None


def load_or_enomem(load, what):
    """`load()` (an import on first use); a heap too small for the code is
    NetError(ENOMEM), and what the failed import left behind is dropped."""
    import sys

    before = set(sys.modules)
    try:
        return load()
    except MemoryError:
        for name in set(sys.modules) - before:
            del sys.modules[name]
        import gc

        gc.collect()
        from twinsock.errors import ENOMEM, NetError

        free = getattr(gc, "mem_free", lambda: -1024)()
        raise NetError(ENOMEM, "loading %s: out of memory (%d KB free)" % (what, free // 1024))


def get():
    if _current is None:
        use_platform(load_or_enomem(_load_port, "the platform layer"))
    return _current


def _load_port():
    import twinsock_port

    return twinsock_port.load()


def initialize():
    get()


def cleanup():
    if _current is not None:
        _current.cleanup()
        _current.initialize()  # stays usable: the next call finds it ready


def fail(exc, what):
    """`exc` from the platform as a NetError whose message says what failed."""
    from twinsock.errors import ENOTSUP, NetError, describe

    if isinstance(exc, NetError):
        return exc
    if isinstance(exc, AttributeError):  # a platform socket without that method
        return NetError(ENOTSUP, "%s: not supported on platform %s (%s)" % (what, get().name, exc))
    code = get().errno_of(exc)
    return NetError(code, "%s: %s" % (what, describe(code, exc)))
