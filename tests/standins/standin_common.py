# Machinery shared by the esp32 and rp2 stand-in `socket` modules.
#
# A stand-in wraps the REAL MicroPython unix-port socket (captured here, before the
# runner installs the stand-ins into sys.modules) and shows what the board's socket
# module shows in MicroPython v1.26.1 (esp32_socket.py and rp2_socket.py say what
# differs per board). These fakes exist only because boards cannot run here; a
# difference from the board is a bug in the stand-in. Rules shared by both boards,
# each citing v1.26.1's source as file:line:
# - MicroPython's compiler folds `errno.NAME` / `socket.NAME` written literally (the
#   module imported under its own name) into the unix interpreter's constant at
#   compile time (py/parse.c:888, MICROPY_COMP_MODULE_CONST at py/mpconfig.h:485), so
#   such code sees Linux numbers even with the esp32 errno stand-in installed; code
#   that imports `errno as _errno` or uses getattr sees the stand-in. (On a real
#   esp32 the fold gives the newlib number, so this only ever differs here.)
# - select.poll() takes any object whose stream ioctl answers MP_STREAM_POLL
#   (extmod/modselect.c:310; py/stream.h:38 MP_STREAM_POLL 3) and returns that same
#   object: stand-in sockets subclass io.IOBase and answer it, as the boards' sockets
#   do (ports/esp32/modsocket.c:818 socket_stream_ioctl, extmod/modlwip.c:1567
#   lwip_socket_ioctl).
# - no getsockname/getpeername/shutdown/recv_into/recvfrom_into/gettimeout/
#   getsockopt: neither board's method table has them (ports/esp32/modsocket.c:887-908,
#   extmod/modlwip.c:1687-1708).
# - constructor arguments are positional only: keywords raise TypeError "function
#   doesn't take keyword arguments" (py/argcheck.c:44, called from
#   ports/esp32/modsocket.c:275 and extmod/modlwip.c:926).
# - an address is a 2-sequence read with mp_obj_get_array_fixed_n (py/obj.c:476
#   "requested length 2 but object has length N"; ports/esp32/modsocket.c:269,
#   extmod/modlwip.c:424).
# - recv/recvfrom take an optional flags argument, MSG_PEEK and MSG_DONTWAIT
#   (ports/esp32/modsocket.c:691 and 706, extmod/modlwip.c:1329 and 1339: 2 or 3
#   arguments); the numbers here are the unix port's, so the flags reach the real
#   socket (the layer uses the names only).
# - the unix port, under the stand-ins, reports a timed-out recv/recvfrom/send as the
#   kernel's EAGAIN (ports/unix/modsocket.c:281-346 raise errno as it is) but read/
#   write and connect as ETIMEDOUT (ports/unix/modsocket.c:105, 121, 214); each board
#   reports its own way (Board.timeout_error).
# - lwIP has no EPIPE: writing to a connection the peer reset or closed is
#   ERR_RST/ERR_CLSD, ECONNRESET/ENOTCONN (extmod/modlwip.c:276-277); which one a
#   board gives after a close is a guess: ENOTCONN.
import errno as _errno
import io
import select as _select
import socket as _socket

AF_INET = _socket.AF_INET
AF_INET6 = _socket.AF_INET6
SOCK_STREAM = _socket.SOCK_STREAM
SOCK_DGRAM = _socket.SOCK_DGRAM

_MP_STREAM_POLL = 3
_L = _errno  # the unix port raises Linux errno numbers
_LINUX_EPIPE = 32  # a name MicroPython's errno module lacks

MSG_PEEK = _socket.MSG_PEEK
MSG_DONTWAIT = _socket.MSG_DONTWAIT


def _op(flags, op):
    # A MSG_DONTWAIT receive that finds nothing is EAGAIN on every board, not a timeout.
    return "dontwait" if flags & MSG_DONTWAIT else op


# Operations whose timeout the unix port reports its own way (rules above).
_TIMED_OPS = ("recv", "recvfrom", "send", "sendto", "accept", "connect")


def decode_sockaddr(raw):
    """unix-port sockaddr bytearray -> (ip str, port int)."""
    fields = _socket.sockaddr(raw)
    return _socket.inet_ntop(fields[0], fields[1]), fields[2]


def real_resolve(host, port, want=None):
    """[(family, ip, port)] from the real resolver, in its order, duplicates removed.
    Raises the real OSError on failure."""
    out = []
    for info in _socket.getaddrinfo(host, port):
        ip, p = decode_sockaddr(info[-1])
        family = AF_INET6 if ":" in ip else AF_INET
        if want is not None and family != want:
            continue
        if (family, ip, p) not in out:
            out.append((family, ip, p))
    return out


def is_numeric_ipv4(host):
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not part or not part.isdigit() or int(part) > 255:
            return False
    return True


def is_numeric_ip(host):
    if is_numeric_ipv4(host):
        return True
    try:
        _socket.inet_pton(AF_INET6, host)
        return True
    except (OSError, ValueError):
        return False


def check_addr(addr):
    # mp_obj_get_array_fixed_n(addr, 2, ...) on both boards (rules above).
    if not isinstance(addr, (tuple, list)) or len(addr) != 2:
        raise TypeError("requested length 2 but object has length %d" % _len(addr))
    if not isinstance(addr[0], str):
        raise TypeError("can't convert %s to str" % type(addr[0]).__name__)
    if not isinstance(addr[1], int):
        raise TypeError("can't convert %s to int" % type(addr[1]).__name__)


def _len(obj):
    try:
        return len(obj)
    except TypeError:
        return 0


class Board:
    """What differs per board; esp32_socket.py and rp2_socket.py fill one in."""

    name = "board"
    has_fileno = False
    max_socket_args = 3  # constructor arguments
    setsockopt_warning = None  # what setsockopt prints for an option it lacks
    failed_connect_errno = None  # Linux errno of a connect after a failed one
    # Linux errno -> this board's errno number (absent: the same number).
    errno_map = {}
    # lwIP pcb limits: {SOCK_DGRAM: n, SOCK_STREAM: n}; None for no limit.
    socket_limits = None

    def __init__(self):
        self.open = {SOCK_DGRAM: 0, SOCK_STREAM: 0}
        self.sockets = []

    def errno(self, linux):
        return self.errno_map.get(linux, linux)

    def timeout_error(self, op, timeout):
        raise NotImplementedError

    def translate(self, e, op, sock):
        """A real unix-port OSError -> the OSError the board raises."""
        code = e.args[0] if e.args else None
        if not isinstance(code, int):
            return e
        if op == "dontwait" and code == _L.EAGAIN:
            return OSError(self.errno(_L.EAGAIN))
        if op in _TIMED_OPS and code in (_L.EAGAIN, _L.ETIMEDOUT, _L.EINPROGRESS):
            return OSError(self.timeout_error(op, sock._timeout))
        if code == _L.ECONNREFUSED:
            # lwIP reports a RST answering the SYN as ERR_RST: ECONNRESET on both
            # boards (rp2_socket.py, esp32_socket.py).
            code = _L.ECONNRESET
        elif code == _LINUX_EPIPE:
            # lwIP has no EPIPE (rules above): a guess, ENOTCONN.
            code = _L.ENOTCONN
        return OSError(self.errno(code))

    def resolve_for_connect(self, host, port):
        raise NotImplementedError

    # lwIP socket-table size (all kinds together) and the Linux errno it gives when full.
    total_limit = None
    total_limit_errno = 23  # ENFILE

    def count(self, kind, delta):
        if delta > 0 and self.socket_limits is not None:
            if self.open[kind] >= self.socket_limits[kind]:
                # udp_new()/tcp_new() return NULL: modlwip raises OSError(ENOMEM).
                raise OSError(self.errno(_L.ENOMEM))
        if delta > 0 and self.total_limit is not None:
            if sum(self.open.values()) >= self.total_limit:
                raise OSError(self.errno(self.total_limit_errno))
        self.open[kind] += delta


class StandinSocket(io.IOBase):
    board = None  # set by the board's subclass

    def __init__(self, *args, **kwargs):
        if kwargs:
            raise TypeError("function doesn't take keyword arguments")
        if len(args) > self.board.max_socket_args:
            raise TypeError(
                "function expected at most %d arguments, got %d"
                % (self.board.max_socket_args, len(args))
            )
        self._af = args[0] if len(args) > 0 else AF_INET
        self._type = args[1] if len(args) > 1 else SOCK_STREAM
        self._proto = args[2] if len(args) > 2 else 0
        self._timeout = None
        self._options = []
        self._real = None
        self._poller = None
        self._real_af = None
        self._closed = False
        self._connect_failed = False
        self.board.count(self._type, 1)
        self.board.sockets.append(self)

    # -- the real socket, created once the address family is known --------------
    def _family_for(self, ip):
        return AF_INET6 if ":" in ip else AF_INET

    def _ensure_real(self, family=None):
        if self._closed:
            raise OSError(self.board.errno(_L.EBADF))
        if self._real is None:
            family = family or self._af
            self._real = _socket.socket(family, self._type, self._proto)
            self._real_af = family
            for level, opt, value in self._options:
                self._real.setsockopt(level, opt, value)
            self._apply_timeout()
        return self._real

    def _apply_timeout(self):
        if self._real is not None:
            self._real.settimeout(self.board.effective_timeout(self._timeout))

    def _real_addr(self, ip, port):
        return _socket.getaddrinfo(ip, port)[0][-1]

    def _do(self, op, fn, *args):
        try:
            return fn(*args)
        except OSError as e:
            raise self.board.translate(e, op, self)

    # -- the board API -----------------------------------------------------------
    def settimeout(self, value):
        if value is not None and value < 0:
            raise ValueError("timeout must be >= 0")  # guess: boards do not check
        self._timeout = value
        self._apply_timeout()

    def setblocking(self, flag):
        self.settimeout(None if flag else 0)

    def setsockopt(self, level, option, value):
        if option not in self.board.sockopts:
            print(self.board.setsockopt_warning)  # and carries on
            return
        self._options.append((level, option, value))
        if self._real is not None:
            self._real.setsockopt(level, option, value)

    def bind(self, addr):
        check_addr(addr)
        family, ip = self.board.bind_address(addr[0], self)
        real = self._ensure_real(family)
        self._do("bind", real.bind, self._real_addr(ip, addr[1]))

    def listen(self, backlog=2):
        self._do("listen", self._ensure_real().listen, backlog)

    def accept(self):
        real, raw = self._do("accept", self._ensure_real().accept)
        sock = self.__class__(self._real_af, SOCK_STREAM, 0)
        sock._real = real
        sock._real_af = self._real_af
        sock._apply_timeout()
        return sock, decode_sockaddr(raw)

    def connect(self, addr):
        check_addr(addr)
        if self._connect_failed and self.board.failed_connect_errno is not None:
            raise OSError(self.board.errno(self.board.failed_connect_errno))
        family, ip = self.board.connect_address(addr[0], addr[1], self)
        real = self._ensure_real(family)
        try:
            self._do("connect", real.connect, self._real_addr(ip, addr[1]))
        except OSError:
            self._connect_failed = True
            raise

    def send(self, data):
        return self._do("send", self._ensure_real().send, data)

    def sendall(self, data):
        return self._do("send", self._ensure_real().sendall, data)

    def write(self, data):
        return self._do("send", self._ensure_real().write, data)

    def sendto(self, data, addr):
        check_addr(addr)
        family, ip = self.board.sendto_address(addr[0], self)
        real = self._ensure_real(family)
        return self._do("sendto", real.sendto, data, self._real_addr(ip, addr[1]))

    # recv/recvfrom flags: see the rules above and each board's module.
    def recv(self, n, flags=0):
        return self._do(_op(flags, "recv"), self._ensure_real().recv, n, flags)

    def read(self, n=-1):
        return self._do("recv", self._ensure_real().read, n)

    def readinto(self, buf, n=-1):
        real = self._ensure_real()
        if n < 0:
            return self._do("recv", real.readinto, buf)
        return self._do("recv", real.readinto, buf, n)

    def recvfrom(self, n, flags=0):
        data, raw = self._do(_op(flags, "recvfrom"), self._ensure_real().recvfrom, n, flags)
        return data, decode_sockaddr(raw)

    def makefile(self, *args):
        return self

    def close(self):
        if self._closed:
            return
        self._closed = True
        self.board.count(self._type, -1)
        if self in self.board.sockets:
            self.board.sockets.remove(self)
        if self._real is not None:
            self._real.close()

    # The stream protocol's poll request, so select.poll() takes this object.
    def ioctl(self, request, arg):
        if request != _MP_STREAM_POLL:
            return -1
        if self._real is None:
            return arg & _select.POLLOUT
        if self._poller is None:
            self._poller = _select.poll()
            self._poller.register(self._real, _select.POLLIN | _select.POLLOUT)
        ready = 0
        for _obj, events in self._poller.poll(0):
            ready |= events
        return ready & (arg | _select.POLLERR | _select.POLLHUP)

    def __repr__(self):
        return "<%s socket type=%d%s>" % (
            self.board.name,
            self._type,
            " closed" if self._closed else "",
        )


def make_errno_module_dict(values):
    """The names a board's errno module has, plus its `errorcode` table."""
    table = dict(values)
    table["errorcode"] = {v: k for k, v in values.items()}
    return table


def install(board_name):
    """Put the board's stand-in modules in sys.modules under the names the layer
    imports (socket/usocket, errno/uerrno). Call before importing twinsock.
    Returns the board object (its `sockets` list shows what is still open)."""
    import sys

    socket_module = __import__(board_name + "_socket")
    errno_module = __import__(board_name + "_errno")
    for name in ("socket", "usocket"):
        sys.modules[name] = socket_module
    for name in ("errno", "uerrno"):
        sys.modules[name] = errno_module
    return socket_module.BOARD
