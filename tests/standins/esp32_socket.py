# Stand-in for the esp32 port's `socket` module, wrapping the real unix-port socket.
# See standin_common.py for what every board shares.
#
# Pinned to MicroPython v1.26.1 (built with ESP-IDF v5.2-v5.4.2, ports/esp32/README.md:34).
# Each rule cites the v1.26.1 source it imitates as file:line (function); what lives
# in ESP-IDF (its lwIP fork, newlib) is not in that tree: such a rule cites the
# v1.26.1 line that hands over to it and says "ESP-IDF" or "guess".
# - getaddrinfo(host, port, af=0, type=0, proto=0, flags=0): the optional arguments
#   become lwIP hints (ports/esp32/modsocket.c:932 esp_socket_getaddrinfo); type 0
#   becomes SOCK_STREAM (modsocket.c:944); proto stays what was given, 0 by default
#   (lwIP's create_addrinfo copies socktype and protocol from the hints: ESP-IDF).
#   Entries: (family, type, proto, canonname, (ip, port)); canonname is the host
#   asked for, "" read as "0.0.0.0" (modsocket.c:233 _getaddrinfo_inner).
# - only AF_INET results get an (ip, port) address, any other family None
#   (modsocket.c:965-975). ESP-IDF's lwIP has IPv6 (its CONFIG_LWIP_IPV6 defaults to
#   y and ports/esp32/boards/sdkconfig.base:142 sets only LWIP_MAX_ACTIVE_TCP), so a
#   numeric IPv6 host, or a name asked for AF_INET6, gives an AF_INET6 entry with a
#   None address (guess for names: the stand-in assumes an AAAA record). lwIP's
#   resolver yields one address per name (ESP-IDF).
# - resolver failure: OSError(-EAI code), -202 (EAI_FAIL) for a name DNS cannot
#   resolve (modsocket.c:254 _getaddrinfo_inner); OSError(-2) when lwIP answers
#   0.0.0.0 (modsocket.c:261).
# - connect/bind resolve names themselves (modsocket.c:312 socket_bind and
#   modsocket.c:396 socket_connect call _socket_getaddrinfo); sendto takes a numeric
#   IPv4 only (modsocket.c:763 socket_sendto -> shared/netutils/netutils.c:88
#   netutils_parse_inet_addr: ValueError "invalid arguments").
# - setsockopt (socket_setsockopt): SO_REUSEADDR and SO_BROADCAST (modsocket.c:494-495),
#   SO_BINDTODEVICE (modsocket.c:504), TCP_NODELAY (modsocket.c:536),
#   IP_ADD_MEMBERSHIP (modsocket.c:546); anything else prints "Warning:
#   lwip.setsockopt() option not implemented" and carries on (modsocket.c:562).
# - recv/recvfrom(n, flags) pass MSG_PEEK and MSG_DONTWAIT to lwIP (modsocket.c:673
#   _socket_recvfrom -> _socket_read_data); MSG_DONTWAIT with nothing there gives
#   EAGAIN at once (modsocket.c:658).
# - timeouts: retries = timeout_ms * 1000 / SOCKET_POLL_US (100 ms, modsocket.c:58),
#   set at modsocket.c:574 (_socket_settimeout); a receive waits 100 ms (retries + 1)
#   times (modsocket.c:633); retries == 0 (a timeout under 0.1 s, or 0) gives EAGAIN,
#   otherwise ETIMEDOUT (modsocket.c:665); send the same (modsocket.c:724
#   _socket_send); a blocking connect times out with ETIMEDOUT (modsocket.c:469) and
#   a non-blocking one raises lwIP's EINPROGRESS (modsocket.c:424, raised at 480).
# - refusal: connect raises the socket's SO_ERROR (modsocket.c:462), ECONNRESET for
#   a RST (lwIP's err_to_errno(ERR_RST): ESP-IDF); a socket whose connect failed
#   cannot be reused (guess: it raises ECONNRESET again; socket_connect reuses the
#   same lwIP socket, modsocket.c:396).
# - fileno() exists (modsocket.c:782 socket_fileno); errno numbers are newlib's
#   (ports/esp32/mpconfigport.h:70 MICROPY_USE_INTERNAL_ERRNO 0; esp32_errno.py).
# - the constructor takes 0-3 positional arguments (modsocket.c:275 socket_make_new).
# - about 10 sockets in all: lwip_socket() fails with ENFILE (23 in newlib too) after
#   one gc_collect() retry (modsocket.c:294 socket_make_new); 10 is ESP-IDF's
#   CONFIG_LWIP_MAX_SOCKETS default (guess: the board keeps it;
#   ports/esp32/boards/sdkconfig.base:142 sets only LWIP_MAX_ACTIVE_TCP).
# Not imitated: mDNS .local names (modsocket.c:161 mdns_getaddrinfo); SO_BINDTODEVICE
# (modsocket.c:504; the unix port has no such constant to pass on).
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
    failed_connect_errno = _c._L.ECONNRESET
    setsockopt_warning = "Warning: lwip.setsockopt() option not implemented"
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
        raise TypeError("can't convert %s to str" % host.__class__.__name__)
    if not isinstance(port, (int, str)):
        raise TypeError("can't convert %s to str" % port.__class__.__name__)
    kind = type or SOCK_STREAM
    canonname = host or "0.0.0.0"
    if af == AF_INET6 or (":" in host and _c.is_numeric_ip(host)):
        return [(AF_INET6, kind, proto, canonname, None)]  # no address for AF_INET6
    ip = _lwip_ipv4(host, port)
    return [(AF_INET, kind, proto, canonname, (ip, int(port)))]
