# What the robustness scripts share; runs on MicroPython and on CPython.
# A script prints one JSON record per line, each behind MARK, and a final
# {"done": true}; the pytest side (tests/robustness/test_*.py) reads them.
import json

import twinsock

MARK = "@@robust "

# The errno values API.md lets a twinsock call raise.
DOCUMENTED = (
    twinsock.ETIMEDOUT,
    twinsock.EMSGSIZE,
    twinsock.ENOTSUP,
    twinsock.EOPNOTSUPP,
    twinsock.EPROTO,
    twinsock.EBADF,
    twinsock.ECONNREFUSED,
    twinsock.ECONNRESET,
    twinsock.EINVAL,
    twinsock.EADDRNOTAVAIL,
    twinsock.EADDRINUSE,
    twinsock.EISCONN,
    twinsock.ENOTCONN,
    twinsock.ENOMEM,
    twinsock.EPIPE,
    twinsock.EHOSTUNREACH,
    twinsock.ENETUNREACH,
    twinsock.EIO,
    twinsock.ERANGE,
)


def report(**record):
    print(MARK + json.dumps(record))


def done(**record):
    record["done"] = True
    report(**record)


def peer_hosts():
    """The host server's ports (its ready line's "hosts"), from the
    environment: this MicroPython build dies on an argv entry of 256+ bytes."""
    import os

    return json.loads(os.getenv("TWINSOCK_PEER"))


def attempt(call, *args):
    """("ok", result) | ("net", errno, message, class name) | ("raw", class name, text)."""
    try:
        return ("ok", call(*args))
    except twinsock.NetError as e:
        return ("net", e.errno, str(e), type(e).__name__)
    except Exception as e:  # noqa: BLE001 - the point is to see what escapes
        return ("raw", type(e).__name__, str(e))


def drain(s):
    """Drop whatever is already queued (a stale echo of the bad call's test)."""
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, 0)
    buf = bytearray(2048)
    for _ in range(64):
        try:
            if s.receive_into(buf) == 0 and s.kind != "udp":
                return
        except twinsock.NetError as e:
            if e.errno == twinsock.ETIMEDOUT:
                return
            if e.errno != twinsock.EMSGSIZE:
                raise


def echo(s, payload=b"ping"):
    """One echo through an already connected socket: True when it came back.
    A late stale reply may come first: it is skipped."""
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, 2000)
    s.send(payload)
    got = b""
    buf = bytearray(256)
    for _ in range(8):
        n = s.receive_into(buf)
        if s.kind == "udp":
            if bytes(buf[:n]) == payload:
                return True
            continue
        if n == 0:
            break
        got += bytes(buf[:n])
        if got.endswith(payload):
            return True
    return False


def usable(s, host, port, reconnect=False):
    """What the suite asks of a socket after a bad call: it echoes (connecting
    it first when the bad call left it closed or only bound), or it was
    cleanly closed. `reconnect`: the call connected it elsewhere: close first."""
    try:
        if reconnect:
            s.close()
        state = s.get_opt(twinsock.OPT_STATE)
    except twinsock.NetError as e:
        return e.errno == twinsock.EBADF  # cleaned up: every call says EBADF
    try:
        if state == twinsock.STATE_CLOSED or (state == twinsock.STATE_BOUND and s.kind == "udp"):
            s.connect(host, port)
        else:
            drain(s)
        return echo(s)
    except twinsock.NetError as e:
        return "not usable: %s" % e
