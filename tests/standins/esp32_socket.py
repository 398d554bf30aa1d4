# Stand-in for the esp32 port's `socket` module (ports/esp32/modsocket.c), wrapping
# the real unix-port socket. See standin_common.py for what every board shares.
#
# Imitated, from PLATFORMS.md and modsocket.c:
# - getaddrinfo(host, port) ignores further arguments, asks lwIP for IPv4 only and
#   returns (AF_INET, SOCK_STREAM, IPPROTO_TCP, host, (ip, port)) tuples; lwIP's
#   resolver yields ONE address per name. Failure: OSError(-202) (EAI_FAIL).
# - connect/bind resolve names themselves; sendto takes a numeric IPv4 only
#   (netutils_parse_inet_addr: ValueError otherwise).
# - timeouts: the port polls in 100 ms steps, retries = timeout_ms // 100, and waits
#   (retries + 1) * 100 ms; retries == 0 (timeout under 0.1 s, or 0) gives EAGAIN,
#   otherwise ETIMEDOUT (116, newlib); send gives ETIMEDOUT; non-blocking connect
#   gives EINPROGRESS (119).
# - refusal is ECONNRESET; a socket whose connect failed cannot be reused (guess:
#   it raises ECONNRESET again).
# - fileno() exists; newlib errno numbers (esp32_errno.py).
# - about 10 sockets in all (PLATFORMS.md; CONFIG_LWIP_MAX_SOCKETS): lwip_socket()
#   fails and the port raises OSError(ENFILE, 23 in newlib too). The errno is a guess
#   from lwIP's alloc_socket().
# Not imitated: mDNS .local names.
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
IP_ADD_MEMBERSHIP = _c._socket.IP_ADD_MEMBERSHIP

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
    sockopts = (SO_REUSEADDR, IP_ADD_MEMBERSHIP)

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


def getaddrinfo(host, port, *ignored):
    if not isinstance(host, str):
        raise TypeError("can't convert %s to str" % type(host).__name__)
    if not isinstance(port, (int, str)):
        raise TypeError("can't convert %s to str" % type(port).__name__)
    ip = _lwip_ipv4(host, port)
    return [(AF_INET, SOCK_STREAM, IPPROTO_TCP, host, (ip, int(port)))]
