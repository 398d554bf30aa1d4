# The platform twinsock runs on, and its TLS engine: chosen once, on first
# use, unless the application registered its own before.
_current = None
_tls_engine = None


def use_platform(platform):
    """Register `platform` (a twinsock.porting.Platform) for every later call."""
    global _current
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


def tls_engine():
    return _tls_engine or get().tls_engine()


def get():
    if _current is None:
        import twinsock_port

        use_platform(twinsock_port.load())
    return _current


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
