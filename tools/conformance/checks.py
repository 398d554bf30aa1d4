# The conformance checks: one row per avs_net v-table entry, required ones
# first, then the optional ones, run against the registered platform (and TLS
# engine) and real peers. Portable: this file runs on CPython and on the real
# MicroPython interpreter (no f-strings, no typing, plain asserts).
#
# Run as a script by tools/conformance/runner.py:
#   python|micropython tools/conformance/checks.py JOB.json
# JOB names the platform ("cpython", "unix", "esp32", "rp2", "module:Class"),
# an optional TLS engine module and the peers' ports. Prints, per row:
#   @@conformance {"row": ..., "required": ..., "present": ..., "outcome": ...,
#                  "message": ..., "ms": ...}
import gc
import json
import sys
import time

# Not twinsock.clock: importing twinsock here would read the errno module before
# a stand-in board's is installed, and fix twinsock's errno values to the host's.
try:
    _ticks_ms = time.ticks_ms
    _ticks_diff = time.ticks_diff
except AttributeError:  # CPython

    def _ticks_ms():
        return int(time.monotonic() * 1000)

    def _ticks_diff(a, b):
        return a - b


MARK = "@@conformance "
HOST = "127.0.0.1"
NO_SUCH_HOST = "no-such-host.invalid"
SAFETY_TIMEOUT_MS = 5000  # no check waits the 30 s default on a broken platform
SHORT_TIMEOUT_MS = 200


class Failure(Exception):
    pass


def pattern(n):
    data = bytearray(n)  # no list: a board's heap is small
    for i in range(n):
        data[i] = i % 251
    return data


def check(condition, message):
    if not condition:
        raise Failure(message)


def errno_name(code):
    import twinsock

    for name in ("ENOTSUP", "EOPNOTSUPP", "ETIMEDOUT", "EMSGSIZE", "EBADF", "EINVAL"):
        if getattr(twinsock, name) == code:
            return name
    for name in ("ECONNREFUSED", "EADDRNOTAVAIL", "EPIPE", "ENOTCONN", "EISCONN", "EIO"):
        if getattr(twinsock, name) == code:
            return name
    return "errno %s" % (code,)


def unsupported_codes():
    import twinsock

    return (twinsock.ENOTSUP, twinsock.EOPNOTSUPP)


def raises(codes, fn, *args):
    """Call fn(*args); it must raise NetError with an errno in `codes`."""
    import twinsock

    if type(codes) is int:
        codes = (codes,)
    wanted = " or ".join(errno_name(c) for c in codes)
    try:
        fn(*args)
    except twinsock.NetError as e:
        if e.errno not in codes:
            raise Failure("raised %s (%s), expected %s" % (errno_name(e.errno), e, wanted))
        return e
    except Exception as e:
        raise Failure("raised %s: %s, expected NetError(%s)" % (type(e).__name__, e, wanted))
    raise Failure("returned normally, expected NetError(%s)" % wanted)


def receive_all(sock, n):
    got = bytearray(n)
    view = memoryview(got)
    have = 0
    while have < n:
        k = sock.receive_into(view[have:])
        check(k, "stream ended after %d of %d bytes" % (have, n))
        have += k
    return got


class Context:
    """The peers and helpers every check shares."""

    def __init__(self, job):
        self.job = job
        self.ports = job["peer"]

    def socket(self, kind, connect_to=None):
        import twinsock

        sock = twinsock.udp_socket() if kind == "udp" else twinsock.tcp_socket()
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, SAFETY_TIMEOUT_MS)
        if connect_to is not None:
            sock.connect(HOST, self.ports[connect_to])
        return sock


# -- presence: what the platform declares ----------------------------------------


def overrides(name):
    """Whether the registered platform implements Platform.<name> itself."""
    from twinsock import platform
    from twinsock.porting import Platform

    p = platform.get()
    getattr(p, name, None)  # a built-in platform loads its rarer methods on first use
    mine = getattr(type(p), name, None)
    return mine is not None and mine is not getattr(Platform, name, None)


_socket_attributes = None


def socket_has(name):
    """Whether the platform's UDP socket object has method `name`."""
    global _socket_attributes
    if _socket_attributes is None:
        import twinsock
        from twinsock import platform

        p = platform.get()
        raw = p.socket(twinsock.AF_INET4, "udp", twinsock.SocketConfig())
        try:
            _socket_attributes = [
                a for a in ("send", "recv", "sendto", "recvfrom") if hasattr(raw, a)
            ]
        finally:
            p.close(raw)
    return name in _socket_attributes


def features():
    import twinsock

    return twinsock.features()


# -- the required rows --------------------------------------------------------------


def check_features(ctx):
    have = features()
    for name in ("ipv6", "tls", "dtls", "psk", "session_resumption", "connection_id", "dane"):
        check(type(have.get(name)) is bool, "features()[%r] is not a bool: %r" % (name, have))
    check(type(have.get("server")) is bool, "features()['server'] is not a bool")
    check(
        have["server"] == overrides("accept"),
        "features()['server'] is %r, but Platform.accept is %s"
        % (have["server"], "implemented" if overrides("accept") else "left out"),
    )


def check_create(ctx):
    import twinsock

    for kind in ("udp", "tcp"):
        with ctx.socket(kind) as sock:
            state = sock.get_opt(twinsock.OPT_STATE)
            check(state == twinsock.STATE_CLOSED, "%s: new socket in state %r" % (kind, state))


def check_connect(ctx):
    import twinsock

    for kind, service in (("udp", "udp"), ("tcp", "tcp_echo")):
        with ctx.socket(kind, service) as sock:
            state = sock.get_opt(twinsock.OPT_STATE)
            check(state == twinsock.STATE_CONNECTED, "%s: state %r after connect" % (kind, state))
            raises(twinsock.EISCONN, sock.connect, HOST, ctx.ports[service])


def check_get_system_socket(ctx):
    with ctx.socket("udp", "udp") as sock:
        check(sock.get_system_socket() is not None, "None while connected")


def check_send(ctx):
    import twinsock

    with ctx.socket("udp", "udp") as sock:
        sock.send(b"datagram")
        check(sock.receive(100) == b"datagram", "UDP echo differs")
        sock.send(b"")
        check(sock.receive(100) == b"", "the empty datagram did not come back empty")
        check(sock.get_opt(twinsock.OPT_BYTES_SENT) == 8, "OPT_BYTES_SENT is not 8")
    with ctx.socket("tcp", "tcp_echo") as sock:
        data = pattern(4000)  # more than one modem send (1460 bytes): twinsock's send loop
        sock.send(data)
        check(receive_all(sock, len(data)) == data, "TCP echo of 4000 bytes differs")


def check_receive(ctx):
    with ctx.socket("udp", "udp") as sock:
        sock.send(b"SEND 50")
        check(sock.receive(100) == pattern(50), "receive: datagram differs")
        buf = bytearray(100)
        sock.send(b"SEND 60")
        n = sock.receive_into(buf)
        check(n == 60 and bytes(buf[:n]) == pattern(60), "receive_into: datagram differs")
    with ctx.socket("tcp", "tcp_control") as sock:
        sock.send(b"SEND 3000\n")
        check(receive_all(sock, 3000) == pattern(3000), "TCP data differs")
        check(sock.receive(100) == b"", "no b'' at the end of the stream")


def check_receive_timeout(ctx):
    import twinsock

    for kind, service in (("udp", "udp"), ("tcp", "tcp_silent")):
        with ctx.socket(kind, service) as sock:
            sock.set_opt(twinsock.OPT_RECV_TIMEOUT, SHORT_TIMEOUT_MS)
            if kind == "udp":
                sock.send(b"SILENT")
            start = _ticks_ms()
            raises(twinsock.ETIMEDOUT, sock.receive, 100)
            took = _ticks_diff(_ticks_ms(), start)
            check(
                SHORT_TIMEOUT_MS * 3 // 4 <= took <= SHORT_TIMEOUT_MS + 2000,
                "%s: timed out after %d ms, limit %d ms" % (kind, took, SHORT_TIMEOUT_MS),
            )
            if kind == "udp":  # still usable after a timeout
                sock.send(b"again")
                check(sock.receive(100) == b"again", "no echo after a timeout")


def check_truncation(ctx):
    import twinsock

    with ctx.socket("udp", "udp") as sock:
        sock.send(b"SEND 100")
        e = raises(twinsock.EMSGSIZE, sock.receive, 10)
        check(isinstance(e, twinsock.MessageTruncated), "not a MessageTruncated")
        check(e.nbytes == 10 and e.data == pattern(10), "wrong data: %r" % (e.data,))
        sock.send(b"SEND 100")
        buf = bytearray(10)
        e = raises(twinsock.EMSGSIZE, sock.receive_into, buf)
        check(e.nbytes == 10 and bytes(buf) == pattern(10), "receive_into: buffer %r" % buf)
        sock.send(b"next")
        check(sock.receive(100) == b"next", "the datagram after a truncated one differs")


def check_close(ctx):
    import twinsock

    sock = ctx.socket("udp", "udp")
    try:
        sock.close()
        check(sock.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED, "not CLOSED")
        sock.close()  # twice is harmless
        raises(twinsock.EBADF, sock.send, b"x")
        sock.connect(HOST, ctx.ports["udp"])  # the object connects again
        sock.send(b"reopened")
        check(sock.receive(100) == b"reopened", "no echo after reconnecting")
    finally:
        sock.cleanup()


def check_cleanup(ctx):
    import twinsock

    sock = ctx.socket("tcp", "tcp_echo")
    sock.cleanup()
    raises(twinsock.EBADF, sock.send, b"x")
    raises(twinsock.EBADF, sock.receive, 10)
    raises(twinsock.EBADF, sock.get_opt, twinsock.OPT_STATE)
    raises(twinsock.EBADF, sock.connect, HOST, ctx.ports["tcp_echo"])
    sock.close()
    sock.cleanup()


def check_get_opt(ctx):
    import twinsock

    with twinsock.udp_socket() as sock:
        timeout = sock.get_opt(twinsock.OPT_RECV_TIMEOUT)
        check(timeout == 30000, "default OPT_RECV_TIMEOUT is %r" % (timeout,))
        sock.connect(HOST, ctx.ports["udp"])
        check(sock.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED, "OPT_STATE")
        mtu = sock.get_opt(twinsock.OPT_MTU)
        inner = sock.get_opt(twinsock.OPT_INNER_MTU)
        check(type(inner) is int and inner == mtu - 28, "OPT_INNER_MTU %r, MTU %r" % (inner, mtu))


def check_set_opt(ctx):
    import twinsock

    with ctx.socket("udp") as sock:
        for value in (1234, None, 0):
            sock.set_opt(twinsock.OPT_RECV_TIMEOUT, value)
            got = sock.get_opt(twinsock.OPT_RECV_TIMEOUT)
            check(got == value, "set %r, got %r" % (value, got))
        raises(twinsock.EINVAL, sock.set_opt, twinsock.OPT_RECV_TIMEOUT, -1)
        raises(twinsock.EINVAL, sock.set_opt, twinsock.OPT_RECV_TIMEOUT, "1000")
        raises(twinsock.EINVAL, sock.set_opt, twinsock.OPT_STATE, 0)


def check_refused(ctx):
    import twinsock

    with ctx.socket("tcp") as sock:
        raises(twinsock.ECONNREFUSED, sock.connect, HOST, ctx.ports["tcp_refused"])
        check(sock.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED, "not CLOSED")
        sock.connect(HOST, ctx.ports["tcp_echo"])  # and the object is still usable


def check_dns_failure(ctx):
    import twinsock

    raises(twinsock.EADDRNOTAVAIL, twinsock.resolve, NO_SUCH_HOST, 80)
    for kind in ("udp", "tcp"):
        with ctx.socket(kind) as sock:
            raises(twinsock.EADDRNOTAVAIL, sock.connect, NO_SUCH_HOST, 80)


# -- the optional rows: (check when present, check when absent) --------------------


def check_bind(ctx):
    import twinsock

    with ctx.socket("udp") as sock:
        sock.bind(HOST, 0)
        check(sock.get_opt(twinsock.OPT_STATE) == twinsock.STATE_BOUND, "not BOUND")
        port = sock.get_local_port()
        check(type(port) is int and port > 0, "local port %r" % (port,))


def absent_bind(ctx):
    with ctx.socket("udp") as sock:
        raises(unsupported_codes(), sock.bind, HOST, 0)


def check_accept(ctx):
    import twinsock

    with ctx.socket("tcp") as listener:
        listener.bind(HOST, 0)
        port = listener.get_local_port()
        with ctx.socket("tcp", "tcp_control") as control:
            control.send(("CONNECT %s %d\n" % (HOST, port)).encode())
            peer = listener.accept()
            with peer:
                state = peer.get_opt(twinsock.OPT_STATE)
                check(state == twinsock.STATE_ACCEPTED, "accepted socket in state %r" % state)
                check(control.receive(100) == b"OK\n", "the peer could not connect")
                peer.send(b"accepted")
                check(receive_all(peer, 8) == b"accepted", "no echo on the accepted socket")


def absent_accept(ctx):
    # Without listening sockets, bind on TCP (which listens) is what fails.
    with ctx.socket("tcp") as sock:
        raises(unsupported_codes(), sock.bind, HOST, 0)


def check_receive_from(ctx):
    with ctx.socket("udp", "udp") as sock:
        sock.send(b"from")
        data, host, port = sock.receive_from(100)
        check(data == b"from", "data %r" % (data,))
        check((host, port) == (HOST, ctx.ports["udp"]), "sender %r %r" % (host, port))


def absent_receive_from(ctx):
    with ctx.socket("udp", "udp") as sock:
        sock.send(b"from")  # a datagram waits, so the call fails at once
        raises(unsupported_codes(), sock.receive_from, 100)


def check_receive_from_into(ctx):
    import twinsock

    with ctx.socket("udp", "udp") as sock:
        buf = bytearray(100)
        sock.send(b"into")
        n, host, port = sock.receive_from_into(buf)
        check(bytes(buf[:n]) == b"into", "data %r" % (bytes(buf[:n]),))
        check((host, port) == (HOST, ctx.ports["udp"]), "sender %r %r" % (host, port))
        sock.send(b"SEND 40")
        small = bytearray(8)
        e = raises(twinsock.EMSGSIZE, sock.receive_from_into, small)
        check(bytes(small) == pattern(8), "truncated buffer %r" % (small,))
        check((e.host, e.port) == (HOST, ctx.ports["udp"]), "truncation names no sender")


def absent_receive_from_into(ctx):
    with ctx.socket("udp", "udp") as sock:
        sock.send(b"into")
        raises(unsupported_codes(), sock.receive_from_into, bytearray(100))


def check_send_to(ctx):
    with ctx.socket("udp") as sock:
        sock.send_to(b"to", HOST, ctx.ports["udp"])
        data, host, port = sock.receive_from(100)
        check(data == b"to" and port == ctx.ports["udp"], "reply %r from %r" % (data, port))


def absent_send_to(ctx):
    with ctx.socket("udp") as sock:
        raises(unsupported_codes(), sock.send_to, b"to", HOST, ctx.ports["udp"])


def check_shutdown(ctx):
    import twinsock

    with ctx.socket("tcp", "tcp_echo") as sock:
        sock.shutdown()
        check(sock.get_opt(twinsock.OPT_STATE) == twinsock.STATE_SHUTDOWN, "not SHUTDOWN")
        raises(twinsock.EPIPE, sock.send, b"after")


def check_local_address(ctx):
    with ctx.socket("udp", "udp") as sock:
        sock.send(b"WHOAMI")
        seen_host, seen_port = sock.receive(100).decode().split()
        check(sock.get_local_port() == int(seen_port), "local port differs from what the peer saw")
        check(
            sock.get_local_host() == seen_host,
            "local host %r, peer saw %r" % (sock.get_local_host(), seen_host),
        )


def absent_local_address(ctx):
    with ctx.socket("udp", "udp") as sock:
        raises(unsupported_codes(), sock.get_local_port)
        raises(unsupported_codes(), sock.get_local_host)


def check_remote_address(ctx):
    import twinsock

    with ctx.socket("tcp") as sock:
        raises(twinsock.ENOTCONN, sock.get_remote_host)
        sock.connect(HOST, str(ctx.ports["tcp_echo"]))
        check(sock.get_remote_host() == HOST, "remote host %r" % (sock.get_remote_host(),))
        check(sock.get_remote_port() == ctx.ports["tcp_echo"], "remote port not the int port")
        check(sock.get_remote_hostname() == HOST, "remote hostname")


def check_poll(ctx):
    import twinsock

    a = ctx.socket("udp", "udp")
    b = ctx.socket("udp", "udp")
    try:
        check(twinsock.poll([a, b], 50) == [], "readable before anything was sent")
        b.send(b"poll")
        ready = twinsock.poll([a, b], SAFETY_TIMEOUT_MS)
        check(len(ready) == 1 and ready[0] is b, "poll gave %r" % (ready,))
        check(b.receive(100) == b"poll", "data differs")
    finally:
        a.cleanup()
        b.cleanup()


def absent_poll(ctx):
    import twinsock

    with ctx.socket("udp", "udp") as sock:
        raises(unsupported_codes(), twinsock.poll, [sock], 10)


def check_interface_name(ctx):
    with ctx.socket("udp", "udp") as sock:
        name = sock.get_interface_name()
        check(type(name) is str and name, "interface name %r" % (name,))


def absent_interface_name(ctx):
    with ctx.socket("udp", "udp") as sock:
        raises(unsupported_codes(), sock.get_interface_name)


def check_mtu(ctx):
    import twinsock

    with ctx.socket("udp", "udp") as sock:
        mtu = sock.get_opt(twinsock.OPT_MTU)
        check(type(mtu) is int and 576 <= mtu <= 65535, "OPT_MTU %r" % (mtu,))


def fallback_mtu(ctx):
    import twinsock

    with ctx.socket("udp", "udp") as sock:
        mtu = sock.get_opt(twinsock.OPT_MTU)
        check(mtu == 576, "without Platform.mtu, OPT_MTU must be avs_net's 576, not %r" % mtu)


def _secure_config(ctx, peer):
    import twinsock

    security = twinsock.PskInfo(peer["identity"].encode(), bytes(peer["key"], "ascii"))
    return twinsock.SSLConfig(security, dtls_handshake_timeouts=(500, 4000))


def _secure_echo(ctx, dtls):
    import twinsock

    peer = ctx.job["dtls" if dtls else "tls"]
    if not features()["psk"]:
        raise Failure("the TLS engine has no PSK, which the suite's peers use")
    make = twinsock.dtls_socket if dtls else twinsock.ssl_socket
    with make(_secure_config(ctx, peer)) as sock:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, SAFETY_TIMEOUT_MS)
        sock.connect(HOST, peer["port"])
        check(sock.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED, "not CONNECTED")
        sock.send(b"secure")
        check(sock.receive(100) == b"secure", "no echo through the engine")
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, SHORT_TIMEOUT_MS)
        raises(twinsock.ETIMEDOUT, sock.receive, 100)


def check_tls(ctx):
    _secure_echo(ctx, False)


def check_dtls(ctx):
    _secure_echo(ctx, True)


def _absent_secure(ctx, dtls):
    import twinsock

    make = twinsock.dtls_socket if dtls else twinsock.ssl_socket
    raises(unsupported_codes(), make, _secure_config(ctx, ctx.job["dtls" if dtls else "tls"]))


def absent_tls(ctx):
    _absent_secure(ctx, False)


def absent_dtls(ctx):
    # Without a platform engine, DTLS with a PSK still works through twinsock's own
    # engine (port/twinsock_port/tls_psk.py); certificates need the platform's.
    import twinsock

    config = twinsock.SSLConfig(twinsock.CertInfo(server_cert_validation=False))
    raises(unsupported_codes(), twinsock.dtls_socket, config)


# -- the table ----------------------------------------------------------------------
# (row, presence, check, check when absent). presence is None for required rows;
# otherwise a function -> "yes" | "no" | "fallback" (absent, with a default that
# works: the fallback check runs) | "twinsock" (done by the layer itself).


def _present(*conditions):
    return "yes" if all(conditions) else "no"


REQUIRED_ROWS = (
    ("features()", check_features),
    ("create (socket)", check_create),
    ("connect", check_connect),
    ("get_system_socket", check_get_system_socket),
    ("send", check_send),
    ("receive / receive_into", check_receive),
    ("receive timeout (waiter)", check_receive_timeout),
    ("datagram truncation", check_truncation),
    ("close", check_close),
    ("cleanup", check_cleanup),
    ("get_opt STATE/INNER_MTU/RECV_TIMEOUT", check_get_opt),
    ("set_opt RECV_TIMEOUT", check_set_opt),
    ("error: connection refused", check_refused),
    ("error: DNS failure", check_dns_failure),
)

OPTIONAL_ROWS = (
    ("bind", lambda: _present(overrides("bind")), check_bind, absent_bind),
    (
        "accept",
        lambda: _present(overrides("bind"), overrides("listen"), overrides("accept")),
        check_accept,
        absent_accept,
    ),
    (
        "receive_from",
        lambda: _present(overrides("datagram_from_receiver") or socket_has("recvfrom")),
        check_receive_from,
        absent_receive_from,
    ),
    (
        "receive_from_into",
        lambda: _present(overrides("datagram_from_receiver") or socket_has("recvfrom")),
        check_receive_from_into,
        absent_receive_from_into,
    ),
    (
        "send_to",
        lambda: _present(
            overrides("bind"),
            socket_has("sendto"),
            overrides("datagram_from_receiver") or socket_has("recvfrom"),
        ),
        check_send_to,
        absent_send_to,
    ),
    (
        "shutdown",
        lambda: "yes" if overrides("shutdown") else "fallback",
        check_shutdown,
        check_shutdown,
    ),
    (
        "get_local_host/port",
        lambda: _present(overrides("local_address") or _picks_local_port()),
        check_local_address,
        absent_local_address,
    ),
    ("get_remote_host/port", lambda: "twinsock", check_remote_address, None),
    ("poll", lambda: _present(overrides("poll")), check_poll, absent_poll),
    (
        "get_interface_name",
        lambda: _present(overrides("interface_name")),
        check_interface_name,
        absent_interface_name,
    ),
    ("OPT_MTU", lambda: "yes" if overrides("mtu") else "fallback", check_mtu, fallback_mtu),
    ("TLS (engine)", lambda: _present(features()["tls"]), check_tls, absent_tls),
    ("DTLS (engine)", lambda: _present(features()["dtls"]), check_dtls, absent_dtls),
)


def _picks_local_port():
    from twinsock import platform

    return platform.get().picks_local_port


def describe(e):
    if isinstance(e, Failure):
        return str(e)
    return "%s: %s" % (type(e).__name__, e)


def run_row(ctx, row, required, present, fn, emit):
    gc.collect()
    start = _ticks_ms()
    outcome = "passed"
    message = ""
    try:
        fn(ctx)
    except Exception as e:
        outcome = "failed"
        message = describe(e)
    if present == "no" and outcome == "passed":
        outcome = "skipped"
        message = "absent (ENOTSUP checked)"
    elif present == "no":
        message = "absent, and not cleanly: " + message
    emit(
        {
            "row": row,
            "required": required,
            "present": present,
            "outcome": outcome,
            "message": message,
            "ms": _ticks_diff(_ticks_ms(), start),
        }
    )


def run(job, emit):
    ctx = Context(job)
    for row, fn in REQUIRED_ROWS:
        run_row(ctx, row, True, "yes", fn, emit)
    for row, presence, present_fn, absent_fn in OPTIONAL_ROWS:
        try:
            present = presence()
        except Exception as e:
            emit(
                {
                    "row": row,
                    "required": False,
                    "present": "?",
                    "outcome": "failed",
                    "message": "cannot tell presence: " + describe(e),
                    "ms": 0,
                }
            )
            continue
        fn = present_fn if present != "no" else absent_fn
        if present == "fallback":
            fn = absent_fn
        run_row(ctx, row, False, present, fn, emit)


def load_platform(job):
    """Register the job's platform (and TLS engine); return the platform."""
    import twinsock

    name = job["platform"]
    if ":" in name:
        module_name, class_name = name.split(":", 1)
        __import__(module_name)
        cls = getattr(sys.modules[module_name], class_name)
        # keyword arguments from the class's conformance_setup(), run by the runner
        platform = cls(**(job.get("platform_kwargs") or {}))
    else:
        import twinsock_port

        platform = twinsock_port.load(name)
    twinsock.use_platform(platform)
    if job.get("tls_engine"):
        __import__(job["tls_engine"])
        twinsock.use_tls_engine(sys.modules[job["tls_engine"]])
    return platform


def main(path):
    with open(path) as f:
        job = json.load(f)
    if job.get("standin"):
        import standin_common

        standin_common.install(job["standin"])

    def emit(record):
        sys.stdout.write(MARK + json.dumps(record) + "\n")

    start = _ticks_ms()
    try:
        platform = load_platform(job)
    except Exception as e:
        emit(
            {
                "row": "use_platform (register)",
                "required": True,
                "present": "yes",
                "outcome": "failed",
                "message": describe(e),
                "ms": _ticks_diff(_ticks_ms(), start),
            }
        )
        emit({"done": True})
        return
    emit(
        {
            "row": "use_platform (register)",
            "required": True,
            "present": "yes",
            "outcome": "passed",
            "message": "",
            "ms": _ticks_diff(_ticks_ms(), start),
        }
    )
    try:
        run(job, emit)
    finally:
        platform.cleanup()  # the platform's global state: the modem's sockets
    emit({"done": True})


if __name__ == "__main__":
    main(sys.argv[1])
