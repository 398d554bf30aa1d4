# Stand-in for the esp32 port's `socket` module, wrapping the real unix-port socket.
# See standin_common.py for what every board shares.
#
# Pinned to firmware v1.27.0. Each rule names what it imitates in
# ports/esp32/modsocket.c (function names; read at micropython/micropython master
# of 2026 (1.29-preview), whose socket code these releases share) or PLATFORMS.md:
# - getaddrinfo(host, port, af=0, type=0, proto=0, flags=0): socket_getaddrinfo ->
#   _getaddrinfo_inner(hints) honours family and type since v1.23; lwIP here is
#   IPv4-only, so an AF_INET6 request gives entries with a None address
#   (PLATFORMS.md). Entries: (AF_INET, type, proto, host, (ip, port)); without a
#   type, as before v1.23: (AF_INET, SOCK_STREAM, IPPROTO_TCP, ...). lwIP's resolver
#   yields ONE address per name. Failure: OSError(-202) (_getaddrinfo_inner raises
#   the negative EAI code).
# - connect/bind resolve names themselves (_socket_getaddrinfo); sendto takes a
#   numeric IPv4 only (socket_sendto -> netutils_parse_inet_addr: ValueError).
# - setsockopt (socket_setsockopt): SO_REUSEADDR, SO_BROADCAST (v1.23+),
#   SO_BINDTODEVICE, TCP_NODELAY (v1.23+), IP_ADD_MEMBERSHIP; anything else prints
#   "Warning: lwip.setsockopt() option not implemented".
# - recv/recvfrom(n, flags) take MSG_PEEK and MSG_DONTWAIT since v1.26
#   (socket_recv/socket_recvfrom -> _socket_read_data(flags); MSG_DONTWAIT gives
#   EAGAIN at once).
# - timeouts (_socket_settimeout, _socket_read_data): the port polls in 100 ms
#   steps, retries = timeout_ms // 100, and waits (retries + 1) * 100 ms; retries ==
#   0 (timeout under 0.1 s, or 0) gives EAGAIN, otherwise ETIMEDOUT (116, newlib);
#   send gives ETIMEDOUT (_socket_send); non-blocking connect gives EINPROGRESS (119).
# - refusal is ECONNRESET; a socket whose connect failed cannot be reused (guess:
#   it raises ECONNRESET again).
# - fileno() exists (socket_fileno); newlib errno numbers (esp32_errno.py).
# - about 10 sockets in all (socket_make_new: lwip_socket() fails with ENFILE, 23
#   in newlib too, after one gc_collect() retry; CONFIG_LWIP_MAX_SOCKETS).
# Not imitated: mDNS .local names (mdns_getaddrinfo).
import esp32_errno
import standin_common as _c

AF_INET = _c.AF_INET
AF_INET6 = _c.AF_INET6
SOCK_STREAM = _c.SOCK_STREAM
SOCK_DGRAM = _c.SOCK_DGRAM
SOCK_RAW = 3
IPPROTO_IP = 0
IPPROTO_TCP = 6
IPPROTO_UDP = 17
# Option numbers are the unix port's (Linux) ones so they reach the real socket;
# the layer only ever uses the names.
SOL_SOCKET = _c._socket.SOL_SOCKET
SO_REUSEADDR = _c._socket.SO_REUSEADDR
SO_BROADCAST = _c._socket.SO_BROADCAST
IP_ADD_MEMBERSHIP = _c._socket.IP_ADD_MEMBERSHIP
TCP_NODELAY = 1
MSG_PEEK = _c.MSG_PEEK
MSG_DONTWAIT = _c.MSG_DONTWAIT

_EAI_FAIL = -202


def _lwip_ipv4(host, port):
    if host == "":
        return "0.0.0.0"
    if _c.is_numeric_ipv4(host):
        return host
    try:
        found = _c.real_resolve(host, port, AF_INET)
    except OSError:
        found = []
    if not found:
        raise OSError(_EAI_FAIL)
    return found[0][1]


class Esp32Board(_c.Board):
    name = "esp32"
    connect_failure_latches = True
    total_limit = 10
    sockopts = (SO_REUSEADDR, SO_BROADCAST, TCP_NODELAY, IP_ADD_MEMBERSHIP)

    def errno(self, linux):
        return esp32_errno.FROM_LINUX.get(linux, linux)

    @staticmethod
    def _retries(timeout):
        return int(timeout * 1000) * 1000 // 100000

    def effective_timeout(self, timeout):
        if timeout is None or timeout == 0:
            return timeout
        return (self._retries(timeout) + 1) * 0.1

    def timeout_error(self, op, timeout):
        if op == "connect":
            return esp32_errno.EINPROGRESS if timeout == 0 else esp32_errno.ETIMEDOUT
        if op in ("send", "sendto"):
            return esp32_errno.ETIMEDOUT
        if timeout == 0 or self._retries(timeout) == 0:
            return esp32_errno.EAGAIN
        return esp32_errno.ETIMEDOUT

    def bind_address(self, host, sock):
        return AF_INET, _lwip_ipv4(host, 0)

    def connect_address(self, host, port, sock):
        return AF_INET, _lwip_ipv4(host, port)

    def sendto_address(self, host, sock):
        if host != "" and not _c.is_numeric_ipv4(host):
            raise ValueError("invalid arguments")
        return AF_INET, host or "0.0.0.0"


BOARD = Esp32Board()


class socket(_c.StandinSocket):
    board = BOARD

    def fileno(self):
        return self._ensure_real().fileno()


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    if not isinstance(host, str):
        raise TypeError("can't convert %s to str" % type(host).__name__)
    if not isinstance(port, (int, str)):
        raise TypeError("can't convert %s to str" % type(port).__name__)
    kind, protocol = (type, proto) if type else (SOCK_STREAM, IPPROTO_TCP)
    if af == AF_INET6:  # an IPv4-only lwIP: the entry has no address
        return [(AF_INET6, kind, protocol, host, None)]
    ip = _lwip_ipv4(host, port)
    return [(AF_INET, kind, protocol, host, (ip, int(port)))]
