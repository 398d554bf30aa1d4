# The platform twinsock runs on: chosen once, on first use, unless the
# application registered its own with use_platform() before.
_current = None


def use_platform(platform):
    """Register `platform` (a twinsock_port-style object) for every later call."""
    global _current
    for method in ("resolve", "socket", "connect", "waiter", "errno_of", "initialize"):
        if not callable(getattr(platform, method, None)):
            from twinsock.errors import invalid

            raise invalid(
                "use_platform: %r has no %s() method; see twinsock_port" % (platform, method)
            )
    if _current is not None and _current is not platform:
        _current.cleanup()
    _current = platform
    platform.initialize()


def get():
    if _current is None:
        import twinsock_port

        use_platform(twinsock_port.load())
    return _current


def initialize():
    get()


def cleanup():
    global _current
    if _current is not None:
        _current.cleanup()
        _current.initialize()  # stays usable: the next call finds it ready


def fail(exc, what):
    """`exc` from the platform as a NetError whose message says what failed."""
    from twinsock.errors import NetError, describe

    if isinstance(exc, NetError):
        return exc
    code = get().errno_of(exc)
    return NetError(code, "%s: %s" % (what, describe(code, exc)))
