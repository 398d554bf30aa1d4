# What a (D)TLS socket asks of its UDP/TCP backend beyond connect, send and
# receive: the platform socket and the MTU. Loaded on first use, apart from
# twinsock/extras.py, so a secure socket does not pay for the rarer v-table.
# install() puts these on twinsock.net.Socket (twinsock.extras does too).
from twinsock.const import FALLBACK_MTU, UDP_HEADER


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
