# One deadline per blocking call: a receive or accept with OPT_RECV_TIMEOUT 500 ms
# ends 500 ms after it began, however often the socket turns readable with nothing
# to read (spurious readiness, a datagram someone else took, a connection gone before
# accept). A restarted clock would end it up to 500 ms later.
#
# The empty readiness comes from a wrapper around the running platform (the real
# sockets and peers stay): its wait() reports "readable" 350 ms into the call and
# every 100 ms after, with nothing there.
import twinsock
from expect import elapsed_ms, now_ms, raises

FIRST_MS = 350
EVERY_MS = 100


class EmptyReadiness:
    """The running platform, but readable-with-nothing-there on a schedule."""

    def __init__(self, platform):
        self.inner = platform
        self.name = platform.name
        self.start = None  # ticks_ms of the call; None: no empty readiness

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def wait(self, poller, timeout_ms):
        return self.drip(lambda ms: self.inner.wait(poller, ms), timeout_ms)

    def waiter(self, raw, writable=False):
        wait = self.inner.waiter(raw, writable)
        return wait if writable else (lambda ms: self.drip(wait, ms))

    def drip(self, wait, timeout_ms):
        if self.start is None:
            return wait(timeout_ms)
        since = elapsed_ms(self.start)
        next_at = FIRST_MS if since < FIRST_MS else since + EVERY_MS - (since - FIRST_MS) % EVERY_MS
        if timeout_ms is not None and since + timeout_ms < next_at:
            return wait(timeout_ms)
        # readable for real before the next empty readiness, or "readable" then
        return wait(next_at - since) or True


def with_empty_readiness(test):
    def run(peer):
        from twinsock import platform

        real = platform.get()
        fake = EmptyReadiness(real)
        twinsock.use_platform(fake)
        try:
            test(peer, fake)
        finally:
            twinsock.use_platform(real)

    return run


def timed_out_at_deadline(fake, call, *args):
    fake.start = start = now_ms()
    try:
        e = raises(twinsock.ETIMEDOUT, call, *args)
    finally:
        fake.start = None
    took = elapsed_ms(start)
    assert 500 - 20 <= took <= 800, "%s timed out after %d ms, not 500" % (e, took)


@with_empty_readiness
def test_udp_receive_ends_at_its_deadline(peer, fake):
    with twinsock.udp_socket() as s:
        s.connect(peer.host, peer.port("udp"))
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 500)
        s.send(b"SILENT")
        timed_out_at_deadline(fake, s.receive, 100)
        s.send(b"SILENT")
        timed_out_at_deadline(fake, s.receive_into, bytearray(100))
        s.send(b"still usable")
        assert s.receive(100) == b"still usable"


@with_empty_readiness
def test_tcp_receive_and_accept_end_at_their_deadline(peer, fake):
    with twinsock.tcp_socket() as listener, twinsock.tcp_socket() as client:
        listener.bind("127.0.0.1", 0)
        listener.set_opt(twinsock.OPT_RECV_TIMEOUT, 500)
        timed_out_at_deadline(fake, listener.accept)
        client.connect("127.0.0.1", listener.get_local_port())
        with listener.accept() as server:
            client.set_opt(twinsock.OPT_RECV_TIMEOUT, 500)
            timed_out_at_deadline(fake, client.receive_into, bytearray(100))
            timed_out_at_deadline(fake, client.receive, 100)
            server.send(b"still usable")
            assert client.receive(100) == b"still usable"
