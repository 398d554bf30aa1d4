# MicroPython shim: what every MicroPython port shares. The few lines that
# differ per port (unix, esp32, rp2) live in that port's profile module.
try:
    import socket
except ImportError:  # firmware before v1.19 has only the u-names
    import usocket as socket
try:
    import select
except ImportError:
    import uselect as select
import os

from twinsock.const import AF_INET4, AF_INET6
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
from twinsock.porting import Platform

_TYPE = {"udp": socket.SOCK_DGRAM, "tcp": socket.SOCK_STREAM}
_AF = {AF_INET4: socket.AF_INET, AF_INET6: getattr(socket, "AF_INET6", 10)}
_POLLIN = select.POLLIN
_POLLOUT = select.POLLOUT


def _tuple_host_port(socket, addr):
    return addr[0], addr[1]


def _no_config(raw, family, config):
    pass


def _wlan_address(family):
    try:
        import network

        return network.WLAN(network.STA_IF).ifconfig()[0]
    except (ImportError, OSError, AttributeError):
        return "0.0.0.0"


class MicroPythonPlatform(Platform):
    # No getsockname: the layer binds a port it chose before connecting, so
    # get_local_port() is known.
    picks_local_port = True

    def __init__(self, name, profile):
        self.name = name
        self.profile = profile
        self.config_fields = ("reuse_addr",) + profile.CONFIG_FIELDS
        # Board ports share lwIP's behaviour; a profile overrides what differs.
        self._host_port = getattr(profile, "host_port", _tuple_host_port)
        self._apply_config = getattr(profile, "apply_config", _no_config)
        self._interface_address = getattr(profile, "interface_address", _wlan_address)

    def features(self):
        return {"ipv6": self.profile.IPV6, "server": True}

    def tls_engine(self):
        try:
            from twinsock_port import tls_micropython
        except ImportError:  # firmware without the tls module
            return None
        return tls_micropython

    def tls_missing(self, dtls):
        if dtls:
            return "this firmware's tls module has no DTLS (needs v1.25+; PSK needs v1.28+)"
        return "this firmware has no tls module (needs v1.23+) or no PSK support (v1.28+)"

    def resolve(self, host, port, family, kind, passive):
        try:
            infos = socket.getaddrinfo(host, port, _AF.get(family, 0), _TYPE[kind])
        except OSError as e:
            # unix: a string; rp2: -2; esp32: -200..-203. All mean "no address".
            if e.args and e.args[0] == ENOMEM:
                raise
            raise OSError(EADDRNOTAVAIL, "cannot resolve %r" % host)
        out = []
        for info in infos:
            addr = info[-1]
            ip, p = self._host_port(socket, addr)
            fam = AF_INET6 if ":" in ip else AF_INET4  # rp2 labels every entry AF_INET
            if (family and fam != family) or (fam == AF_INET6 and not self.profile.IPV6):
                continue
            entry = (fam, ip, p, addr)
            if entry not in out:
                out.append(entry)
        return out

    def socket(self, family, kind, config):
        # Positional arguments only: boards reject keywords, unix ignores them.
        raw = socket.socket(_AF[family], _TYPE[kind])
        try:
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

    def no_delay(self, raw):
        # Nagle against delayed ACKs costs a TLS handshake ~45 ms; the
        # socket module has no constant for it (IPPROTO_TCP 6, TCP_NODELAY 1).
        try:
            raw.setsockopt(6, 1, 1)
        except OSError:
            pass  # lwIP builds without the option: only slower

    def bind(self, raw, addr):
        raw.bind(addr)

    def listen(self, raw):
        raw.listen(4)
        raw.setblocking(False)

    def accept(self, raw):
        conn, addr = raw.accept()
        conn.setblocking(False)
        host, port = self._host_port(socket, addr)
        return conn, host, port

    def start_datagrams(self, raw):
        raw.setblocking(False)

    def local_address(self, raw, bound, remote_host):
        # No getsockname: the port is the one the layer bound; a wildcard
        # host becomes the address the route to the peer leaves from.
        if bound is None:
            return None
        host, port = bound
        if remote_host and host in ("0.0.0.0", "::"):
            if remote_host == "::1" or remote_host.startswith("127."):
                host = remote_host
            else:
                host = self._interface_address(AF_INET6 if ":" in host else AF_INET4)
        return host, port

    def ephemeral_port(self):
        b = os.urandom(2)
        return 49152 + ((b[0] << 8 | b[1]) % 16384)

    def host_port(self, addr):
        return self._host_port(socket, addr)

    def peek_sender(self, raw):
        peek = getattr(socket, "MSG_PEEK", None)
        if peek is None:  # lwIP ports take no recvfrom flags
            return Platform.peek_sender(self, raw)
        return self._host_port(socket, raw.recvfrom(1, peek)[1])

    def datagram_receiver(self, raw):
        # No recv_into, and readinto merges queued datagrams: receive one
        # byte more than asked to see truncation, then copy.
        recv = raw.recv

        def receive(buf):
            data = recv(len(buf) + 1)
            n = len(data)
            buf[: min(n, len(buf))] = data[: len(buf)] if n > len(buf) else data
            return n

        return receive

    def datagram_from_receiver(self, raw):
        recvfrom = raw.recvfrom
        host_port = self._host_port

        def receive_from(buf):
            data, addr = recvfrom(len(buf) + 1)
            n = len(data)
            buf[: min(n, len(buf))] = data[: len(buf)] if n > len(buf) else data
            host, port = host_port(socket, addr)
            return n, host, port

        return receive_from

    def stream_receiver(self, raw):
        # Non-blocking readinto stops at what is there: one call, no allocation.
        return raw.readinto

    def waiter(self, raw, writable=False):
        poller = select.poll()
        poller.register(raw, _POLLOUT if writable else _POLLIN)
        ipoll = poller.ipoll  # ipoll allocates nothing per call

        def wait(timeout_ms):
            for _ in ipoll(-1 if timeout_ms is None else timeout_ms):
                return True
            return False

        return wait

    def poll(self, raws, timeout_ms):
        poller = select.poll()
        for raw in raws:
            poller.register(raw, _POLLIN)
        return [entry[0] for entry in poller.poll(-1 if timeout_ms is None else timeout_ms)]

    def close(self, raw):
        raw.close()

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
