# Helpers for the on-board checks; the harness copies this file to the board as
# /lib/hilcheck.py next to /lib/hil_env.py (the run's server, ports, certificates).
# Runs on MicroPython (and CPython). A check fails by raising; it skips by printing
# `RESULT skip <why>` as its last line (see tools/hil/checks.py).
import time

import twinsock


def missing(*names):
    """The features among `names` that twinsock.features() says the board lacks."""
    have = twinsock.features()
    return [name for name in names if not have.get(name)]


def skip(why):
    print("RESULT skip " + why)


def ensure(condition, what):
    if not condition:
        raise AssertionError(what)


def ticks_ms():
    return time.ticks_ms() if hasattr(time, "ticks_ms") else int(time.monotonic() * 1000)


def elapsed_ms(start):
    now = ticks_ms()
    return time.ticks_diff(now, start) if hasattr(time, "ticks_diff") else now - start


def raises(errno, call, *args):
    """The NetError `call(*args)` raises; fails the check unless its errno is `errno`
    (or one of `errno` when a tuple)."""
    wanted = errno if isinstance(errno, tuple) else (errno,)
    try:
        call(*args)
    except twinsock.NetError as error:
        ensure(error.errno in wanted, "errno %r, wanted %r: %s" % (error.errno, wanted, error))
        return error
    raise AssertionError("no error from %r, wanted errno %r" % (call, wanted))


_BLOCK = bytes(i % 251 for i in range(251 * 18))  # 4518 bytes: any 4 KB window of the pattern


def pattern_at(offset, n):
    """n bytes of the server's pattern (byte i is i % 251) from stream offset `offset`."""
    start = offset % 251
    ensure(start + n <= len(_BLOCK), "pattern window too long: %d" % n)
    return _BLOCK[start : start + n]


def report(key, value):
    """A machine-readable line for the transcript and junit system-out."""
    print("HIL %s %s" % (key, value))
