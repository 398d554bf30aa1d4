# Global state, cleanup, `with`, errors and the exported names.
import twinsock
from expect import raises

try:
    import errno
except ImportError:
    import uerrno as errno

FEATURE_KEYS = (
    "ipv6",
    "tls",
    "dtls",
    "psk",
    "session_resumption",
    "connection_id",
    "dane",
    "server",
)


def test_initialize_and_cleanup_are_idempotent(peer):
    twinsock.initialize()
    twinsock.initialize()
    twinsock.cleanup()
    twinsock.cleanup()
    # the library re-initialises lazily
    with twinsock.udp_socket() as s:
        s.connect(peer.host, peer.port("udp"))
        s.send(b"after cleanup")
        assert s.receive(100) == b"after cleanup"
    twinsock.initialize()


def test_every_call_after_cleanup_raises_ebadf(peer):
    s = twinsock.udp_socket()
    s.connect(peer.host, peer.port("udp"))
    s.cleanup()
    calls = (
        (s.connect, peer.host, peer.port("udp")),
        (s.send, b"x"),
        (s.send_to, b"x", peer.host, peer.port("udp")),
        (s.receive, 10),
        (s.receive_into, bytearray(10)),
        (s.receive_from, 10),
        (s.receive_from_into, bytearray(10)),
        (s.bind, None, 0),
        (s.shutdown,),
        (s.get_system_socket,),
        (s.get_remote_host,),
        (s.get_remote_hostname,),
        (s.get_remote_port,),
        (s.get_local_host,),
        (s.get_local_port,),
        (s.get_opt, twinsock.OPT_STATE),
        (s.set_opt, twinsock.OPT_RECV_TIMEOUT, 100),
    )
    for call in calls:
        raises(twinsock.EBADF, *call)
    s.close()
    s.cleanup()


def test_tcp_accept_after_cleanup_raises_ebadf(peer):
    s = twinsock.tcp_socket()
    s.bind("127.0.0.1", 0)
    s.cleanup()
    raises(twinsock.EBADF, s.accept)
    s.cleanup()


def test_with_calls_cleanup(peer):
    with twinsock.tcp_socket() as s:
        s.connect(peer.host, peer.port("tcp_echo"))
    raises(twinsock.EBADF, s.send, b"x")
    raises(twinsock.EBADF, s.get_opt, twinsock.OPT_STATE)


def test_with_cleans_up_when_the_body_raises(peer):
    try:
        with twinsock.udp_socket() as s:
            s.connect(peer.host, peer.port("udp"))
            raise KeyError("body")
    except KeyError:
        pass
    raises(twinsock.EBADF, s.send, b"x")


def test_features_is_a_dict_of_booleans(peer):
    have = twinsock.features()
    assert type(have) is dict
    for key in FEATURE_KEYS:
        assert key in have, key
        assert have[key] is True or have[key] is False, key


def test_errors_are_oserror_subclasses(peer):
    assert issubclass(twinsock.NetError, OSError)
    assert issubclass(twinsock.MessageTruncated, twinsock.NetError)
    assert issubclass(twinsock.TLSError, twinsock.NetError)


def test_exported_errnos_are_the_platform_values(peer):
    names = (
        "ETIMEDOUT",
        "EBADF",
        "ECONNREFUSED",
        "ECONNRESET",
        "EINVAL",
        "EADDRINUSE",
        "ENOTCONN",
        "ENOMEM",
        "EHOSTUNREACH",
        "EIO",
    )
    for name in names:
        value = getattr(twinsock, name)
        assert type(value) is int
        if hasattr(errno, name):
            assert value == getattr(errno, name), name
    # names MicroPython's errno lacks: the platform's value where it has one, else Linux's
    linux = {"EMSGSIZE": 90, "EPROTO": 71, "EADDRNOTAVAIL": 99, "EISCONN": 106, "ERANGE": 34}
    linux.update({"EPIPE": 32, "ENETUNREACH": 101})
    for name in linux:
        expected = getattr(errno, name, linux[name])
        assert getattr(twinsock, name) == expected, name
    assert twinsock.ENOTSUP in (getattr(errno, "ENOTSUP", 95), getattr(errno, "EOPNOTSUPP", 95))


def test_public_constants_have_the_avs_numbering(peer):
    assert (twinsock.AF_UNSPEC, twinsock.AF_INET4, twinsock.AF_INET6) == (0, 1, 2)
    states = (
        twinsock.STATE_CLOSED,
        twinsock.STATE_SHUTDOWN,
        twinsock.STATE_BOUND,
        twinsock.STATE_ACCEPTED,
        twinsock.STATE_CONNECTED,
    )
    assert states == (0, 1, 2, 3, 4)
    assert twinsock.OPT_RECV_TIMEOUT == 0
    assert twinsock.OPT_HAS_BUFFERED_DATA == 9
    assert twinsock.OPT_FORCED_ADDR_FAMILY == 13


def test_receive_on_a_never_connected_socket_is_a_net_error(peer):
    with twinsock.tcp_socket() as s:
        try:
            s.receive(10)
        except twinsock.NetError:
            pass
        else:
            raise AssertionError("receive on an unconnected socket returned")
        try:
            s.send(b"x")
        except twinsock.NetError:
            pass
        else:
            raise AssertionError("send on an unconnected socket returned")


def test_get_interface_name_returns_str_or_enotsup(peer):
    with twinsock.udp_socket() as s:
        s.connect(peer.host, peer.port("udp"))
        try:
            name = s.get_interface_name()
        except twinsock.NetError as e:
            assert e.errno == twinsock.ENOTSUP, e
        else:
            assert type(name) is str
