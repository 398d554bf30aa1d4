# IP stickiness with names that resolve to several loopback addresses. Runs inside a
# private mount namespace whose /etc/hosts holds HOSTS (tests/conftest.py). The host
# server's tcp_whoami listens on 127.0.0.1, .4 and .5 with one port number and tells
# which local address a connection reached; nothing listens on 127.0.0.6.
# The addresses are picked so that glibc's RFC 6724 sort (rule 9, longest prefix
# shared with the source 127.0.0.1) keeps the hosts-file order: 127.0.0.4-7 all share
# 29 bits with 127.0.0.1.
#
# Only CPython and the MicroPython unix port: on the boards lwIP's resolver returns a
# single address per name, so there is no second address to fall back to.
import twinsock
from expect import raises, require

RUNTIMES = ("cpython", "micropython-unix")
HOSTS = {
    "sticky.twinsock.test": ["127.0.0.6", "127.0.0.5"],
    "both.twinsock.test": ["127.0.0.4", "127.0.0.5"],
    "dual.twinsock.test": ["127.0.0.1", "::1"],
}


def reached(s):
    line = b""
    while not line.endswith(b"\n"):
        chunk = s.receive(1)
        assert chunk, "EOF before the whoami line"
        line += chunk
    return line.decode().split()[2]


def hosts_of(endpoints):
    return [e.get_host_port()[0] for e in endpoints]


def test_resolve_lists_every_address_in_order(peer):
    port = peer.port("tcp_whoami")
    found = hosts_of(twinsock.resolve("both.twinsock.test", port, socktype="tcp"))
    assert found == ["127.0.0.4", "127.0.0.5"], found


def test_resolve_puts_the_preferred_endpoint_first(peer):
    port = peer.port("tcp_whoami")
    second = twinsock.resolve("both.twinsock.test", port, socktype="tcp")[1]
    endpoints = twinsock.resolve(
        "both.twinsock.test", port, socktype="tcp", preferred_endpoint=second
    )
    assert hosts_of(endpoints) == ["127.0.0.5", "127.0.0.4"], hosts_of(endpoints)


def test_connect_falls_back_to_the_next_address_and_remembers_it(peer):
    port = peer.port("tcp_whoami")
    endpoint = twinsock.ResolvedEndpoint()
    with twinsock.tcp_socket(twinsock.SocketConfig(preferred_endpoint=endpoint)) as s:
        s.connect("sticky.twinsock.test", port)
        assert reached(s) == "127.0.0.5"
        assert s.get_remote_host() == "127.0.0.5"
        assert s.get_remote_hostname() == "sticky.twinsock.test"
    assert endpoint.get_host_port() == ("127.0.0.5", port)


def test_connect_tries_the_preferred_endpoint_first(peer):
    port = peer.port("tcp_whoami")
    with twinsock.tcp_socket() as s:
        s.connect("both.twinsock.test", port)
        assert reached(s) == "127.0.0.4"  # no preference: the first address
    endpoint = twinsock.ResolvedEndpoint()
    with twinsock.tcp_socket(twinsock.SocketConfig(preferred_endpoint=endpoint)) as s:
        s.connect("sticky.twinsock.test", port)  # remembers 127.0.0.5
    with twinsock.tcp_socket(twinsock.SocketConfig(preferred_endpoint=endpoint)) as s:
        s.connect("both.twinsock.test", port)
        assert reached(s) == "127.0.0.5"
    assert endpoint.get_host_port() == ("127.0.0.5", port)


def test_udp_connect_uses_the_preferred_endpoint(peer):
    port = peer.port("udp")
    with twinsock.udp_socket() as s:
        s.connect("both.twinsock.test", port)
        assert s.get_remote_host() == "127.0.0.4"
    preferred = twinsock.resolve("both.twinsock.test", port)[1]
    assert preferred.get_host_port() == ("127.0.0.5", port)
    with twinsock.udp_socket(twinsock.SocketConfig(preferred_endpoint=preferred)) as s:
        s.connect("both.twinsock.test", port)
        assert s.get_remote_host() == "127.0.0.5"


def test_every_address_refused_raises_econnrefused(peer):
    with twinsock.tcp_socket() as s:
        # 127.0.0.6 refuses; 127.0.0.5 answers only on the whoami port
        raises(twinsock.ECONNREFUSED, s.connect, "sticky.twinsock.test", peer.port("tcp_refused"))


def test_preferred_family_picks_the_address_family(peer):
    require("ipv6")
    port = peer.port("udp")
    for family, host in ((twinsock.AF_INET6, "::1"), (twinsock.AF_INET4, "127.0.0.1")):
        with twinsock.udp_socket(twinsock.SocketConfig(preferred_family=family)) as s:
            s.connect("dual.twinsock.test", port)
            assert s.get_remote_host() == host, (family, s.get_remote_host())
        with twinsock.udp_socket() as s:
            s.set_opt(twinsock.OPT_PREFERRED_ADDR_FAMILY, family)
            s.connect("dual.twinsock.test", port)
            assert s.get_remote_host() == host, (family, s.get_remote_host())


def test_forced_family_restricts_the_addresses(peer):
    require("ipv6")
    with twinsock.udp_socket(twinsock.SocketConfig(address_family=twinsock.AF_INET6)) as s:
        s.connect("dual.twinsock.test", peer.port6("udp"))
        assert s.get_remote_host() == "::1"
        s.send(b"forced v6")
        assert s.receive(100) == b"forced v6"
    found = twinsock.resolve("dual.twinsock.test", 1, twinsock.AF_INET4)
    # (glibc may list 127.0.0.1 twice here; what matters is that ::1 is filtered out)
    assert set(hosts_of(found)) == {"127.0.0.1"}, hosts_of(found)
