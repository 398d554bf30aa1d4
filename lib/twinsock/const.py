# avs_net's defaults. The public constants (AF_*, STATE_*, OPT_*, TLS*) have
# their one home in twinsock/__init__.py; this module serves them too, for
# code that imports them from here.
DEFAULT_RECV_TIMEOUT_MS = 30000
CONNECT_TIMEOUT_MS = 10000
SEND_TIMEOUT_MS = 30000
# (the fallback MTUs and header sizes: twinsock/backend.py, their one user)


def __getattr__(name):
    # Read from twinsock's table without caching there: `from twinsock.const
    # import OPT_...` (twinsock.tls takes twenty) would grow that module's dict.
    if name[:2] == "__":  # CPython's import machinery asks for __path__ and more
        raise AttributeError(name)
    from twinsock import _CONSTANTS

    at = _CONSTANTS.find(" " + name + "=")
    if at < 0:
        import twinsock

        return getattr(twinsock, name)
    at += len(name) + 2
    return int(_CONSTANTS[at : _CONSTANTS.index(" ", at)])
