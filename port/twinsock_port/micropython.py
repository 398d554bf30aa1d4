# MicroPython shim: what every MicroPython port shares. The few lines that
# differ per port (unix, esp32, rp2) live in that port's profile module. This
# holds what connecting, sending and receiving need; everything else
# (server side, datagrams to any address, poll, ...) is in micropython_extras.py,
# which joins the class on first use.
try:
    import socket
except ImportError:  # firmware before v1.19 has only the u-names
    import usocket as socket
try:
    import select
except ImportError:
    import uselect as select
import os

from twinsock.errors import (
    EADDRNOTAVAIL,
    EAGAIN,
    ECONNREFUSED,
    ECONNRESET,
    EINPROGRESS,
    EINVAL,
    EIO,
    ENOMEM,
    ETIMEDOUT,
)


def _tuple_host_port(socket, addr):
    return addr[0], addr[1]


def _no_config(raw, family, config):
    pass


class MicroPythonPlatform:
    # No getsockname: the layer binds a port it chose before connecting, so
    # get_local_port() is known.
    picks_local_port = True
    mtu = None  # no path MTU query: the layer assumes avs_net's minimum

    def __init__(self, name, profile):
        self.name = name
        self.profile = profile
        self.config_fields = ("reuse_addr",) + profile.CONFIG_FIELDS  # SocketConfig fields
        # Board ports share lwIP's behaviour; a profile overrides what differs.
        self._host_port = getattr(profile, "host_port", _tuple_host_port)
        self._apply_config = getattr(profile, "apply_config", _no_config)

    def __getattr__(self, name):
        if name[:2] == "__":
            raise AttributeError(name)
        from twinsock_port import micropython_extras

        micropython_extras.install(MicroPythonPlatform)
        if not hasattr(MicroPythonPlatform, name):
            raise AttributeError("MicroPython platform has no %r" % name)
        return getattr(self, name)

    def initialize(self):
        pass  # the network interface is the application's to bring up

    cleanup = initialize

    def resolve(self, host, port, family, kind, passive):
        af = (0, socket.AF_INET, getattr(socket, "AF_INET6", 10))[family]
        try:
            infos = socket.getaddrinfo(host, port, af, _type(kind))
        except OSError as e:
            # unix: a string; rp2: -2; esp32: -200..-203. All mean "no address".
            if e.args and e.args[0] == ENOMEM:
                raise
            raise OSError(EADDRNOTAVAIL, "cannot resolve %r" % host)
        out = []
        for info in infos:
            addr = info[-1]
            if addr is None:  # esp32: an AF_INET6 entry of an IPv4-only lwIP
                continue
            ip, p = self._host_port(socket, addr)
            fam = 2 if ":" in ip else 1  # rp2 labels every entry AF_INET
            if (family and fam != family) or (fam == 2 and not self.profile.IPV6):
                continue
            entry = (fam, ip, p, addr)
            if entry not in out:
                out.append(entry)
        return out

    def socket(self, family, kind, config):
        # Positional arguments only: boards reject keywords, unix ignores them.
        af = socket.AF_INET if family == 1 else getattr(socket, "AF_INET6", 10)
        raw = socket.socket(af, _type(kind))
        try:
            if config is not None:  # None: the defaults
                if config.reuse_addr:
                    raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self._apply_config(raw, family, config)
        except BaseException:
            raw.close()
            raise
        return raw

    def connect(self, raw, addr, timeout_ms):
        raw.settimeout(timeout_ms / 1000)
        try:
            raw.connect(addr)
        except OSError as e:
            code = e.args[0]
            if code in (EINPROGRESS, EAGAIN):  # how rp2/esp32 report a timed-out connect
                raise OSError(ETIMEDOUT, "connect timed out")
            if code == ECONNRESET and self.profile.RESET_MEANS_REFUSED:
                raise OSError(ECONNREFUSED, "connection refused")
            raise
        raw.setblocking(False)

    def bind(self, raw, addr):
        raw.bind(addr)

    def ephemeral_port(self):
        b = os.urandom(2)
        return 49152 + ((b[0] << 8 | b[1]) % 16384)

    def close(self, raw):
        raw.close()

    # -- what a (D)TLS socket asks: here, so a secure client loads no extras --

    def tls_engine(self):
        try:
            from twinsock_port import tls_mbedtls
        except ImportError:  # firmware without the tls module
            return None
        return tls_mbedtls

    def no_delay(self, raw):
        # Nagle against delayed ACKs costs a TLS handshake ~45 ms. esp32 (v1.23+) and
        # lwIP ports name the option; the unix port does not (IPPROTO_TCP 6, TCP_NODELAY 1).
        try:
            raw.setsockopt(getattr(socket, "IPPROTO_TCP", 6), getattr(socket, "TCP_NODELAY", 1), 1)
        except OSError:
            pass  # lwIP builds without the option: only slower

    # -- waiting and receiving: no per-socket closures ----------------------

    def poller(self, raw):
        poller = select.poll()
        poller.register(raw, select.POLLIN)
        return poller

    def wait(self, poller, timeout_ms):
        for _ in poller.ipoll(-1 if timeout_ms is None else timeout_ms):  # allocates nothing
            return True
        return False

    def datagram_receiver(self, raw):
        return raw

    def receive_datagram(self, raw, buf):
        # No recv_into, and readinto merges queued datagrams: receive one
        # byte more than asked to see truncation, then copy.
        data = raw.recv(len(buf) + 1)
        n = len(data)
        buf[: min(n, len(buf))] = data[: len(buf)] if n > len(buf) else data
        return n

    def stream_receiver(self, raw):
        # Non-blocking readinto stops at what is there: one call, no allocation.
        return raw.readinto

    def errno_of(self, exc):
        if isinstance(exc, OSError):
            code = exc.args[0] if exc.args else EIO
            if not isinstance(code, int) or code < 0:
                return EIO
            return code
        if isinstance(exc, MemoryError):
            return ENOMEM
        if isinstance(exc, (TypeError, ValueError, OverflowError)):
            return EINVAL
        return EIO


def _type(kind):
    return socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
