# The platform interface: what a port of twinsock supplies (docs/PORTING.md).
#
# A platform subclasses Platform and implements the REQUIRED methods; the
# optional ones below have defaults here, which either fall back to what
# avs_net does without the feature or raise NetError(ENOTSUP) naming it.
from twinsock.errors import invalid, unsupported

# Methods a platform must implement (the minimal port): name resolution, a
# socket, connect, close, waiting, receiving, and errno mapping.
REQUIRED = (
    "resolve",
    "socket",
    "connect",
    "close",
    "waiter",
    "stream_receiver",
    "datagram_receiver",
    "errno_of",
)

# SocketConfig fields that are off unless set; a platform lists in
# `config_fields` the ones it honours.
_CONFIG_FIELDS = ("interface_name", "transparent", "dscp", "priority", "reuse_addr")


class Platform:
    name = "custom"
    # True when the platform cannot report the local port (no getsockname):
    # twinsock then binds a port it chose itself before connecting.
    picks_local_port = False
    # SocketConfig fields this platform honours; others raise ENOTSUP.
    config_fields = ()

    def _missing(self, what):
        return unsupported("%s is not supported on platform %s" % (what, self.name))

    # -- global state -------------------------------------------------------

    def initialize(self):
        pass

    def cleanup(self):
        pass

    def features(self):
        return {
            "ipv6": False,
            "server": type(self).accept is not Platform.accept,
            "dtls_server": type(self).peek_sender is not Platform.peek_sender,
        }

    def check_config(self, config):
        for field in _CONFIG_FIELDS:
            if getattr(config, field) and field not in self.config_fields:
                raise self._missing("SocketConfig.%s" % field)

    # -- how twinsock calls the required waiter and datagram_receiver ----------
    # A built-in platform answers these directly, without a closure per
    # socket; a platform of your own can leave them.

    def poller(self, raw):
        """The readiness handle twinsock keeps per socket for wait()."""
        return self.waiter(raw)

    def wait(self, poller, timeout_ms):
        return poller(timeout_ms)

    def receive_datagram(self, receiver, buf):
        """`receiver` is what datagram_receiver(raw) returned."""
        return receiver(buf)

    # -- optional socket operations -------------------------------------------

    def bind(self, raw, addr):
        raise self._missing("bind")

    def listen(self, raw):
        raise self._missing("listen")

    def accept(self, raw):
        raise self._missing("accept")

    def start_datagrams(self, raw):
        """An unconnected UDP socket is about to send_to/receive_from."""

    def no_delay(self, raw):
        """Turn Nagle off on a TCP socket carrying TLS, where possible."""

    def local_address(self, raw, bound, remote_host):
        """(host, port) of the socket, or None; `bound` is what twinsock bound."""
        return bound

    def ephemeral_port(self):
        raise self._missing("choosing a local port")

    def host_port(self, addr):
        """(numeric host, port) of a platform address from recvfrom/accept."""
        return addr[0], addr[1]

    def datagram_from_receiver(self, raw):
        """Return receive_from(buf) -> (full length, host, port). This default
        uses the socket's recvfrom(n) -> (data, address), one byte more than
        asked to see truncation, and host_port()."""
        recvfrom = getattr(raw, "recvfrom", None)
        if recvfrom is None:
            raise self._missing("receive_from")
        host_port = self.host_port

        def receive_from(buf):
            data, addr = recvfrom(len(buf) + 1)
            n = len(data)
            buf[: min(n, len(buf))] = data[: len(buf)]
            host, port = host_port(addr)
            return n, host, port

        return receive_from

    def peek_sender(self, raw):
        """(host, port) of the next queued datagram, leaving it queued (a
        DTLS server learns its next client so)."""
        raise self._missing("peeking at a datagram's sender (DTLS server sockets)")

    def poll(self, raws, timeout_ms):
        raise self._missing("poll over several sockets")

    def shutdown(self, raw):
        # Without a real shutdown, closing is what tells the peer we are done.
        self.close(raw)

    def mtu(self, raw, family):
        return None  # twinsock falls back to the minimum MTU (576 / 1280)

    def interface_name(self, raw, local_host):
        raise self._missing("get_interface_name")

    def tls_engine(self):
        return None

    def tls_missing(self, dtls):
        return "the platform has no TLS engine; register one with use_tls_engine()"


def check(platform):
    """The names of REQUIRED methods `platform` lacks (empty when complete)."""
    return [name for name in REQUIRED if not callable(getattr(platform, name, None))]


def use_platform(platform):
    """Register `platform` (a twinsock.porting.Platform, or a built-in one from
    twinsock_port.load()) for every later call."""
    from twinsock import net, platform as registry

    missing = check(platform)
    if missing:
        name = getattr(platform, "name", None)
        if name is None:
            raise invalid("use_platform: %r is not a twinsock.porting.Platform" % (platform,))
        raise invalid("use_platform: platform %s lacks %s()" % (name, "(), ".join(missing)))
    current = net._current
    if current is not None and current is not platform:
        current.cleanup()
    registry._platform_engine = None  # found for the old platform
    net.use(platform)
