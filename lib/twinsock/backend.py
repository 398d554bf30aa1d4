# What a (D)TLS socket asks of its UDP/TCP backend beyond connect, send and
# receive: the platform socket and the MTU. Loaded on first use, apart from
# twinsock/extras.py, so a secure socket does not pay for the rarer v-table.
# install() puts these on twinsock.net.Socket (twinsock.extras does too).

# IP + UDP header sizes, and the minimum MTUs avs_net assumes when the
# platform cannot tell (576 for IPv4, 1280 for IPv6), by address family
# (AF_INET4 = 1, AF_INET6 = 2). Here, their one user, rather than in
# twinsock.const: every DTLS connect asks for the MTU, and would load const.
UDP_HEADER = (0, 28, 48)
FALLBACK_MTU = (0, 576, 1280)


def install(cls):
    for name in ("get_system_socket", "_mtu", "_inner_mtu"):
        setattr(cls, name, globals()["_" + name.lstrip("_")])


def _get_system_socket(self):
    self._check_alive("get_system_socket")
    return self._sock


def _mtu(self, inner=False):
    family = self._family() or self._forced or self._preferred or 1  # AF_INET4
    mtu = self._config and self._config.forced_mtu
    if not mtu and self._sock is not None:
        mtu = getattr(self._p, "mtu", None)
        mtu = mtu and mtu(self._sock, family)
    mtu = mtu or FALLBACK_MTU[family]
    return mtu - UDP_HEADER[family] if inner else mtu


def _inner_mtu(self):
    return self._mtu(True)
