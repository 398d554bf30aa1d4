# SocketConfig: how a UDP/TCP socket is created (avs_net_socket_configuration_t).
from twinsock.errors import invalid

FAMILIES = (0, 1, 2)  # AF_UNSPEC, AF_INET4, AF_INET6


def check_family(value, what):
    if type(value) is not int or value not in FAMILIES:
        raise invalid("%s must be AF_UNSPEC, AF_INET4 or AF_INET6, not %r" % (what, value))
    return value


def _check_int(value, what, low, high):
    if type(value) is not int or not low <= value <= high:
        raise invalid("%s must be an int in %d..%d, not %r" % (what, low, high, value))


class SocketConfig:
    def __init__(
        self,
        address_family=0,
        preferred_family=0,
        forced_mtu=0,
        reuse_addr=False,
        preferred_endpoint=None,
        dscp=0,
        priority=0,
        interface_name=None,
        transparent=False,
    ):
        self.address_family = address_family
        self.preferred_family = preferred_family
        self.forced_mtu = forced_mtu
        self.reuse_addr = reuse_addr
        self.preferred_endpoint = preferred_endpoint
        self.dscp = dscp
        self.priority = priority
        self.interface_name = interface_name
        self.transparent = transparent
        self.validate()

    def validate(self):
        from twinsock.resolver import ResolvedEndpoint

        check_family(self.address_family, "SocketConfig.address_family")
        check_family(self.preferred_family, "SocketConfig.preferred_family")
        _check_int(self.forced_mtu, "SocketConfig.forced_mtu", 0, 65535)
        _check_int(self.dscp, "SocketConfig.dscp", 0, 63)
        _check_int(self.priority, "SocketConfig.priority", 0, 7)
        for name in ("reuse_addr", "transparent"):
            if type(getattr(self, name)) is not bool:
                raise invalid("SocketConfig.%s must be a bool" % name)
        name = self.interface_name
        if name is not None and (type(name) is not str or not 0 < len(name) < 16):
            raise invalid("SocketConfig.interface_name must be None or a name of 1..15 characters")
        endpoint = self.preferred_endpoint
        if endpoint is not None and not isinstance(endpoint, ResolvedEndpoint):
            raise invalid("SocketConfig.preferred_endpoint must be a ResolvedEndpoint or None")
