# Registering a platform or a TLS engine of one's own, and finding the TLS
# engine. Loaded on first use; the platform in use lives in twinsock.net.
from twinsock import net
from twinsock.errors import invalid
from twinsock.net import fail, get, load_or_enomem

__all__ = (
    "use_platform",
    "use_tls_engine",
    "tls_engine",
    "cleanup",
    "initialize",
    "get",
    "fail",
    "load_or_enomem",
)

_tls_engine = None  # registered with use_tls_engine()
_platform_engine = None  # the platform's own, once loaded (False: it has none)


def use_platform(platform):
    """Register `platform` (a twinsock.porting.Platform, or a built-in one from
    twinsock_port.load()) for every later call."""
    global _platform_engine
    from twinsock.porting import check

    missing = check(platform)
    if missing:
        name = getattr(platform, "name", None)
        if name is None:
            raise invalid("use_platform: %r is not a twinsock.porting.Platform" % (platform,))
        raise invalid("use_platform: platform %s lacks %s()" % (name, "(), ".join(missing)))
    current = net._current
    if current is not None and current is not platform:
        current.cleanup()
    _platform_engine = None
    net.use(platform)


def use_tls_engine(engine):
    """Register a TLS engine module (see docs/PORTING.md) in place of the
    platform's own; None goes back to the platform's."""
    global _tls_engine
    if engine is not None and not (
        callable(getattr(engine, "features", None)) and hasattr(engine, "Engine")
    ):
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
        _platform_engine = load_or_enomem("the TLS engine", get().tls_engine) or False
    return _platform_engine or None


def initialize():
    get()


def cleanup():
    current = net._current
    if current is not None:
        current.cleanup()
        current.initialize()  # stays usable: the next call finds it ready
