# ruff: noqa: B023 - every lambda here is called at once by case(), inside its loop
# Table-driven bad input for every public call (issue 7 item 4), for the real
# MicroPython interpreter (and CPython: the same table runs on both).
#
# argv[1]: the host server's "hosts" JSON. One record per case:
#   {"group", "case", "outcome": ok|net|raw, "errno", "message", "problems": [...]}
# A case passes when only NetError escapes, with an allowed errno, an
# argument error's message names the argument, and the socket the call was
# made on still echoes through the host server (or was cleanly closed).
import gc
import sys

import twinsock
from mp_common import DOCUMENTED, attempt, done, peer_hosts, report, usable

MICROPYTHON = sys.implementation.name == "micropython"
HOSTS = peer_hosts()["127.0.0.1"]
HOST = "127.0.0.1"
UDP = HOSTS["udp"]
TCP = HOSTS["tcp_echo"]
EINVAL = (twinsock.EINVAL,)
# "huge" inputs: big enough to be absurd, small enough for a 192 KB heap
HUGE = 2000 if MICROPYTHON else 5000
ANY = DOCUMENTED

counts = {}


def case(group, label, call, allowed, words=(), sock=None, port=None, may_succeed=False):
    gc.collect()
    out = attempt(call)
    record = {"group": group, "case": label, "outcome": out[0]}
    if MICROPYTHON:
        gc.collect()
        record["free"] = gc.mem_free()
    problems = []
    if out[0] == "raw":
        problems.append("raw %s escaped: %s" % (out[1], out[2]))
    elif out[0] == "ok":
        if not may_succeed:
            problems.append("accepted: returned %r" % (out[1],))
    else:
        record["errno"] = out[1]
        record["message"] = out[2]
        if out[1] not in allowed:
            problems.append("errno %d not in %r (%s)" % (out[1], allowed, out[2]))
        elif out[1] in (twinsock.EINVAL, twinsock.ERANGE) and words:
            low = out[2].lower()
            if not any(w.lower() in low for w in words):
                problems.append("message does not name %s: %r" % (" / ".join(words), out[2]))
    if sock is not None:
        try:
            ok = usable(sock, HOST, port, reconnect=out[0] == "ok" or may_succeed)
        except Exception as e:  # noqa: BLE001
            ok = "usability check raised %s: %s" % (type(e).__name__, e)
        if ok is not True:
            problems.append("socket not usable afterwards: %s" % (ok,))
        sock.cleanup()
    record["problems"] = problems
    counts[group] = counts.get(group, 0) + 1
    report(**record)


def udp():
    return twinsock.udp_socket()


def tcp():
    return twinsock.tcp_socket()


def connected(kind):
    s = udp() if kind == "udp" else tcp()
    s.connect(HOST, UDP if kind == "udp" else TCP)
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, 1000)
    return s


def port_of(kind):
    return UDP if kind == "udp" else TCP


# -- factories and configuration objects ------------------------------------------

PSK = twinsock.PskInfo(b"identity", b"0123456789abcdef")
NO_CHECK = twinsock.CertInfo(server_cert_validation=False)
# Load the TLS engine while the heap is fresh (late loading: test_heap_exhaustion.py).
twinsock.ssl_socket(twinsock.SSLConfig(NO_CHECK)).cleanup()


def udp_socket_of(config):
    return twinsock.udp_socket(config)


def tcp_socket_of(config):
    return twinsock.tcp_socket(config)


for bad in ("x", 5, {}, [], twinsock.SocketConfig, PSK):
    case("factory", "udp_socket(%r)" % (bad,), lambda: udp_socket_of(bad), EINVAL, ("config",))
    case("factory", "tcp_socket(%r)" % (bad,), lambda: tcp_socket_of(bad), EINVAL, ("config",))


for bad in (None, "x", 5, twinsock.SocketConfig(), PSK, NO_CHECK):
    case(
        "factory",
        "ssl_socket(%r)" % (bad,),
        lambda: twinsock.ssl_socket(bad),
        EINVAL,
        ("ssl_config",),
    )
    case(
        "factory",
        "dtls_socket(%r)" % (bad,),
        lambda: twinsock.dtls_socket(bad),
        EINVAL,
        ("ssl_config",),
    )

SOCKET_CONFIG_BAD = (
    ("address_family", 7),
    ("address_family", "inet"),
    ("address_family", True),
    ("address_family", None),
    ("preferred_family", -1),
    ("preferred_family", 2.0),
    ("forced_mtu", -1),
    ("forced_mtu", 65536),
    ("forced_mtu", "1500"),
    ("forced_mtu", 2**70),
    ("reuse_addr", 1),
    ("reuse_addr", None),
    ("preferred_endpoint", "127.0.0.1"),
    ("preferred_endpoint", ("127.0.0.1", 80)),
    ("dscp", 64),
    ("dscp", -1),
    ("dscp", 1.5),
    ("priority", 8),
    ("priority", -1),
    ("priority", "1"),
    ("interface_name", ""),
    ("interface_name", "x" * 16),
    ("interface_name", b"lo"),
    ("interface_name", 5),
    ("transparent", 1),
    ("transparent", "yes"),
)
for field, bad in SOCKET_CONFIG_BAD:
    kwargs = {field: bad}
    case(
        "config",
        "SocketConfig(%s=%r)" % (field, bad),
        lambda: twinsock.SocketConfig(**kwargs),
        EINVAL,
        (field,),
    )


def with_interface(name):
    s = twinsock.udp_socket(twinsock.SocketConfig(interface_name=name))
    try:
        s.connect(HOST, UDP)
    finally:
        s.cleanup()


# A name the platform may support but no interface has: a clear errno naming the field.
case(
    "config",
    "SocketConfig(interface_name='nosuchif0') connect",
    lambda: with_interface("nosuchif0"),
    (twinsock.ENOTSUP, twinsock.EINVAL, twinsock.EADDRNOTAVAIL),
    ("interface_name",),
)

for identity, key in (
    (None, b"k"),
    ("id", b"k"),
    (b"", b"k"),
    (b"id", None),
    (b"id", 5),
    (b"id", "k"),
    (b"id", b""),
):
    case(
        "config",
        "PskInfo(%r, %r)" % (identity, key),
        lambda: twinsock.PskInfo(identity, key),
        EINVAL,
        ("identity", "key"),
    )

CERT_BAD = (
    ("trusted_certs", None),
    ("trusted_certs", "-----BEGIN CERTIFICATE-----"),
    ("trusted_certs", [b""]),
    ("trusted_certs", [None]),
    ("trusted_certs", 5),
    ("client_cert", "pem"),
    ("client_cert", b"x"),  # without client_key
    ("client_key", b"x"),  # without client_cert
    ("server_cert_validation", 0),
    ("server_cert_validation", None),
    ("server_cert_validation", "False"),
    ("crls", None),
    ("crls", 5),
    ("crls", [b""]),
)
for field, bad in CERT_BAD:
    kwargs = {field: bad}
    case(
        "config",
        "CertInfo(%s=%r)" % (field, bad),
        lambda: twinsock.CertInfo(**kwargs),
        EINVAL,
        (field.split("_")[0],),
    )

SSL_BAD = (
    ("version", 5),
    ("version", 6.0),
    ("version", "6"),
    ("version", None),
    ("server_name_indication", ""),
    ("server_name_indication", b"example.com"),
    ("server_name_indication", 5),
    ("session_resumption_buffer", b"x"),
    ("session_resumption_buffer", "x"),
    ("dtls_handshake_timeouts", (0, 1)),
    ("dtls_handshake_timeouts", (2, 1)),
    ("dtls_handshake_timeouts", (1.0, 2)),
    ("dtls_handshake_timeouts", None),
    ("dtls_handshake_timeouts", (1, 2, 3)),
    ("dtls_handshake_timeouts", "1000,2000"),
    ("ciphersuites", [-1]),
    ("ciphersuites", 5),
    ("ciphersuites", ["TLS_AES_128_GCM_SHA256"]),
    ("ciphersuites", [0x10000]),
    ("use_connection_id", 1),
    ("use_connection_id", None),
    ("backend_configuration", {}),
    ("backend_configuration", PSK),
)
for field, bad in SSL_BAD:
    kwargs = {field: bad}
    case(
        "config",
        "SSLConfig(%s=%r)" % (field, bad),
        lambda: twinsock.SSLConfig(PSK, **kwargs),
        EINVAL,
        (field,),
    )
for bad in (None, "psk", b"psk", twinsock.SocketConfig()):
    case(
        "config",
        "SSLConfig(security=%r)" % (bad,),
        lambda: twinsock.SSLConfig(bad),
        EINVAL,
        ("security",),
    )
for length in (256, 300, 5000):
    case(
        "config",
        "SSLConfig(server_name_indication=%d chars)" % length,
        lambda: twinsock.SSLConfig(PSK, server_name_indication="a" * length),
        (twinsock.ERANGE,),
        ("server_name_indication",),
    )


def tls_connect_with_sni(sni):
    """SNI that a handshake cannot carry: refused before the handshake, naming it."""
    config = twinsock.SSLConfig(NO_CHECK, server_name_indication=sni)
    s = twinsock.ssl_socket(config)
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, 2000)
    try:
        s.connect(HOST, TCP)  # tcp_echo: never a TLS server, but SNI goes first
    finally:
        s.cleanup()


case(
    "config",
    "SNI with NUL",
    lambda: tls_connect_with_sni("good.example\x00.evil.example"),
    EINVAL,
    ("server_name_indication", "SNI", "server name"),
)

# -- hosts --------------------------------------------------------------------------

BAD_TYPE_HOSTS = (
    None,
    b"127.0.0.1",
    bytearray(b"127.0.0.1"),
    127,
    2130706433,
    1.5,
    ["127.0.0.1"],
    ("127.0.0.1",),
)
BAD_STRING_HOSTS = ("", "a" * 300, "a" * HUGE, "bad\x00host", "127.0.0.1\x00")
UNRESOLVABLE = (
    "\u00e9xample.invalid",  # unicode (IDNA) name
    "xn--xample-9ua.invalid",  # its ACE form
    "\u4f8b\u3048.\u30c6\u30b9\u30c8",
    "\U0001f600.invalid",
    "a" * 64 + ".invalid",  # label over 63
    "a" * 254,
    "[::1]",
    "1.2.3.4.5",
    "256.1.1.1",
    " 127.0.0.1",
    "-.invalid",
)
ZONED = ("::1%lo", "fe80::1%lo", "fe80::1%1", "::1%999999", "fe80::1%")


def tls_connect(host):
    s = twinsock.ssl_socket(twinsock.SSLConfig(NO_CHECK))
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, 1000)
    try:
        s.connect(host, TCP)
    finally:
        s.cleanup()


def each_host_call(host):
    """(label, call, socket, echo port) for every call that takes a host."""
    s1 = udp()
    yield "udp.connect", lambda: s1.connect(host, UDP), s1, UDP
    s2 = tcp()
    yield "tcp.connect", lambda: s2.connect(host, TCP), s2, TCP
    s3 = udp()
    yield "udp.send_to", lambda: s3.send_to(b"x", host, UDP), s3, UDP
    if host not in (None, ""):  # bind's "any address"
        s4 = udp()
        yield "udp.bind", lambda: s4.bind(host, 0), s4, UDP
    yield "resolve", lambda: twinsock.resolve(host, UDP), None, None
    yield "tls.connect", lambda: tls_connect(host), None, None


for host in BAD_TYPE_HOSTS + BAD_STRING_HOSTS:
    for label, call, sock, port in each_host_call(host):
        case(
            "host",
            "%s(%r)" % (label, host if len(repr(host)) < 40 else "%d chars" % len(host)),
            call,
            EINVAL,
            ("host", "address"),
            sock,
            port,
        )
for host in UNRESOLVABLE:
    for label, call, sock, port in each_host_call(host):
        # EADDRNOTAVAIL (resolution failed) or EINVAL (not a valid name)
        case(
            "host",
            "%s(%r)" % (label, host),
            call,
            (twinsock.EADDRNOTAVAIL, twinsock.EINVAL),
            ("host", "address"),
            sock,
            port,
        )
for host in ZONED:
    for label, call, sock, port in each_host_call(host):
        # IPv6 literals with zone ids: a real address may even work; any
        # documented errno otherwise. Only NetError may escape.
        case(
            "host",
            "%s(%r)" % (label, host),
            call,
            ANY,
            ("host", "address", host.split("%")[0]),
            sock,
            port,
            may_succeed=True,
        )

# -- ports ----------------------------------------------------------------------------

BAD_PORTS = (
    -1,
    65536,
    2**31,
    2**70,
    -(2**70),
    1.5,
    80.0,
    True,
    False,
    None,
    b"80",
    [80],
    (80,),
    "",
    "http",
    " 80",
    "80 ",
    "+80",
    "-1",
    "0x50",
    "8_0",
    "65536",
    "9" * HUGE,
    "\u0663",
    "\u2460",
    "\uff18\uff10",
)
for port in BAD_PORTS:
    label = repr(port) if len(repr(port)) < 30 else "%d-digit string" % len(port)
    s1 = udp()
    case(
        "port",
        "udp.connect(port=%s)" % label,
        lambda: s1.connect(HOST, port),
        EINVAL,
        ("port",),
        s1,
        UDP,
    )
    s2 = tcp()
    case(
        "port",
        "tcp.connect(port=%s)" % label,
        lambda: s2.connect(HOST, port),
        EINVAL,
        ("port",),
        s2,
        TCP,
    )
    s3 = udp()
    case(
        "port",
        "udp.send_to(port=%s)" % label,
        lambda: s3.send_to(b"x", HOST, port),
        EINVAL,
        ("port",),
        s3,
        UDP,
    )
    s4 = tcp()
    case(
        "port", "tcp.bind(port=%s)" % label, lambda: s4.bind(HOST, port), EINVAL, ("port",), s4, TCP
    )
    case(
        "port", "resolve(port=%s)" % label, lambda: twinsock.resolve(HOST, port), EINVAL, ("port",)
    )
for port in ("80", "00080", "0", "65535", 0, 65535):
    case(
        "port",
        "resolve(port=%r) works" % (port,),
        lambda: twinsock.resolve(HOST, port),
        (),
        may_succeed=True,
    )

# -- buffers, sizes, data -------------------------------------------------------------

BAD_BUFFERS = [
    None,
    b"read-only",
    "text",
    5,
    1.5,
    [0] * 8,
    (0,) * 8,
    memoryview(b"read-only"),
    {},
    object(),
]
for kind in ("udp", "tcp"):
    for buf in BAD_BUFFERS:
        s = connected(kind)
        s.send(b"hello")
        case(
            "buffer",
            "%s.receive_into(%s)" % (kind, type(buf).__name__),
            lambda: s.receive_into(buf),
            EINVAL,
            ("buf", "argument"),
            s,
            port_of(kind),
        )
        if kind == "udp":
            s = connected(kind)
            s.send(b"hello")
            case(
                "buffer",
                "udp.receive_from_into(%s)" % type(buf).__name__,
                lambda: s.receive_from_into(buf),
                EINVAL,
                ("buf", "argument"),
                s,
                UDP,
            )
    s = connected(kind)
    s.send(b"hello")
    # an empty buffer cannot hold a datagram: EINVAL, or EMSGSIZE (truncated); never 0
    case(
        "buffer",
        "%s.receive_into(bytearray(0))" % kind,
        lambda: s.receive_into(bytearray(0)),
        (twinsock.EINVAL, twinsock.EMSGSIZE),
        ("buf", "empty"),
        s,
        port_of(kind),
    )


def whole(data):
    if data != b"hello":
        raise AssertionError("receive gave %r for b'hello' (data lost)" % (data,))
    return data


BAD_SIZES = (-1, -(2**70), 1.5, "10", None, True, [10], b"10")
for kind in ("udp", "tcp"):
    for size in BAD_SIZES + (0,) * (kind == "tcp"):
        s = connected(kind)
        case(
            "size",
            "%s.receive(%r)" % (kind, size),
            lambda: s.receive(size),
            EINVAL,
            ("bufsize",),
            s,
            port_of(kind),
        )
    for size in (2**70, 2**40, 2**32):
        # larger than any buffer: EINVAL naming bufsize, ENOMEM, or the whole
        # message; never a part of it, never b"" (a false end of stream)
        s = connected(kind)
        s.send(b"hello")
        case(
            "size",
            "%s.receive(%r)" % (kind, size),
            lambda: whole(s.receive(size)),
            (twinsock.EINVAL, twinsock.ENOMEM),
            ("bufsize",),
            s,
            port_of(kind),
            may_succeed=True,
        )
for size in BAD_SIZES:
    s = connected("udp")
    case(
        "size",
        "udp.receive_from(%r)" % (size,),
        lambda: s.receive_from(size),
        EINVAL,
        ("bufsize",),
        s,
        UDP,
    )

BAD_DATA = (None, 5, "text", [1, 2], 1.5, {})
for kind in ("udp", "tcp"):
    for data in BAD_DATA:
        s = connected(kind)
        case(
            "data",
            "%s.send(%r)" % (kind, data),
            lambda: s.send(data),
            EINVAL,
            ("data",),
            s,
            port_of(kind),
        )
for data in BAD_DATA:
    s = udp()
    case(
        "data",
        "udp.send_to(%r)" % (data,),
        lambda: s.send_to(data, HOST, UDP),
        EINVAL,
        ("data",),
        s,
        UDP,
    )

# -- options --------------------------------------------------------------------------

BAD_KEYS = (-1, 14, 99, 2**70, None, "0", 0.0, 1.0, True, False, (0,), b"\x00")
BAD_VALUES = {
    twinsock.OPT_RECV_TIMEOUT: (-1, 1.5, "100", [1], True, -(2**70)),
    twinsock.OPT_PREFERRED_ADDR_FAMILY: (3, -1, "inet", None, 1.0, True),
    twinsock.OPT_FORCED_ADDR_FAMILY: (3, -1, "inet", None, 1.0, True),
}
READ_ONLY = (
    twinsock.OPT_STATE,
    twinsock.OPT_ADDR_FAMILY,
    twinsock.OPT_MTU,
    twinsock.OPT_INNER_MTU,
    twinsock.OPT_BYTES_SENT,
    twinsock.OPT_BYTES_RECEIVED,
    twinsock.OPT_HAS_BUFFERED_DATA,
)
SECURE_ONLY = (
    twinsock.OPT_SESSION_RESUMED,
    twinsock.OPT_DANE_TLSA_ARRAY,
    twinsock.OPT_DTLS_HANDSHAKE_TIMEOUTS,
    twinsock.OPT_CONNECTION_ID_RESUMED,
)
for kind in ("udp", "tcp"):
    for key in BAD_KEYS:
        s = connected(kind)
        case(
            "option",
            "%s.get_opt(%r)" % (kind, key),
            lambda: s.get_opt(key),
            EINVAL,
            ("key", "option"),
            s,
            port_of(kind),
        )
        s = connected(kind)
        case(
            "option",
            "%s.set_opt(%r, 1)" % (kind, key),
            lambda: s.set_opt(key, 1),
            EINVAL,
            ("key", "option"),
            s,
            port_of(kind),
        )
    for key, values in BAD_VALUES.items():
        for value in values:
            s = connected(kind)
            case(
                "option",
                "%s.set_opt(%d, %r)" % (kind, key, value),
                lambda: s.set_opt(key, value),
                EINVAL,
                ("OPT_",),
                s,
                port_of(kind),
            )
    for key in READ_ONLY:
        s = connected(kind)
        case(
            "option",
            "%s.set_opt(read-only %d)" % (kind, key),
            lambda: s.set_opt(key, 0),
            EINVAL,
            ("read-only", "OPT_"),
            s,
            port_of(kind),
        )
    for key in SECURE_ONLY:
        s = connected(kind)
        case(
            "option",
            "%s.get_opt(secure-only %d)" % (kind, key),
            lambda: s.get_opt(key),
            (twinsock.ENOTSUP, twinsock.EBADF, twinsock.EINVAL),
            ("OPT_",),
            s,
            port_of(kind),
        )


def huge_timeout_then_receive(value):
    """A timeout set_opt accepts must work: one echo with it."""
    s = connected("udp")
    try:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, value)
        s.send(b"x")
        got = s.receive(16)
        if got != b"x":
            raise AssertionError("echo gave %r" % (got,))
    finally:
        s.cleanup()


for value in (2**31, 2**40, 2**70):
    case(
        "option",
        "OPT_RECV_TIMEOUT=%r, then receive" % value,
        lambda: huge_timeout_then_receive(value),
        EINVAL,
        ("OPT_RECV_TIMEOUT",),
        may_succeed=True,
    )

# -- poll, resolve ---------------------------------------------------------------------

s_poll = connected("udp")
for sockets in (None, 5, "abc", [None], [5], [object()], [s_poll, "x"], [b"x"]):
    case(
        "poll",
        "poll(%r)" % (sockets,),
        lambda: twinsock.poll(sockets, 0),
        EINVAL,
        ("sockets", "socket"),
    )
for timeout in (-1, 1.5, "5", True, [0], -(2**70), 2**70):
    case(
        "poll",
        "poll(timeout_ms=%r)" % (timeout,),
        lambda: twinsock.poll([s_poll], timeout),
        EINVAL,
        ("timeout",),
    )
closed = udp()
case("poll", "poll([closed socket])", lambda: twinsock.poll([closed], 0), (twinsock.EBADF,))
closed.cleanup()
case("poll", "poll([cleaned up socket])", lambda: twinsock.poll([closed], 0), (twinsock.EBADF,))
if usable(s_poll, HOST, UDP) is not True:
    report(group="poll", case="socket after bad polls", outcome="ok", problems=["not usable"])
s_poll.cleanup()

RESOLVE_BAD = (
    ("family", 5),
    ("family", "inet"),
    ("family", True),
    ("family", None),
    ("socktype", "raw"),
    ("socktype", None),
    ("socktype", b"udp"),
    ("socktype", 2),
    ("preferred_endpoint", "127.0.0.1"),
    ("preferred_endpoint", twinsock.SocketConfig()),
)
for field, bad in RESOLVE_BAD:
    kwargs = {field: bad}
    case(
        "resolve",
        "resolve(%s=%r)" % (field, bad),
        lambda: twinsock.resolve(HOST, UDP, **kwargs),
        EINVAL,
        (field,),
    )
empty = twinsock.ResolvedEndpoint()
case(
    "resolve",
    "ResolvedEndpoint().get_host_port()",
    empty.get_host_port,
    EINVAL,
    ("ResolvedEndpoint", "empty"),
)

# -- lifecycle misuse -----------------------------------------------------------------

for kind in ("udp", "tcp"):
    s = udp() if kind == "udp" else tcp()
    s.cleanup()
    for name, args in (
        ("connect", (HOST, port_of(kind))),
        ("bind", (HOST, 0)),
        ("send", (b"x",)),
        ("receive", (16,)),
        ("receive_into", (bytearray(16),)),
        ("get_opt", (twinsock.OPT_STATE,)),
        ("set_opt", (twinsock.OPT_RECV_TIMEOUT, 10)),
        ("get_remote_host", ()),
        ("get_local_port", ()),
        ("shutdown", ()),
        ("accept", ()),
    ):
        method = getattr(s, name)
        case(
            "lifecycle",
            "%s.%s after cleanup" % (kind, name),
            lambda: method(*args),
            (twinsock.EBADF,),
        )
    case("lifecycle", "%s.close() after cleanup" % kind, s.close, (), may_succeed=True)
    case("lifecycle", "%s.cleanup() twice" % kind, s.cleanup, (), may_succeed=True)
    s = udp() if kind == "udp" else tcp()
    for name, args in (("send", (b"x",)), ("receive", (16,)), ("get_remote_port", ())):
        method = getattr(s, name)
        case(
            "lifecycle",
            "%s.%s before connect" % (kind, name),
            lambda: method(*args),
            (twinsock.ENOTCONN, twinsock.EBADF),
            (),
            s,
            port_of(kind),
        )
        s = udp() if kind == "udp" else tcp()
    s.cleanup()
s = connected("udp")
case("lifecycle", "udp.accept()", s.accept, (twinsock.ENOTSUP,), (), s, UDP)
s = tcp()
case("lifecycle", "tcp.accept() unbound", s.accept, (twinsock.EBADF, twinsock.EINVAL), (), s, TCP)
s = connected("tcp")
case(
    "lifecycle",
    "tcp.connect() twice",
    lambda: s.connect(HOST, TCP),
    (twinsock.EISCONN,),
    (),
    s,
    TCP,
)
tls = twinsock.ssl_socket(twinsock.SSLConfig(NO_CHECK))
for backend in (None, "x", udp()):
    case(
        "lifecycle",
        "tls.decorate(%r)" % (backend,),
        lambda: tls.decorate(backend),
        EINVAL,
        ("backend", "decorate"),
    )
for name, args in (("send", (b"x",)), ("receive", (16,)), ("receive_into", (bytearray(4),))):
    method = getattr(tls, name)
    case(
        "lifecycle",
        "tls.%s before connect" % name,
        lambda: method(*args),
        (twinsock.ENOTCONN, twinsock.EBADF),
    )
tls.cleanup()

done(counts=counts)
