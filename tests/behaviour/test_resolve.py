# twinsock.resolve() and ResolvedEndpoint on numeric hosts and failures (names with
# several addresses: test_stickiness.py).
import twinsock
from expect import raises, require

# It looks up a name that must fail: run in a private namespace whose DNS is
# 127.0.0.1 (tests/conftest.py), so the look-up never leaves the machine.
HOSTS = {}


def hosts_of(endpoints):
    return [e.get_host_port()[0] for e in endpoints]


def test_resolve_numeric_ipv4(peer):
    endpoints = twinsock.resolve("127.0.0.1", 5683)
    assert type(endpoints) is list
    assert len(endpoints) >= 1
    for endpoint in endpoints:
        assert isinstance(endpoint, twinsock.ResolvedEndpoint)
        host_port = endpoint.get_host_port()
        assert type(host_port) is tuple
        assert host_port == ("127.0.0.1", 5683)


def test_resolve_accepts_a_numeric_string_port(peer):
    endpoints = twinsock.resolve("127.0.0.1", "5684", socktype="tcp")
    assert endpoints[0].get_host_port() == ("127.0.0.1", 5684)


def test_resolve_a_name(peer):
    endpoints = twinsock.resolve("localhost", 80, family=twinsock.AF_INET4)
    assert hosts_of(endpoints)[0] == "127.0.0.1"
    assert endpoints[0].get_host_port()[1] == 80


def test_resolve_unknown_name_raises_eaddrnotavail(peer):
    raises(twinsock.EADDRNOTAVAIL, twinsock.resolve, "no-such-host.invalid", 80)


def test_resolve_family_filter(peer):
    raises(twinsock.EADDRNOTAVAIL, twinsock.resolve, "127.0.0.1", 80, twinsock.AF_INET6)
    endpoints = twinsock.resolve("127.0.0.1", 80, twinsock.AF_INET4)
    assert hosts_of(endpoints) == ["127.0.0.1"]


def test_resolve_ipv6(peer):
    require("ipv6")
    endpoints = twinsock.resolve("::1", 80, twinsock.AF_INET6)
    assert endpoints[0].get_host_port() == ("::1", 80)
    raises(twinsock.EADDRNOTAVAIL, twinsock.resolve, "::1", 80, twinsock.AF_INET4)


def test_resolve_v4mapped_is_unwrapped_to_ipv4(peer):
    require("ipv6")
    endpoints = twinsock.resolve("127.0.0.1", 80, twinsock.AF_INET6, v4mapped=True)
    assert endpoints[0].get_host_port() == ("127.0.0.1", 80)


def test_resolve_rejects_bad_arguments(peer):
    raises(twinsock.EINVAL, twinsock.resolve, b"127.0.0.1", 80)
    raises(twinsock.EINVAL, twinsock.resolve, None, 80)
    for port in ("http", 70000, -1, 1.5, None):
        raises(twinsock.EINVAL, twinsock.resolve, "127.0.0.1", port)
    raises(twinsock.EINVAL, twinsock.resolve, "127.0.0.1", 80, 9)
    raises(twinsock.EINVAL, twinsock.resolve, "127.0.0.1", 80, twinsock.AF_UNSPEC, "sctp")


def test_preferred_endpoint_is_filled_by_connect(peer):
    endpoint = twinsock.ResolvedEndpoint()
    config = twinsock.SocketConfig(preferred_endpoint=endpoint)
    with twinsock.udp_socket(config) as s:
        s.connect("localhost", peer.port("udp"))
        assert endpoint.get_host_port() == ("127.0.0.1", peer.port("udp"))


def test_resolve_puts_a_matching_preferred_endpoint_first(peer):
    preferred = twinsock.resolve("127.0.0.1", 80)[0]
    endpoints = twinsock.resolve("127.0.0.1", 80, preferred_endpoint=preferred)
    assert endpoints[0].get_host_port() == ("127.0.0.1", 80)
