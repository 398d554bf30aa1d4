"""What API.md says each bad argument must give, as predicates the
property-based tests (CPython) check every outcome against."""

import array

import twinsock
from mp_common import DOCUMENTED, attempt

TIMEOUT_MAX = 2**31 - 1  # poll()'s int milliseconds; a timeout above cannot be waited for


class Outcome:
    """What a call did: `.ok`, or `.errno`/`.message`/`.kind`, or `.raw` (a
    non-NetError exception, always a failure)."""

    def __init__(self, call, *args, **kwargs):
        out = attempt(lambda: call(*args, **kwargs))
        self.ok = out[0] == "ok"
        self.value = out[1] if self.ok else None
        self.errno = out[1] if out[0] == "net" else None
        self.message = out[2] if out[0] == "net" else None
        self.raw = "%s: %s" % (out[1], out[2]) if out[0] == "raw" else None

    def __repr__(self):
        if self.raw:
            return "<raw %s>" % self.raw
        if self.ok:
            return "<ok %r>" % (self.value,)
        return "<NetError %s %r>" % (self.errno, self.message)


def names(message, words):
    low = message.lower()
    return any(w.lower() in low for w in words)


def check(outcome, allowed=None, words=(), may_succeed=False):
    """Assert `outcome` is a documented NetError (errno in `allowed` when
    given; an argument error naming one of `words`), or a success when
    `may_succeed`."""
    assert outcome.raw is None, "a non-NetError escaped: %s" % outcome.raw
    if outcome.ok:
        assert may_succeed, "accepted a bad argument: returned %r" % (outcome.value,)
        return
    assert outcome.errno in DOCUMENTED, "undocumented errno: %r" % outcome
    if allowed is not None:
        assert outcome.errno in allowed, "errno %d not in %r: %r" % (
            outcome.errno,
            allowed,
            outcome,
        )
    if words and outcome.errno in (twinsock.EINVAL, twinsock.ERANGE):
        assert names(outcome.message, words), "message does not name %s: %r" % (
            "/".join(words),
            outcome.message,
        )


# -- what counts as a valid argument ---------------------------------------------------


def is_int(value):
    return type(value) is int


def valid_port(port):
    if type(port) is str:
        return 0 < len(port) <= 5 and all("0" <= c <= "9" for c in port) and int(port) <= 65535
    return is_int(port) and 0 <= port <= 65535


def host_shape_ok(host):
    """Passes the argument checks (a non-empty str without NUL, not absurdly long)."""
    return type(host) is str and 0 < len(host) <= 255 and "\x00" not in host


def valid_timeout(value):
    return value is None or (is_int(value) and 0 <= value <= TIMEOUT_MAX)


def valid_family(value):
    return is_int(value) and value in (0, 1, 2)


def writable_buffer(buf):
    """A non-empty, writable, C-contiguous buffer receive_into can fill."""
    if isinstance(buf, (bytes, str)) or buf is None:
        return False
    try:
        view = memoryview(buf)
    except TypeError:
        return False
    return not view.readonly and view.c_contiguous and view.nbytes > 0


def sample_buffers():
    """Buffer-like and not-buffer-like objects, beyond what strategies build."""
    return [
        bytearray(0),
        bytearray(1),
        bytearray(4096),
        memoryview(bytearray(32)),
        memoryview(bytearray(32))[::2],
        memoryview(bytearray(32))[4:4],
        memoryview(b"read-only"),
        memoryview(bytearray(16)).cast("I"),
        array.array("b", bytes(8)),
        array.array("d", [0.0] * 4),
        b"read-only",
        "text",
        None,
        5,
        2.5,
        [0] * 8,
        (0,) * 8,
        {},
        object(),
    ]
