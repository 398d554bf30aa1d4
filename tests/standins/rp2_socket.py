# Stand-in for the rp2 (Pico W) port's `socket` module, wrapping the real unix-port
# socket. See standin_common.py for what every board shares.
#
# Pinned to MicroPython v1.26.1. Each rule cites the v1.26.1 source it imitates as
# file:line (function); lwIP itself (lib/lwip, a submodule) is not in that release
# tarball: such a rule cites the v1.26.1 line that hands over to it and says "lwIP"
# or "guess".
# - getaddrinfo(host, port, family=0, ...) returns exactly ONE entry, always labelled
#   AF_INET, even for an IPv6 address: (AF_INET, SOCK_STREAM, 0, "", (ip, port))
#   (extmod/modlwip.c:1862-1867 lwip_getaddrinfo). The family, type, proto and flags
#   arguments change nothing: other values than 0/AF_INET/SOCK_STREAM only warn
#   (modlwip.c:1821-1825), and rp2 builds without warnings (py/mpconfig.h:831
#   MICROPY_WARNINGS 0; ports/rp2/mpconfigport.h sets none), so silently. The A
#   record is asked for first, then the AAAA one (modlwip.c:1836, prefer 4 by
#   default: extmod/network_lwip.c:51). port must be an int (modlwip.c:1804:
#   TypeError). DNS failure: OSError(-2) (modlwip.c:1857 from the callback's -2).
# - connect/bind/sendto need a numeric IP: the address is parsed with ipaddr_aton
#   (modlwip.c:434-435 lwip_parse_inet_addr: ValueError "invalid arguments"
#   otherwise; "" is any, modlwip.c:427).
# - setsockopt (lwip_socket_setsockopt): SO_REUSEADDR, SO_BROADCAST
#   (modlwip.c:1467), IP_ADD_MEMBERSHIP (modlwip.c:1480), TCP_NODELAY
#   (modlwip.c:1502); anything else prints "Warning: lwip.setsockopt() not
#   implemented" and carries on (modlwip.c:1513).
# - recv/recvfrom(n, flags) (modlwip.c:1292 lwip_socket_recv_common): MSG_DONTWAIT
#   with nothing there gives EAGAIN at once (modlwip.c:686 UDP, 837 TCP); MSG_PEEK
#   leaves the data queued (modlwip.c:712 UDP, 882 TCP).
# - timeouts: ETIMEDOUT (110) from receive (modlwip.c:695, 848), send (774), accept
#   (1131) and connect (1217); EAGAIN at timeout 0 (modlwip.c:687, 759, 841);
#   EINPROGRESS from a connect at timeout 0 (modlwip.c:1215).
# - refusal is ECONNRESET: lwIP's ERR_RST maps to it (modlwip.c:276). The error
#   callback drops the pcb (modlwip.c:499 _lwip_tcp_error), so a socket whose connect
#   failed raises EBADF on the next connect (modlwip.c:1173-1174).
# - no fileno() (modlwip.c:1687-1708, the socket's methods); errno numbers are
#   MicroPython's own, the Linux ones (ports/rp2/mpconfigport.h:129
#   MICROPY_USE_INTERNAL_ERRNO; rp2_errno.py).
# - the constructor takes 0-4 positional arguments (modlwip.c:926).
# - lwIP pcb limits: MEMP_NUM_UDP_PCB is 4 + 1 for the mDNS responder
#   (extmod/lwip-include/lwipopts_common.h:70); the stand-in leaves 3 to
#   applications (guess: mDNS holds one, the DNS and DHCP clients may hold others).
#   TCP: lwIP's default MEMP_NUM_TCP_PCB of 5 (lwIP opt.h; neither
#   lwipopts_common.h:70 nor ports/rp2/lwip_inc/lwipopts.h:8 sets it); listening and
#   accepted sockets counted alike (guess). udp_new()/tcp_new() failing gives
#   OSError(ENOMEM) (modlwip.c:970-971 lwip_socket_make_new).
# - the socket is dual-stack: its family follows the address it is used with
#   (ports/rp2/lwip_inc/lwipopts.h:8 LWIP_IPV6 1; guess: lwIP takes an IPv6
#   destination on the pcb tcp_new()/udp_new() made, modlwip.c:945, 954).
# Not imitated: the 4-datagram receive queue, later datagrams dropped
# (modlwip.c:294 LWIP_INCOMING_PACKET_QUEUE_LEN).
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
    failed_connect_errno = _c._L.EBADF
    max_socket_args = 4
    setsockopt_warning = "Warning: lwip.setsockopt() not implemented"
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
    # family, socktype, proto and flags change nothing (v1.26.1)
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
        # the A record, else the AAAA one
        found = [f for f in found if f[0] == AF_INET] + [f for f in found if f[0] == AF_INET6]
        if not found:
            raise OSError(-2)
        ip = found[0][1]
    return [(AF_INET, SOCK_STREAM, 0, "", (ip, port))]
