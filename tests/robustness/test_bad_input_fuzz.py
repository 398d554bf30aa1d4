"""Bad input, property-based (issue 7 item 4), on CPython with hypothesis:
every public call's arguments drawn from strategies that mix right and wrong
types, ranges, None, huge values, odd hosts and ports. Only NetError may
escape, with the errno API.md documents, an argument error's message names the
argument, and the socket still echoes through the host server afterwards (or
was cleanly closed).

Hosts here are the ones that never reach DNS (wrong types, NUL, overlong,
loopback and link-local literals with zone ids); free unicode and IDNA names
run in a private namespace whose DNS answers nothing: see
test_unicode_and_idna_hosts (fuzz_names.py). Reproducible: derandomized, no
example database."""

import pytest
import twinsock
from hypothesis import HealthCheck, given, settings, strategies as st
from mp_common import usable
from oracles import (
    TIMEOUT_MAX,
    Outcome,
    check,
    host_shape_ok,
    sample_buffers,
    valid_family,
    valid_port,
    valid_timeout,
    writable_buffer,
)
from robust_counts import EXAMPLES

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HOST = "127.0.0.1"
tried = {}


def count(name):
    tried[name] = tried.get(name, 0) + 1


@pytest.fixture(scope="module")
def ports(hostserver):
    return hostserver.description["hosts"][HOST]


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    print("\ninputs tried per call: %r (total %d)" % (tried, sum(tried.values())))


# -- strategies ---------------------------------------------------------------------

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True),
    st.binary(max_size=20),
    st.lists(st.integers(0, 255), max_size=3),
    st.tuples(st.integers(0, 5)),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)

loopback_v4 = st.ip_addresses(v=4, network="127.0.0.0/8").map(str)
zone = st.one_of(st.just(""), st.sampled_from(["lo", "1", "999999", "", "eth0", "x" * 20]))
safe_hosts = st.one_of(
    loopback_v4,
    st.sampled_from(
        [
            "::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "::",
            "127.1",
            "0x7f.0.0.1",
            "2130706433",
            "localhost",
        ]
    ),
    st.builds(lambda z, base: base + "%" + z, zone, st.sampled_from(["::1", "fe80::1", "fe80::"])),
)
broken_hosts = st.one_of(
    junk,
    st.just(""),
    st.text(min_size=256, max_size=5000),
    st.builds(lambda a, b: a + "\x00" + b, st.text(max_size=10), st.text(max_size=10)),
)
hosts = st.one_of(safe_hosts, broken_hosts)

ports_any = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-2, max_value=65537),
    st.text(alphabet="0123456789", min_size=0, max_size=7),
    st.text(max_size=6),
    st.sampled_from(["80", "00080", "65535", "65536", "http", " 80", "+80", "8_0", "0x50"]),
    st.sampled_from(["\u0663", "\u2460", "\uff18\uff10", "9" * 5000]),
    junk,
)


def host_words(host):
    words = ["host", "address"]
    if type(host) is str and host:
        words.append(host.split("%")[0])
    return words


def expect_host_port(outcome, host, port, may_fail_later=True):
    """The checks of any call taking (host, port)."""
    if not host_shape_ok(host) and not valid_port(port):
        check(outcome, (twinsock.EINVAL,), host_words(host) + ["port"])
    elif not host_shape_ok(host):
        check(outcome, (twinsock.EINVAL,), host_words(host))
    elif not valid_port(port):
        check(outcome, (twinsock.EINVAL,), ["port"])
    else:
        # well-formed: success, or any documented errno from the platform
        # (sendto port 0 is the kernel's EINVAL, for example)
        check(outcome, None, (), may_succeed=True)


def assert_usable(s, port):
    result = usable(s, HOST, port, reconnect=True)
    assert result is True, "socket not usable after the bad call: %s" % (result,)


# -- connect / send_to / bind / resolve -----------------------------------------------


@FUZZ
@given(host=hosts, port=ports_any, kind=st.sampled_from(["udp", "tcp"]))
def test_connect(ports, host, port, kind):
    count("connect")
    with twinsock.udp_socket() if kind == "udp" else twinsock.tcp_socket() as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 2000)
        expect_host_port(Outcome(s.connect, host, port), host, port)
        assert_usable(s, ports["udp" if kind == "udp" else "tcp_echo"])


@FUZZ
@given(
    host=hosts, port=ports_any, data=st.one_of(st.binary(max_size=64), junk, st.text(max_size=4))
)
def test_send_to(ports, host, port, data):
    count("send_to")
    with twinsock.udp_socket() as s:
        outcome = Outcome(s.send_to, data, host, port)
        if host_shape_ok(host) and valid_port(port) and not isinstance(data, (bytes, bytearray)):
            check(
                outcome,
                (twinsock.EINVAL,) + (twinsock.EADDRNOTAVAIL, twinsock.ENETUNREACH),
                ["data"],
            )
        else:
            expect_host_port(outcome, host, port)
        assert_usable(s, ports["udp"])


@FUZZ
@given(host=hosts, port=ports_any, kind=st.sampled_from(["udp", "tcp"]))
def test_bind(ports, host, port, kind):
    count("bind")
    with twinsock.udp_socket() if kind == "udp" else twinsock.tcp_socket() as s:
        if host in (None, ""):  # "any address": only the port can be wrong
            outcome = Outcome(s.bind, host, port)
            if valid_port(port):
                check(outcome, None, may_succeed=True)
            else:
                check(outcome, (twinsock.EINVAL,), ["port"])
        else:
            outcome = Outcome(s.bind, host, port)
            expect_host_port(outcome, host, port)
    # a fresh socket after the bind attempt: nothing left behind in the platform
    with twinsock.udp_socket() as s2:
        assert_usable(s2, ports["udp"])


@FUZZ
@given(
    host=hosts,
    port=ports_any,
    family=st.one_of(st.sampled_from([0, 1, 2]), junk),
    socktype=st.one_of(st.sampled_from(["udp", "tcp"]), junk, st.text(max_size=4)),
    passive=st.booleans(),
    v4mapped=st.booleans(),
    preferred=st.one_of(st.none(), st.just("endpoint"), junk),
)
def test_resolve(host, port, family, socktype, passive, v4mapped, preferred):
    count("resolve")
    if preferred == "endpoint":
        preferred = twinsock.ResolvedEndpoint()
    outcome = Outcome(twinsock.resolve, host, port, family, socktype, passive, v4mapped, preferred)
    others_ok = (
        valid_family(family)
        and socktype in ("udp", "tcp")
        and (preferred is None or isinstance(preferred, twinsock.ResolvedEndpoint))
    )
    if host_shape_ok(host) and valid_port(port) and not others_ok:
        check(outcome, (twinsock.EINVAL,), ["family", "socktype", "preferred_endpoint"])
    elif others_ok:
        expect_host_port(outcome, host, port)
        if outcome.ok:
            assert isinstance(outcome.value, list)
            for endpoint in outcome.value:
                h, p = endpoint.get_host_port()
                assert type(h) is str and type(p) is int
    else:
        check(outcome, (twinsock.EINVAL,))


# -- receiving ---------------------------------------------------------------------------

buffers = st.one_of(
    st.sampled_from(range(len(sample_buffers()))).map(lambda i: sample_buffers()[i]),
    st.integers(0, 64).map(bytearray),
    st.binary(max_size=16),
    junk,
)


@FUZZ
@given(
    buf=buffers, kind=st.sampled_from(["udp", "tcp"]), call=st.sampled_from(["into", "from_into"])
)
def test_receive_into(ports, buf, kind, call):
    count("receive_into")
    port = ports["udp" if kind == "udp" else "tcp_echo"]
    with twinsock.udp_socket() if kind == "udp" else twinsock.tcp_socket() as s:
        s.connect(HOST, port)
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 2000)
        s.send(b"hello")
        method = s.receive_into if call == "into" else s.receive_from_into
        outcome = Outcome(method, buf)
        if kind == "tcp" and call == "from_into":
            check(outcome, (twinsock.ENOTSUP,))
        elif writable_buffer(buf):
            # filled: a count, or the datagram was larger (EMSGSIZE)
            check(outcome, (twinsock.EMSGSIZE,), may_succeed=True)
            if outcome.ok:
                n = outcome.value[0] if call == "from_into" else outcome.value
                assert type(n) is int and 0 < n <= memoryview(buf).nbytes
        elif isinstance(buf, bytearray):  # empty: no room for anything
            check(outcome, (twinsock.EINVAL, twinsock.EMSGSIZE), ["buf", "empty"])
        else:
            check(outcome, (twinsock.EINVAL,), ["buf", "argument"])
        assert_usable(s, port)


sizes = st.one_of(
    st.integers(min_value=-(2**80), max_value=-1),
    st.integers(min_value=0, max_value=2**16),
    st.integers(min_value=2**31, max_value=2**80),
    junk,
    st.text(alphabet="0123456789", max_size=4),
)


@FUZZ
@given(
    size=sizes,
    kind=st.sampled_from(["udp", "tcp"]),
    call=st.sampled_from(["receive", "receive_from"]),
)
def test_receive_bufsize(ports, size, kind, call):
    count("receive(bufsize)")
    port = ports["udp" if kind == "udp" else "tcp_echo"]
    with twinsock.udp_socket() if kind == "udp" else twinsock.tcp_socket() as s:
        s.connect(HOST, port)
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 2000)
        s.send(b"hello")
        outcome = Outcome(getattr(s, call), size)
        smallest = 1 if kind == "tcp" else 0
        if kind == "tcp" and call == "receive_from":
            check(outcome, (twinsock.ENOTSUP,))
        elif type(size) is int and smallest <= size <= TIMEOUT_MAX:
            check(outcome, (twinsock.EMSGSIZE,), may_succeed=True)
            if outcome.ok:
                data = outcome.value if call == "receive" else outcome.value[0]
                assert type(data) is bytes and 0 < len(data) <= size
        elif type(size) is int and size > TIMEOUT_MAX:
            # beyond any buffer: EINVAL naming bufsize, ENOMEM, or the whole
            # message; never a part of it, never b"" (a false end of stream)
            check(outcome, (twinsock.EINVAL, twinsock.ENOMEM), ["bufsize"], may_succeed=True)
            if outcome.ok:
                data = outcome.value if call == "receive" else outcome.value[0]
                assert data == b"hello", "receive(%d) gave %r for b'hello'" % (size, data)
        else:
            check(outcome, (twinsock.EINVAL,), ["bufsize"])
        assert_usable(s, port)


# -- options and poll ---------------------------------------------------------------------

keys = st.one_of(st.integers(-3, 16), st.integers(2**31, 2**70), junk, st.text(max_size=3))
values = st.one_of(
    st.integers(-5, 70000),
    st.integers(2**31 - 2, 2**70),
    st.tuples(st.integers(-5, 5000), st.integers(-5, 70000)),
    junk,
)


@FUZZ
@given(
    key=keys, value=values, kind=st.sampled_from(["udp", "tcp"]), op=st.sampled_from(["get", "set"])
)
def test_options(ports, key, value, kind, op):
    count("get_opt/set_opt")
    port = ports["udp" if kind == "udp" else "tcp_echo"]
    with twinsock.udp_socket() if kind == "udp" else twinsock.tcp_socket() as s:
        s.connect(HOST, port)
        outcome = Outcome(s.get_opt, key) if op == "get" else Outcome(s.set_opt, key, value)
        if not (type(key) is int and 0 <= key <= 13):
            check(outcome, (twinsock.EINVAL,), ["key", "option"])
        elif op == "set" and key == twinsock.OPT_RECV_TIMEOUT:
            if valid_timeout(value):
                check(outcome, None, may_succeed=True)
                assert s.get_opt(key) == value
                # the timeout it accepted must work: one receive with it
                s.send(b"t")
                assert s.receive(16) == b"t"
            else:
                check(outcome, (twinsock.EINVAL,), ["OPT_RECV_TIMEOUT"])
        elif op == "set" and key in (
            twinsock.OPT_PREFERRED_ADDR_FAMILY,
            twinsock.OPT_FORCED_ADDR_FAMILY,
        ):
            check(outcome, (twinsock.EINVAL,), ["OPT_"], may_succeed=valid_family(value))
        else:
            check(
                outcome,
                (twinsock.EINVAL, twinsock.ENOTSUP, twinsock.EBADF),
                ["OPT_"],
                may_succeed=True,
            )
            if outcome.ok and op == "get":
                assert type(outcome.value) in (int, bool, tuple, type(None)), outcome
        assert_usable(s, port)


@FUZZ
@given(
    members=st.lists(
        st.one_of(st.just("socket"), st.just("closed"), junk, st.text(max_size=2)), max_size=4
    ),
    container=st.sampled_from([list, tuple, iter, "as-is"]),
    timeout=st.one_of(
        st.integers(0, 20), st.integers(-(2**70), -1), st.integers(2**31, 2**70), st.none(), junk
    ),
)
def test_poll(ports, members, container, timeout):
    count("poll")
    with twinsock.udp_socket() as s, twinsock.udp_socket() as closed:
        s.connect(HOST, ports["udp"])
        s.send(b"r")
        assert twinsock.poll([s], 2000) == [s]  # readable now: no valid poll below waits
        if timeout is None and "socket" not in members:
            timeout = 0  # poll() over nothing readable, without a limit, waits for ever
        objects = [s if m == "socket" else closed if m == "closed" else m for m in members]
        sockets = objects if container == "as-is" else container(objects)
        outcome = Outcome(twinsock.poll, sockets, timeout)
        junk_member = any(m not in ("socket", "closed") for m in members)
        if not valid_timeout(timeout):
            # several things wrong: the first one checked may be named
            words = ["timeout"] + (["socket"] if junk_member or "closed" in members else [])
            allowed = (twinsock.EINVAL,) + ((twinsock.EBADF,) if "closed" in members else ())
            check(outcome, allowed, words)
        elif junk_member:
            allowed = (twinsock.EINVAL,) + ((twinsock.EBADF,) if "closed" in members else ())
            check(outcome, allowed, ["socket"])
        elif "closed" in members:
            check(outcome, (twinsock.EBADF,))
        else:
            check(outcome, may_succeed=True)
            assert type(outcome.value) is list
            assert all(r is s for r in outcome.value)
        assert_usable(s, ports["udp"])


# -- configuration objects and factories --------------------------------------------------

RULES = {
    "address_family": valid_family,
    "preferred_family": valid_family,
    "forced_mtu": lambda v: type(v) is int and 0 <= v <= 65535,
    "reuse_addr": lambda v: type(v) is bool,
    "preferred_endpoint": lambda v: v is None or isinstance(v, twinsock.ResolvedEndpoint),
    "dscp": lambda v: type(v) is int and 0 <= v <= 63,
    "priority": lambda v: type(v) is int and 0 <= v <= 7,
    "interface_name": lambda v: v is None or (type(v) is str and 0 < len(v) < 16),
    "transparent": lambda v: type(v) is bool,
}
field_values = st.one_of(
    st.integers(-2, 70), st.integers(65530, 65540), st.booleans(), junk, st.text(max_size=3)
)


@FUZZ
@given(
    fields=st.dictionaries(st.sampled_from(sorted(RULES)), field_values, max_size=3),
    kind=st.sampled_from(["udp", "tcp"]),
)
def test_socket_config(ports, fields, kind):
    count("SocketConfig+factory")
    if "interface_name" in fields and RULES["interface_name"](fields["interface_name"]):
        fields["interface_name"] = "lo"  # a real one: no such interface is a table case
    outcome = Outcome(twinsock.SocketConfig, **fields)
    bad = [f for f, v in fields.items() if not RULES[f](v)]
    if bad:
        check(outcome, (twinsock.EINVAL,), bad)
        return
    check(outcome, may_succeed=True)
    factory = twinsock.udp_socket if kind == "udp" else twinsock.tcp_socket
    made = Outcome(factory, outcome.value)
    check(made, (twinsock.ENOTSUP,), list(fields), may_succeed=True)
    if not made.ok:
        return
    with made.value as s:
        family = fields.get("address_family", 0)
        host = "::1" if family == twinsock.AF_INET6 else HOST
        service = "udp" if kind == "udp" else "tcp_echo"
        port = ports[service] if host == HOST else _v6.get(service)
        if port is None:
            return
        connected = Outcome(s.connect, host, port)
        check(connected, None, list(fields), may_succeed=True)
        if connected.ok:
            assert usable(s, host, port) is True


_v6 = {}


@pytest.fixture(scope="module", autouse=True)
def v6_ports(hostserver):
    _v6.update(hostserver.description["hosts"].get("::1", {}))


bytes_like = st.one_of(
    st.binary(max_size=8), st.binary(max_size=8).map(bytearray), junk, st.text(max_size=4)
)


@FUZZ
@given(identity=bytes_like, key=bytes_like)
def test_psk_info(identity, key):
    count("PskInfo")
    outcome = Outcome(twinsock.PskInfo, identity, key)

    def ok(v):
        return isinstance(v, (bytes, bytearray)) and len(v) > 0

    if ok(identity) and ok(key):
        check(outcome, may_succeed=True)
        assert type(outcome.value.identity) is bytes and type(outcome.value.key) is bytes
    else:
        check(outcome, (twinsock.EINVAL,), ["identity", "key"])


@FUZZ
@given(
    trusted=st.one_of(st.just(()), bytes_like, st.lists(bytes_like, max_size=2)),
    validation=st.one_of(st.booleans(), junk),
    crls=st.one_of(st.just(()), bytes_like, st.lists(bytes_like, max_size=2)),
)
def test_cert_info(trusted, validation, crls):
    count("CertInfo")
    outcome = Outcome(twinsock.CertInfo, trusted, None, None, validation, crls)

    def blob(v):
        return isinstance(v, (bytes, bytearray)) and len(v) > 0

    def blobs(v):
        if isinstance(v, (bytes, bytearray)):
            return blob(v)
        return isinstance(v, (list, tuple)) and all(blob(x) for x in v)

    if blobs(trusted) and blobs(crls) and type(validation) is bool:
        check(outcome, may_succeed=True)
        assert outcome.value.server_cert_validation is validation
    else:
        check(outcome, (twinsock.EINVAL,), ["trusted_certs", "crls", "server_cert_validation"])


sni = st.one_of(
    st.none(),
    st.text(min_size=1, max_size=40).filter(lambda t: "\x00" not in t),
    st.text(alphabet="abc.-", min_size=250, max_size=600),
    st.just(""),
    junk,
)


@FUZZ
@given(
    version=st.one_of(st.sampled_from([0, 6, 7]), junk),
    server_name=sni,
    timeouts=st.one_of(
        st.tuples(st.integers(-5, 70000), st.integers(-5, 70000)),
        st.lists(st.integers(1, 100), max_size=3),
        junk,
    ),
    suites=st.one_of(st.none(), st.lists(st.integers(-1, 0x10001), max_size=3), junk),
    cid=st.one_of(st.booleans(), junk),
    dtls=st.booleans(),
)
def test_ssl_config_and_factories(version, server_name, timeouts, suites, cid, dtls):
    count("SSLConfig+ssl_socket/dtls_socket")
    psk = twinsock.PskInfo(b"identity", b"key")
    outcome = Outcome(
        twinsock.SSLConfig,
        psk,
        version,
        server_name,
        None,
        timeouts,
        suites,
        cid,
        None,
    )
    bad = []
    if not (type(version) is int and version in (0, 6, 7)):
        bad.append("version")
    if not (
        isinstance(timeouts, (tuple, list))
        and len(timeouts) == 2
        and all(type(t) is int for t in timeouts)
        and 0 < timeouts[0] <= timeouts[1]
    ):
        bad.append("dtls_handshake_timeouts")
    if not (
        suites is None
        or (isinstance(suites, list) and all(type(x) is int and 0 <= x <= 0xFFFF for x in suites))
    ):
        bad.append("ciphersuites")
    if type(cid) is not bool:
        bad.append("use_connection_id")
    long_name = type(server_name) is str and len(server_name) > 255
    if server_name is not None and not (type(server_name) is str and server_name):
        bad.append("server_name_indication")
    if bad:
        check(outcome, (twinsock.EINVAL, twinsock.ERANGE), bad)
        return
    if long_name:
        check(outcome, (twinsock.ERANGE,), ["server_name_indication"])
        return
    check(outcome, may_succeed=True)
    made = Outcome(twinsock.dtls_socket if dtls else twinsock.ssl_socket, outcome.value)
    check(made, (twinsock.ENOTSUP,), may_succeed=True)
    if made.ok:
        s = made.value
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        s.cleanup()
        assert Outcome(s.send, b"x").errno == twinsock.EBADF


def test_unicode_and_idna_hosts(run_script, peer_json):
    """Free unicode, IDNA and odd-dotted names through connect/send_to/bind/
    resolve/TLS connect, where resolution fails fast (private resolv.conf)."""
    result = run_script("fuzz_names.py", [EXAMPLES * 2], python=True, timeout=100, peer=peer_json)
    assert result.done(), "fuzz_names.py stopped early:\n" + result.tail()
    summary = result.one("tried")
    print("unicode/IDNA hosts: %r" % summary)
    failures = [r for r in result.records if "failure" in r]
    assert not failures, "\n".join(r["failure"] for r in failures) + "\n" + result.tail(30)
