# MicroPython unix port: getaddrinfo/recvfrom/accept give raw sockaddr
# bytearrays, refusal is ECONNREFUSED, and setsockopt reaches the kernel.
from micropython import const

IPV6 = True
RESET_MEANS_REFUSED = False
CONFIG_FIELDS = ("dscp", "priority")

_IPPROTO_IP = const(0)
_IP_TOS = const(1)
_IPPROTO_IPV6 = const(41)
_IPV6_TCLASS = const(67)
_SOL_SOCKET = const(1)
_SO_PRIORITY = const(12)


def host_port(socket, addr):
    family, packed, port = socket.sockaddr(addr)[:3]
    return socket.inet_ntop(family, packed), port


def apply_config(raw, family, config):
    if config.dscp:
        if family == 2:  # AF_INET6 in twinsock's numbering
            raw.setsockopt(_IPPROTO_IPV6, _IPV6_TCLASS, config.dscp << 2)
        else:
            raw.setsockopt(_IPPROTO_IP, _IP_TOS, config.dscp << 2)
    if config.priority:
        raw.setsockopt(_SOL_SOCKET, _SO_PRIORITY, config.priority)


def interface_address(family):
    return "::" if family == 2 else "0.0.0.0"
