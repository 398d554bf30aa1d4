# Stand-in for the rp2 (Pico W) port's `socket` module, wrapping the real unix-port
# socket. See standin_common.py for what every board shares.
#
# Pinned to firmware v1.27.0. Each rule names what it imitates in extmod/modlwip.c
# (function names; read at micropython/micropython master of 2026 (1.29-preview),
# whose lwIP socket code these releases share) or PLATFORMS.md:
# - getaddrinfo(host, port, family=0, ...) (lwip_getaddrinfo) returns exactly ONE
#   entry, always labelled AF_INET, even for an IPv6 address: (AF_INET,
#   SOCK_STREAM, 0, "", (ip, port)); the family argument picks the address type
#   (v1.27+). port must be an int. DNS failure: OSError(-2).
# - connect/bind/sendto need a numeric IP (lwip_socket_connect/bind/sendto parse the
#   address with netutils_parse_inet_addr: ValueError "invalid arguments"
#   otherwise; "" binds to any).
# - setsockopt (lwip_socket_setsockopt): SO_REUSEADDR, SO_BROADCAST,
#   IP_ADD_MEMBERSHIP, TCP_NODELAY; anything else prints the "not implemented"
#   warning.
# - recv/recvfrom(n, flags) take MSG_PEEK and MSG_DONTWAIT since v1.26
#   (lwip_socket_recv/lwip_socket_recvfrom).
# - timeouts: ETIMEDOUT (110); EAGAIN at timeout 0; EINPROGRESS from a non-blocking
#   connect.
# - refusal is ECONNRESET (lwIP's ERR_RST); no fileno(); Linux errno numbers
#   (MicroPython's own).
# - lwIP pcb limits: 4 UDP pcbs with one taken by mDNS (3 left) and 5 TCP pcbs
#   (PLATFORMS.md "about"; listening and accepted sockets counted alike, a guess);
#   udp_new()/tcp_new() failing gives OSError(ENOMEM) (lwip_socket_make_new).
# - the socket is dual-stack: its family follows the address it is used with (guess:
#   lwIP pcbs created with IPADDR_TYPE_ANY, which the AF_INET label requires).
# Not imitated: the 4-datagram receive queue (later datagrams dropped).
import rp2_errno
import standin_common as _c

AF_INET = _c.AF_INET
AF_INET6 = _c.AF_INET6
SOCK_STREAM = _c.SOCK_STREAM
SOCK_DGRAM = _c.SOCK_DGRAM
SOCK_RAW = 3
SOL_SOCKET = _c._socket.SOL_SOCKET
SO_REUSEADDR = _c._socket.SO_REUSEADDR
SO_BROADCAST = _c._socket.SO_BROADCAST
IP_ADD_MEMBERSHIP = _c._socket.IP_ADD_MEMBERSHIP
IPPROTO_IP = 0
IPPROTO_TCP = 6
TCP_NODELAY = 1
MSG_PEEK = _c.MSG_PEEK
MSG_DONTWAIT = _c.MSG_DONTWAIT


def _numeric(host):
    if host == "":
        return AF_INET, "0.0.0.0"
    if not _c.is_numeric_ip(host):
        raise ValueError("invalid arguments")
    return (AF_INET6 if ":" in host else AF_INET), host


class Rp2Board(_c.Board):
    name = "rp2"
    connect_failure_latches = False
    sockopts = (SO_REUSEADDR, SO_BROADCAST, IP_ADD_MEMBERSHIP, TCP_NODELAY)
    socket_limits = {SOCK_DGRAM: 3, SOCK_STREAM: 5}

    def effective_timeout(self, timeout):
        return timeout

    def timeout_error(self, op, timeout):
        if timeout == 0:
            return rp2_errno.EINPROGRESS if op == "connect" else rp2_errno.EAGAIN
        return rp2_errno.ETIMEDOUT

    def bind_address(self, host, sock):
        return _numeric(host)

    def connect_address(self, host, port, sock):
        return _numeric(host)

    def sendto_address(self, host, sock):
        return _numeric(host)


BOARD = Rp2Board()


class socket(_c.StandinSocket):
    board = BOARD


def getaddrinfo(host, port, family=0, socktype=0, proto=0, flags=0):
    if not isinstance(host, str):
        raise TypeError("can't convert %s to str" % type(host).__name__)
    if not isinstance(port, int):
        raise TypeError("can't convert %s to int" % type(port).__name__)
    if _c.is_numeric_ip(host):
        ip = host
    else:
        try:
            found = _c.real_resolve(host, port)
        except OSError:
            found = []
        if family == AF_INET6:
            found = [f for f in found if f[0] == AF_INET6]
        else:  # lwIP's default: the A record, else the AAAA one
            found = [f for f in found if f[0] == AF_INET] + [f for f in found if f[0] == AF_INET6]
        if not found:
            raise OSError(-2)
        ip = found[0][1]
    return [(AF_INET, SOCK_STREAM, 0, "", (ip, port))]
