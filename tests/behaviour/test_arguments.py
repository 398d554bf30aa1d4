# Bad arguments of every kind: NetError(EINVAL) naming the argument, never a raw
# TypeError/ValueError/OSError from the platform.
import twinsock
from expect import raises

BAD_PORTS = ("http", "", "80x", 70000, 65536, -1, 1.5, None, b"80", [80], True)


def test_connect_rejects_bytes_and_non_string_hosts(peer):
    with twinsock.udp_socket() as s:
        for host in (b"127.0.0.1", None, 127, ["127.0.0.1"]):
            e = raises(twinsock.EINVAL, s.connect, host, peer.port("udp"))
            assert "host" in str(e), str(e)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED


def test_connect_rejects_bad_ports(peer):
    with twinsock.tcp_socket() as s:
        for port in BAD_PORTS:
            e = raises(twinsock.EINVAL, s.connect, peer.host, port)
            assert "port" in str(e), str(e)
        s.connect(peer.host, peer.port("tcp_echo"))


def test_bind_rejects_bad_addresses_and_ports(peer):
    with twinsock.udp_socket() as s:
        raises(twinsock.EINVAL, s.bind, b"127.0.0.1", 0)
        raises(twinsock.EINVAL, s.bind, 5, 0)
        for port in BAD_PORTS:
            raises(twinsock.EINVAL, s.bind, "127.0.0.1", port)


def test_send_to_rejects_bad_arguments(peer):
    with twinsock.udp_socket() as s:
        s.bind("127.0.0.1", 0)
        raises(twinsock.EINVAL, s.send_to, b"x", b"127.0.0.1", peer.port("udp"))
        for port in BAD_PORTS:
            raises(twinsock.EINVAL, s.send_to, b"x", peer.host, port)
        raises(twinsock.EINVAL, s.send_to, "text", peer.host, peer.port("udp"))


def test_send_rejects_non_buffers(peer):
    with twinsock.udp_socket() as s:
        s.connect(peer.host, peer.port("udp"))
        for data in ("text", 5, None, [1, 2]):
            raises(twinsock.EINVAL, s.send, data)
    with twinsock.tcp_socket() as s:
        s.connect(peer.host, peer.port("tcp_echo"))
        raises(twinsock.EINVAL, s.send, "text")


def test_receive_rejects_bad_sizes_and_buffers(peer):
    with twinsock.udp_socket() as s:
        s.connect(peer.host, peer.port("udp"))
        for size in (-1, "10", None, 1.5):
            raises(twinsock.EINVAL, s.receive, size)
            raises(twinsock.EINVAL, s.receive_from, size)
        for buf in (b"read-only", "text", 10, None):
            raises(twinsock.EINVAL, s.receive_into, buf)
            raises(twinsock.EINVAL, s.receive_from_into, buf)
    with twinsock.tcp_socket() as s:
        s.connect(peer.host, peer.port("tcp_echo"))
        raises(twinsock.EINVAL, s.receive, -5)
        raises(twinsock.EINVAL, s.receive_into, b"read-only")


def test_socket_config_rejects_bad_values(peer):
    bad = (
        {"dscp": 64},
        {"dscp": -1},
        {"priority": 8},
        {"priority": -1},
        {"address_family": 7},
        {"address_family": "inet"},
        {"preferred_family": 3},
        {"forced_mtu": -1},
        {"forced_mtu": "1500"},
        {"preferred_endpoint": "127.0.0.1"},
    )
    for fields in bad:
        name = list(fields)[0]
        try:
            twinsock.udp_socket(twinsock.SocketConfig(**fields))
        except twinsock.NetError as e:
            assert e.errno == twinsock.EINVAL, (fields, e)
            assert name in str(e), (fields, str(e))
        else:
            raise AssertionError("SocketConfig(%r) was accepted" % (fields,))


def test_factories_reject_a_non_config(peer):
    raises(twinsock.EINVAL, twinsock.udp_socket, "config")
    raises(twinsock.EINVAL, twinsock.tcp_socket, {"dscp": 0})


def test_unsupported_config_fields_raise_enotsup_naming_the_field(peer):
    # Each field either works on this platform or is refused by name: never ignored.
    for fields in ({"interface_name": "lo"}, {"dscp": 10}, {"priority": 3}, {"transparent": True}):
        name = list(fields)[0]
        try:
            s = twinsock.udp_socket(twinsock.SocketConfig(**fields))
        except twinsock.NetError as e:
            assert e.errno == twinsock.ENOTSUP, (fields, e)
            assert name in str(e), (fields, str(e))
            continue
        with s:
            s.connect(peer.host, peer.port("udp"))
            s.send(b"configured")
            assert s.receive(100) == b"configured"


def test_interface_name_is_reported_when_supported(peer):
    try:
        s = twinsock.udp_socket(twinsock.SocketConfig(interface_name="lo"))
    except twinsock.NetError as e:
        assert e.errno == twinsock.ENOTSUP
        assert "interface_name" in str(e)
        return
    with s:
        s.connect(peer.host, peer.port("udp"))
        assert s.get_interface_name() == "lo"
