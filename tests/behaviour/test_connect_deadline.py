# One deadline per TCP connect(): a name whose addresses never answer fails with
# ETIMEDOUT once the connect timeout (10 s, avs_net's) has passed since the call
# began, not after 10 s per address.
#
# "Never answers" is real: a listener whose accept queue is full (listen(0) and one
# connection never accepted) makes Linux drop every further SYN, so a connect to it
# waits until it gives up. The name resolves to two such listeners, in a private
# mount namespace whose /etc/hosts holds HOSTS (tests/conftest.py).
#
# Only CPython and the MicroPython unix port: on the boards lwIP's resolver returns a
# single address per name.
import socket

import twinsock
from expect import elapsed_ms, now_ms, raises

RUNTIMES = ("cpython", "micropython-unix")
HOSTS = {"unanswered.twinsock.test": ["127.0.0.7", "127.0.0.8"]}
CONNECT_TIMEOUT_MS = 10000


def raw_address(host, port):
    return socket.getaddrinfo(host, port)[0][-1]


def free_port(host):
    with twinsock.tcp_socket() as probe:
        probe.bind(host, 0)
        return probe.get_local_port()


def full_listeners(hosts):
    """Listeners on `hosts`, one port number, each with its accept queue full; and
    the sockets to close afterwards."""
    for _ in range(20):
        port = free_port(hosts[0])
        held = []
        try:
            for host in hosts:
                listener = socket.socket()
                held.append(listener)
                listener.bind(raw_address(host, port))
                listener.listen(0)
                filler = socket.socket()  # queued, never accepted: the queue is full
                held.append(filler)
                filler.connect(raw_address(host, port))
            return port, held
        except OSError:  # that port is taken on the second address: try another
            for s in held:
                s.close()
    raise AssertionError("no common free port on %s" % (hosts,))


def test_connect_ends_at_one_deadline_across_all_addresses(peer):
    port, held = full_listeners(HOSTS["unanswered.twinsock.test"])
    try:
        with twinsock.tcp_socket() as s:
            start = now_ms()
            e = raises(twinsock.ETIMEDOUT, s.connect, "unanswered.twinsock.test", port)
            took = elapsed_ms(start)
            assert "connect" in str(e), e
            assert CONNECT_TIMEOUT_MS - 20 <= took <= CONNECT_TIMEOUT_MS + 2000, (
                "connect timed out after %d ms, not %d (%s)" % (took, CONNECT_TIMEOUT_MS, e)
            )
            assert s.get_opt(twinsock.OPT_STATE) == twinsock.STATE_CLOSED
    finally:
        for s in held:
            s.close()
