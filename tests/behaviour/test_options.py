# get_opt/set_opt and the avs_net state machine, on UDP and TCP sockets.
import twinsock
from expect import raises

READ_ONLY = (
    twinsock.OPT_STATE,
    twinsock.OPT_ADDR_FAMILY,
    twinsock.OPT_MTU,
    twinsock.OPT_INNER_MTU,
    twinsock.OPT_BYTES_SENT,
    twinsock.OPT_BYTES_RECEIVED,
    twinsock.OPT_HAS_BUFFERED_DATA,
)


def test_receive_timeout_defaults_to_30000_ms(peer):
    with twinsock.udp_socket() as u, twinsock.tcp_socket() as t:
        assert u.get_opt(twinsock.OPT_RECV_TIMEOUT) == 30000
        assert t.get_opt(twinsock.OPT_RECV_TIMEOUT) == 30000


def test_receive_timeout_set_and_get(peer):
    with twinsock.udp_socket() as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 300)
        assert s.get_opt(twinsock.OPT_RECV_TIMEOUT) == 300
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, None)
        assert s.get_opt(twinsock.OPT_RECV_TIMEOUT) is None
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 0)
        assert s.get_opt(twinsock.OPT_RECV_TIMEOUT) == 0


def test_invalid_receive_timeouts_raise_einval_and_keep_the_old_value(peer):
    with twinsock.tcp_socket() as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 1234)
        for bad in (-1, "x", 1.5, b"300", [300]):
            raises(twinsock.EINVAL, s.set_opt, twinsock.OPT_RECV_TIMEOUT, bad)
            assert s.get_opt(twinsock.OPT_RECV_TIMEOUT) == 1234


def test_udp_states_closed_bound_connected_shutdown_closed(peer):
    with twinsock.udp_socket() as s:
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        s.bind("127.0.0.1", 0)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_BOUND
        s.connect(peer.host, peer.port("udp"))
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED
        raises(twinsock.EISCONN, s.connect, peer.host, peer.port("udp"))
        s.shutdown()
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_SHUTDOWN
        s.close()
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED


def test_udp_reconnects_after_close(peer):
    with twinsock.udp_socket() as s:
        s.connect(peer.host, peer.port("udp"))
        s.close()
        s.close()  # twice is harmless
        s.connect(peer.host, peer.port("udp"))
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED
        s.send(b"again")
        assert s.receive(10) == b"again"


def test_tcp_states_and_eisconn(peer):
    with twinsock.tcp_socket() as s:
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        s.connect(peer.host, peer.port("tcp_echo"))
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CONNECTED
        raises(twinsock.EISCONN, s.connect, peer.host, peer.port("tcp_echo"))
        s.shutdown()
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_SHUTDOWN
        s.close()
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
        s.connect(peer.host, peer.port("tcp_echo"))
        s.send(b"x")
        assert s.receive(1) == b"x"


def test_tcp_connect_on_a_listening_socket_raises_eisconn(peer):
    with twinsock.tcp_socket() as s:
        s.bind("127.0.0.1", 0)
        assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_BOUND
        raises(twinsock.EISCONN, s.connect, peer.host, peer.port("tcp_echo"))


def test_has_buffered_data_is_false(peer):
    with twinsock.udp_socket() as s:
        s.connect(peer.host, peer.port("udp"))
        value = s.get_opt(twinsock.OPT_HAS_BUFFERED_DATA)
        assert value is False


def test_byte_counters_start_at_zero(peer):
    with twinsock.tcp_socket() as s:
        assert s.get_opt(twinsock.OPT_BYTES_SENT) == 0
        assert s.get_opt(twinsock.OPT_BYTES_RECEIVED) == 0


def test_preferred_and_forced_family_default_from_config(peer):
    with twinsock.udp_socket() as s:
        assert s.get_opt(twinsock.OPT_PREFERRED_ADDR_FAMILY) == twinsock.AF_UNSPEC
        assert s.get_opt(twinsock.OPT_FORCED_ADDR_FAMILY) == twinsock.AF_UNSPEC
    config = twinsock.SocketConfig(preferred_family=twinsock.AF_INET4)
    with twinsock.udp_socket(config) as s:
        assert s.get_opt(twinsock.OPT_PREFERRED_ADDR_FAMILY) == twinsock.AF_INET4
    config = twinsock.SocketConfig(address_family=twinsock.AF_INET4)
    with twinsock.udp_socket(config) as s:
        assert s.get_opt(twinsock.OPT_FORCED_ADDR_FAMILY) == twinsock.AF_INET4


def test_preferred_and_forced_family_set_and_get(peer):
    with twinsock.tcp_socket() as s:
        for key in (twinsock.OPT_PREFERRED_ADDR_FAMILY, twinsock.OPT_FORCED_ADDR_FAMILY):
            for family in (twinsock.AF_INET4, twinsock.AF_INET6, twinsock.AF_UNSPEC):
                s.set_opt(key, family)
                assert s.get_opt(key) == family
            raises(twinsock.EINVAL, s.set_opt, key, 7)
            raises(twinsock.EINVAL, s.set_opt, key, "inet")


def test_forced_family_is_honoured_by_connect(peer):
    with twinsock.udp_socket() as s:
        s.set_opt(twinsock.OPT_FORCED_ADDR_FAMILY, twinsock.AF_INET6)
        raises(twinsock.EADDRNOTAVAIL, s.connect, "127.0.0.1", peer.port("udp"))
    with twinsock.udp_socket() as s:
        s.set_opt(twinsock.OPT_FORCED_ADDR_FAMILY, twinsock.AF_INET4)
        raises(twinsock.EADDRNOTAVAIL, s.connect, "::1", peer.port("udp"))
        s.connect("127.0.0.1", peer.port("udp"))
        assert s.get_opt(twinsock.OPT_ADDR_FAMILY) == twinsock.AF_INET4


def test_unknown_option_key_raises_einval(peer):
    with twinsock.udp_socket() as s:
        for key in (99, -1, "state", None):
            raises(twinsock.EINVAL, s.get_opt, key)
            raises(twinsock.EINVAL, s.set_opt, key, 1)


def test_read_only_options_cannot_be_set(peer):
    with twinsock.udp_socket() as s:
        s.connect(peer.host, peer.port("udp"))
        for key in READ_ONLY:
            before = s.get_opt(key)
            raises((twinsock.EINVAL, twinsock.ENOTSUP), s.set_opt, key, 1)
            assert s.get_opt(key) == before


def test_tls_only_options_do_not_fit_plain_sockets(peer):
    with twinsock.udp_socket() as s:
        for key in (twinsock.OPT_SESSION_RESUMED, twinsock.OPT_CONNECTION_ID_RESUMED):
            raises((twinsock.ENOTSUP, twinsock.EBADF, twinsock.EINVAL), s.get_opt, key)
        raises(
            (twinsock.ENOTSUP, twinsock.EBADF, twinsock.EINVAL),
            s.set_opt,
            twinsock.OPT_DTLS_HANDSHAKE_TIMEOUTS,
            (1000, 60000),
        )


def test_mtu_fallback_before_connect_is_an_int(peer):
    with twinsock.udp_socket() as s:
        mtu = s.get_opt(twinsock.OPT_MTU)
        assert type(mtu) is int
        assert mtu > 0
