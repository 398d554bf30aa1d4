# Registering a TLS engine of one's own, and finding the TLS engine. Loaded on
# first use; the platform in use lives in twinsock.net, use_platform() in
# twinsock.porting (served from here too), as a TLS socket never needs it.
from twinsock import net
from twinsock.errors import invalid
from twinsock.net import fail, get, load_or_enomem  # noqa: F401 - served from here too

_tls_engine = None  # registered with use_tls_engine()
_platform_engine = None  # the platform's own, once loaded (False: it has none)


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


def __getattr__(name):
    if name == "use_platform":
        from twinsock.porting import use_platform

        return use_platform
    raise AttributeError(name)
