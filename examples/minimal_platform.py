"""The smallest complete twinsock platform: only the required methods.

Like the minimal implementation in Anjay's porting guide, it gives UDP and TCP
clients (connect, send, receive with a timeout, close) and nothing else; every
optional call (bind, accept, receive_from, poll, get_interface_name, ...) fails
with NetError(ENOTSUP) from twinsock's defaults. It runs on CPython over the
standard socket module; a real port would call its network stack instead.

    import twinsock
    from examples.minimal_platform import MinimalPlatform

    twinsock.use_platform(MinimalPlatform())
    sock = twinsock.udp_socket()
    sock.connect("127.0.0.1", 5683)
"""

import errno
import select
import socket

from twinsock.const import AF_INET4, AF_INET6
from twinsock.porting import Platform

_FAMILY = {AF_INET4: socket.AF_INET, AF_INET6: socket.AF_INET6}
_KIND = {"udp": socket.SOCK_DGRAM, "tcp": socket.SOCK_STREAM}


class MinimalPlatform(Platform):
    name = "minimal"

    def resolve(self, host, port, family, kind, passive):
        try:
            infos = socket.getaddrinfo(host, port, _FAMILY.get(family, 0), _KIND[kind])
        except socket.gaierror:
            raise OSError(errno.EADDRNOTAVAIL, "cannot resolve %r" % host)
        twinsock_family = {socket.AF_INET: AF_INET4, socket.AF_INET6: AF_INET6}
        return [
            (twinsock_family[af], addr[0], addr[1], addr)
            for af, _, _, _, addr in infos
            if af in twinsock_family
        ]

    def socket(self, family, kind, config):
        return socket.socket(_FAMILY[family], _KIND[kind])

    def connect(self, raw, address, timeout_ms):
        raw.settimeout(timeout_ms / 1000)
        raw.connect(address)
        raw.setblocking(False)  # twinsock waits with waiter(), never in a call

    def close(self, raw):
        raw.close()

    def waiter(self, raw, writable=False):
        def wait(timeout_ms):
            timeout = None if timeout_ms is None else timeout_ms / 1000
            ready = (
                select.select([], [raw], [], timeout)
                if writable
                else select.select([raw], [], [], timeout)
            )
            return any(ready)

        return wait

    def stream_receiver(self, raw):
        return raw.recv_into

    def datagram_receiver(self, raw):
        # One byte more than the caller's buffer tells a truncated datagram.
        def receive(buf):
            data = raw.recv(len(buf) + 1)
            kept = min(len(data), len(buf))
            buf[:kept] = data[:kept]
            return len(data)

        return receive

    def errno_of(self, exc):
        if isinstance(exc, socket.timeout):
            return errno.ETIMEDOUT
        if isinstance(exc, OSError) and exc.errno:
            return exc.errno
        return errno.EINVAL if isinstance(exc, (TypeError, ValueError)) else errno.EIO
