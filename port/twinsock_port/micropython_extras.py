# The MicroPython shim's rarer half: server side, datagrams to any address,
# poll, waiting to write, local addresses and configuration. install() puts
# these on MicroPythonPlatform the first time one is asked for.
from twinsock.errors import unsupported

from twinsock_port.micropython import select, socket


def install(cls):
    for name, value in globals().items():
        if name[:1] != "_" and callable(value) and name not in ("install", "unsupported"):
            setattr(cls, name, value)


def features(self):
    # DTLS server sockets learn their next client by peeking at a datagram:
    # recvfrom takes MSG_PEEK on the unix port, and on boards since v1.26.
    return {"ipv6": self.profile.IPV6, "server": True, "dtls_server": hasattr(socket, "MSG_PEEK")}


def check_config(self, config):
    for field in ("interface_name", "transparent", "dscp", "priority", "reuse_addr"):
        if getattr(config, field) and field not in self.config_fields:
            raise unsupported(
                "SocketConfig.%s is not supported on platform %s" % (field, self.name)
            )


def tls_missing(self, dtls):
    if dtls:
        return "this firmware's tls module has no DTLS (needs v1.25+; PSK needs v1.28+)"
    return "this firmware has no tls module (needs v1.23+) or no PSK support (v1.28+)"


def waiter(self, raw, writable=False):
    # the layer's own waits use poller()/wait(); this serves the writable
    # waits of a send that found no room, through the same wait()
    poller = select.poll()
    poller.register(raw, select.POLLOUT if writable else select.POLLIN)
    return lambda timeout_ms: self.wait(poller, timeout_ms)


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
            interface_address = getattr(self.profile, "interface_address", _wlan_address)
            host = interface_address(2 if ":" in host else 1)
    return host, port


def _wlan_address(family):
    try:
        import network

        return network.WLAN(network.STA_IF).ifconfig()[0]
    except (ImportError, OSError, AttributeError):
        return "0.0.0.0"


def host_port(self, addr):
    return self._host_port(socket, addr)


def peek_sender(self, raw):
    peek = getattr(socket, "MSG_PEEK", None)
    if peek is None:  # firmware whose recvfrom takes no flags
        raise unsupported(
            "peeking at a datagram's sender (DTLS server sockets) is not supported on platform %s"
            % self.name
        )
    return self._host_port(socket, raw.recvfrom(1, peek)[1])


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


def poll(self, raws, timeout_ms):
    poller = select.poll()
    for raw in raws:
        poller.register(raw, select.POLLIN)
    return [entry[0] for entry in poller.poll(-1 if timeout_ms is None else timeout_ms)]
