# CPython shim: the stdlib socket module on a desktop or CI host.
import errno
import select
import socket
import sys

from twinsock.const import AF_INET4, AF_INET6
from twinsock.errors import (
    EADDRNOTAVAIL,
    EINVAL,
    EIO,
    ENOMEM,
    ENOTCONN,
    ETIMEDOUT,
    invalid,
    unsupported,
)
from twinsock.porting import Platform

_LINUX = sys.platform.startswith("linux")
_AF = {AF_INET4: socket.AF_INET, AF_INET6: socket.AF_INET6}
_FAMILY = {socket.AF_INET: AF_INET4, socket.AF_INET6: AF_INET6}
_TYPE = {"udp": socket.SOCK_DGRAM, "tcp": socket.SOCK_STREAM}
# Linux option numbers the socket module does not always name.
_IP_MTU = 14
_IPV6_MTU = 24
_IP_TRANSPARENT = 19
_SO_PRIORITY = getattr(socket, "SO_PRIORITY", 12)
_SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)


class CPythonPlatform(Platform):
    name = "cpython"
    # getsockname exists: the local port is whatever the OS picked.
    picks_local_port = False
    if _LINUX:
        config_fields = ("reuse_addr", "dscp", "priority", "interface_name", "transparent")
    else:
        config_fields = ("reuse_addr", "dscp")

    def features(self):
        return {"ipv6": socket.has_ipv6, "server": True, "dtls_server": True}

    def tls_engine(self):
        try:
            from twinsock_port import tls_cpython
        except ImportError:  # pyOpenSSL not installed
            return None
        return tls_cpython

    def tls_missing(self, dtls):
        return "install pyOpenSSL (pip install pyOpenSSL) for TLS, DTLS and PSK on CPython"

    def resolve(self, host, port, family, kind, passive):
        flags = socket.AI_PASSIVE if passive else 0
        try:
            infos = socket.getaddrinfo(host, port, _AF.get(family, 0), _TYPE[kind], 0, flags)
        except socket.gaierror:
            raise OSError(EADDRNOTAVAIL, "cannot resolve %r" % host)
        except UnicodeError:
            raise OSError(EADDRNOTAVAIL, "cannot resolve %r" % host)
        out = []
        for af, _, _, _, addr in infos:
            if af in _FAMILY:
                out.append((_FAMILY[af], addr[0], addr[1], addr))
        return out

    def socket(self, family, kind, config):
        raw = socket.socket(_AF[family], _TYPE[kind])
        try:
            if config is not None:  # None: the defaults
                self._apply(raw, family, config)
        except BaseException:
            raw.close()
            raise
        return raw

    def _apply(self, raw, family, config):
        if config.reuse_addr:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if config.dscp:
            if family == AF_INET6:
                raw.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, config.dscp << 2)
            else:
                raw.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, config.dscp << 2)
        if config.priority:
            raw.setsockopt(socket.SOL_SOCKET, _SO_PRIORITY, config.priority)
        if config.interface_name:
            name = config.interface_name.encode()
            _privileged(raw.setsockopt, "interface_name", socket.SOL_SOCKET, _SO_BINDTODEVICE, name)
        if config.transparent:
            level = socket.IPPROTO_IPV6 if family == AF_INET6 else socket.IPPROTO_IP
            _privileged(raw.setsockopt, "transparent", level, _IP_TRANSPARENT, 1)

    def connect(self, raw, addr, timeout_ms):
        raw.settimeout(timeout_ms / 1000)
        raw.connect(addr)
        raw.setblocking(False)

    def no_delay(self, raw):
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def bind(self, raw, addr):
        raw.bind(addr)

    def listen(self, raw):
        raw.listen(16)
        raw.setblocking(False)

    def accept(self, raw):
        conn, addr = raw.accept()
        conn.setblocking(False)
        return conn, addr[0], addr[1]

    def start_datagrams(self, raw):
        # An unconnected UDP socket still wants non-blocking receives.
        raw.setblocking(False)

    def local_address(self, raw, bound, remote_host):
        host, port = raw.getsockname()[:2]
        return host, port

    def peek_sender(self, raw):
        addr = raw.recvfrom(1, socket.MSG_PEEK)[1]
        return addr[0], addr[1]

    def datagram_receiver(self, raw):
        """Return receive(buf) -> the datagram's full length (> len(buf) when
        it was truncated), the buffer holding its first bytes."""
        if _LINUX:
            # MSG_TRUNC makes Linux report the real length: no extra buffer.
            recv_into = raw.recv_into
            trunc = socket.MSG_TRUNC

            def receive(buf):
                return recv_into(buf, 0, trunc)

            return receive
        return _ScratchReceiver(raw.recvfrom_into).receive

    def datagram_from_receiver(self, raw):
        """Return receive_from(buf) -> (full length, host, port)."""
        if _LINUX:
            recvfrom_into = raw.recvfrom_into
            trunc = socket.MSG_TRUNC

            def receive_from(buf):
                n, addr = recvfrom_into(buf, 0, trunc)
                return n, addr[0], addr[1]

            return receive_from
        return _ScratchReceiver(raw.recvfrom_into).receive_from

    def stream_receiver(self, raw):
        return raw.recv_into

    def waiter(self, raw, writable=False):
        poller = select.poll()
        poller.register(raw, select.POLLOUT if writable else select.POLLIN)
        poll = poller.poll

        def wait(timeout_ms):
            return bool(poll(timeout_ms))

        return wait

    def poll(self, raws, timeout_ms):
        poller = select.poll()
        by_fd = {}
        for raw in raws:
            fd = raw.fileno()
            by_fd[fd] = raw
            poller.register(fd, select.POLLIN)
        return [by_fd[fd] for fd, _ in poller.poll(timeout_ms)]

    def shutdown(self, raw):
        try:
            raw.shutdown(socket.SHUT_RDWR)
        except OSError as e:
            if e.errno != ENOTCONN:
                raise

    def close(self, raw):
        raw.close()

    def mtu(self, raw, family):
        if not _LINUX:
            return None
        try:
            if family == AF_INET6:
                return raw.getsockopt(socket.IPPROTO_IPV6, _IPV6_MTU)
            return raw.getsockopt(socket.IPPROTO_IP, _IP_MTU)
        except OSError:
            return None

    def interface_name(self, raw, local_host):
        if _LINUX and local_host:
            name = _linux_interface_of(local_host)
            if name:
                return name
        raise unsupported("get_interface_name: no interface has address %s" % local_host)

    def errno_of(self, exc):
        if isinstance(exc, socket.timeout):
            return ETIMEDOUT
        if isinstance(exc, OSError):
            return exc.errno or EIO
        if isinstance(exc, MemoryError):
            return ENOMEM
        if isinstance(exc, (TypeError, ValueError, OverflowError)):
            return EINVAL
        return EIO


class _ScratchReceiver:
    """Truncation detection without MSG_TRUNC: receive into a buffer one
    byte larger than the caller's, then copy."""

    def __init__(self, recvfrom_into):
        self._recvfrom_into = recvfrom_into
        self._scratch = bytearray(0)

    def receive_from(self, buf):
        size = len(buf) + 1
        if len(self._scratch) < size:
            self._scratch = bytearray(size)
        n, addr = self._recvfrom_into(self._scratch, size)
        kept = min(n, len(buf))
        memoryview(buf)[:kept] = memoryview(self._scratch)[:kept]
        return n, addr[0], addr[1]

    def receive(self, buf):
        return self.receive_from(buf)[0]


def _privileged(setsockopt, field, *args):
    try:
        setsockopt(*args)
    except PermissionError:
        raise unsupported("SocketConfig.%s needs CAP_NET_ADMIN/CAP_NET_RAW here" % field)
    except OSError as e:
        if e.errno == errno.ENODEV:
            raise invalid("SocketConfig.%s: no such interface %r" % (field, args[-1]))
        raise


def _linux_interface_of(host):
    """The name of the interface that owns address `host` (Linux only)."""
    import fcntl
    import struct

    if ":" in host:
        packed = socket.inet_pton(socket.AF_INET6, host.split("%")[0]).hex()
        try:
            with open("/proc/net/if_inet6") as f:
                for line in f:
                    fields = line.split()
                    if fields[0] == packed:
                        return fields[5]
        except OSError:
            return None
        return None
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _, name in socket.if_nameindex():
            req = struct.pack("256s", name.encode()[:15])
            try:
                got = fcntl.ioctl(probe.fileno(), 0x8915, req)  # SIOCGIFADDR
            except OSError:
                continue
            if socket.inet_ntoa(got[20:24]) == host:
                return name
    finally:
        probe.close()
    return None
