"""A twinsock platform whose sockets live in a cellular modem driven by AT commands.

The common case on NB-IoT/LTE-M boards: the TCP/IP stack runs in the modem, and
the host sees only a UART. Every twinsock socket becomes a modem "connectID"; a
send is AT+QISEND, a receive is AT+QIRD, and waiting for data is waiting for the
modem's "recv" URC on the serial line, with a time limit, so twinsock's receive
timeouts hold. The dialect is a small subset of Quectel's BG95/BC66 TCP/IP AT
commands (buffer access mode), with the differences marked [ours]:

    AT / ATE0                           -> OK
    AT+CGPADDR=1                        -> +CGPADDR: 1,"<our IP>" / OK
    AT+QIDNSGIP=1,"<name>"              -> OK, then the URCs
                                           +QIURC: "dnsgip",0,<count>,<ttl>
                                           +QIURC: "dnsgip","<ip>"      (count times)
                                        or +QIURC: "dnsgip",<error>
    AT+QIOPEN=1,<id>,"TCP"|"UDP","<ip>",<port>,<local port, 0: any>,0
                                        -> OK, then the URC +QIOPEN: <id>,<error; 0: open>
    AT+QISEND=<id>,<len>                -> "> ", then <len> raw bytes from us -> SEND OK | SEND FAIL
    AT+QIRD=<id>,<len>                  -> TCP: +QIRD: <n>  CRLF <n bytes> CRLF OK
                                           UDP: +QIRD: <n>,"<ip>",<port>,<datagram length> [ours]
                                                CRLF <n bytes> CRLF OK: ONE datagram, the rest
                                                of a longer one discarded; +QIRD: 0 when none
    AT+QISTATE=1,<id>                   -> +QISTATE: <id>,"<type>","<remote ip>",<remote port>,
                                           <local port>,<state>,... / OK
    AT+QICLOSE=<id>                     -> OK
    URCs: +QIURC: "recv",<id>  (data arrived while none was unread)
          +QIURC: "closed",<id> (the TCP peer closed)
    Errors: ERROR, or +CME ERROR: <code> (Quectel's 55x/56x TCP/IP codes; _ERRNO below)

What this port provides, in twinsock's terms (docs/PORTING.md, section 6 walks
through it): the required methods, plus receive_from (the modem reports a UDP
sender), get_local_host/port (AT+QISTATE, AT+CGPADDR) and poll over several
sockets (the URCs of all sockets share one line). A modem has no listening
sockets here (bind, accept, send_to: NetError(ENOTSUP)), no interface name, no
IPv6 and no TLS engine. examples/modem_simulator.py speaks this dialect.

The same file runs on CPython (the UART through pyserial: SerialLine) and on
MicroPython (machine.UART, or any pollable stream: StreamLine); it uses only
what both have (ticks, select.poll, no bytearray item deletion).

    import twinsock
    from examples.at_modem_platform import ATModemPlatform

    twinsock.use_platform(ATModemPlatform("/dev/ttyUSB2"))   # CPython: any pyserial URL
    # on a board: ATModemPlatform(line=StreamLine(machine.UART(1, 115200, timeout=0)))
    with twinsock.udp_socket() as sock:
        sock.connect("127.0.0.1", 5683)
"""

try:
    import select
except ImportError:  # firmware before v1.19 has only the u-names
    import uselect as select
try:
    from time import ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython
    import time

    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_add(ticks, ms):
        return ticks + ms

    def ticks_diff(a, b):
        return a - b


from twinsock.const import AF_INET4, AF_INET6
from twinsock.errors import (  # the running errno module's values, Linux's where it lacks one
    EADDRINUSE,
    EADDRNOTAVAIL,
    EAGAIN,
    ECONNREFUSED,
    EINVAL,
    EIO,
    EMSGSIZE,
    ENETUNREACH,
    ENOMEM,
    ENOTCONN,
    EOPNOTSUPP,
    EPIPE,
    ETIMEDOUT,
)
from twinsock.porting import Platform

MAX_SOCKETS = 12  # connectIDs 0..11
MAX_SEND = 1460  # the longest AT+QISEND payload
COMMAND_TIMEOUT_MS = 5000  # an answer to any command (OK/ERROR) comes within this
DNS_TIMEOUT_MS = 10000

# +CME ERROR / +QIOPEN / dnsgip codes -> errno. A real modem has more; anything
# unlisted is EIO.
_ERRNO = {
    552: EINVAL,  # invalid parameters
    553: ENOMEM,  # memory not enough
    555: EOPNOTSUPP,  # operation not supported
    556: EADDRINUSE,  # socket bind failed
    563: EADDRINUSE,  # socket identity has been used
    565: EADDRNOTAVAIL,  # DNS parse failed
    566: ECONNREFUSED,  # socket connect failed
    567: ENOTCONN,  # socket has been closed
    569: ETIMEDOUT,  # operation timeout
    570: ENETUNREACH,  # PDP context broken down
    574: EADDRINUSE,  # port busy
}


def modem_error(code, what):
    return OSError(_ERRNO.get(code, EIO), "%s: modem error %d" % (what, code))


def _deadline(timeout_ms):
    return None if timeout_ms is None else ticks_add(ticks_ms(), timeout_ms)


def _left_ms(deadline):
    return None if deadline is None else max(0, ticks_diff(deadline, ticks_ms()))


def _fields(text):
    """b'0,"1.2.3.4",5683' -> [0, '1.2.3.4', 5683]"""
    out = []
    for part in text.split(b","):
        part = part.strip()
        out.append(part.strip(b'"').decode() if part.startswith(b'"') else int(part))
    return out


def _is_ipv4(host):
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


class SerialLine:
    """The modem's UART through pyserial (CPython): a device, a pty, "loop://",
    "rfc2217://host:port"..."""

    def __init__(self, serial):
        self.serial = serial

    def read(self, timeout_ms):
        """What the modem sent, waiting up to timeout_ms (None: no limit); b"" if nothing."""
        self.serial.timeout = None if timeout_ms is None else timeout_ms / 1000
        return self.serial.read(max(1, self.serial.in_waiting))

    def write(self, data):
        self.serial.write(data)

    def close(self):
        self.serial.close()


class StreamLine:
    """The modem's UART as any pollable stream: machine.UART on a board (made
    with timeout=0), or a TCP socket to a serial bridge or the simulator."""

    def __init__(self, stream):
        self.stream = stream
        self._poller = select.poll()
        self._poller.register(stream, select.POLLIN)
        self._read = getattr(stream, "recv", None) or stream.read
        self._write = getattr(stream, "sendall", None) or stream.write

    def read(self, timeout_ms):
        if not self._poller.poll(-1 if timeout_ms is None else timeout_ms):
            return b""
        data = self._read(256)
        if not data:  # readable, yet nothing: the other end is gone
            raise OSError(EIO, "the modem's line was closed")
        return data

    def write(self, data):
        self._write(data)

    def close(self):
        self.stream.close()


class ATChannel:
    """The serial line: commands out; responses, URCs and raw payloads in.

    There is no reader thread: whoever waits (a command, a socket's waiter)
    reads the line, and hands every URC it meets to `on_urc`, so one socket's
    wait also notices another's data."""

    def __init__(self, line, on_urc, command_timeout_ms=COMMAND_TIMEOUT_MS):
        self._line = line  # SerialLine, StreamLine: read(timeout_ms), write(data)
        self._on_urc = on_urc
        self._rx = bytearray()
        self.command_timeout_ms = command_timeout_ms

    def _fill(self, deadline):
        """Read what the modem sent; False when the deadline passed first."""
        left = _left_ms(deadline)
        if left == 0:
            return False
        chunk = self._line.read(left)
        if not chunk:
            return False
        self._rx += chunk
        return True

    def _next_line(self, deadline):
        """The next non-blank line (b'>' for the send prompt), None on timeout."""
        while True:
            if self._rx[:1] == b">":  # the prompt "> " has no line end
                self._rx = self._rx[1:]
                return b">"
            end = self._rx.find(b"\r\n")
            if end >= 0:
                line = bytes(self._rx[:end]).strip()  # strip: the prompt's space
                self._rx = self._rx[end + 2 :]
                if line:
                    return line
                continue
            if not self._fill(deadline):
                return None

    def _exactly(self, n, deadline):
        while len(self._rx) < n:
            if not self._fill(deadline):
                raise OSError(EIO, "modem sent %d of %d payload bytes" % (len(self._rx), n))
        data = bytes(self._rx[:n])
        self._rx = self._rx[n:]
        return data

    @staticmethod
    def is_urc(line):
        return line.startswith(b"+QIURC:") or line.startswith(b"+QIOPEN:")

    def command(self, text, payload=None):
        """Send one AT command; return its information lines (for +QIRD, the
        tuple (header, payload)). Raise OSError with an errno on ERROR.

        A real driver would also resynchronise after a timeout (send "AT" and
        wait for its OK), so that a late answer is not taken for the next one."""
        self._line.write(text.encode() + b"\r")
        deadline = _deadline(self.command_timeout_ms)
        info = []
        while True:
            line = self._next_line(deadline)
            if line is None:
                raise OSError(ETIMEDOUT, "%s: no answer from the modem" % text)
            if self.is_urc(line):
                self._on_urc(line)
            elif line == b">":
                self._line.write(payload)
            elif line in (b"OK", b"SEND OK"):
                return info
            elif line == b"SEND FAIL":  # the modem's send buffer is full: try later
                raise OSError(EAGAIN, "%s: modem send buffer full" % text)
            elif line == b"ERROR":
                raise OSError(EIO, "%s: ERROR" % text)
            elif line.startswith(b"+CME ERROR:"):
                raise modem_error(int(line[11:]), text)
            elif line.startswith(b"+QIRD:"):
                n = _fields(line[6:])[0]
                info.append((line, self._exactly(n, deadline)))
            else:
                info.append(line)

    def wait_for(self, condition, deadline):
        """Handle URCs until condition() holds (True) or the deadline passes (False)."""
        while not condition():
            line = self._next_line(deadline)
            if line is None:
                return condition()
            if self.is_urc(line):
                self._on_urc(line)
            # anything else is noise from an earlier, abandoned command
        return True


class ModemSocket:
    """A twinsock platform socket: one modem connectID. twinsock calls send,
    recv and recvfrom on it directly."""

    def __init__(self, modem, connect_id, kind):
        self.modem = modem
        self.connect_id = connect_id
        self.kind = kind  # "udp" or "tcp"
        self.opened = False
        self.open_result = None
        self.unread = False  # a "recv" URC came and no read found the buffer empty since
        self.peer_closed = False

    def __repr__(self):
        return "<modem %s socket %d>" % (self.kind, self.connect_id)

    def send(self, data):
        if not self.opened:
            raise OSError(ENOTCONN, "modem socket is not open")
        if self.peer_closed:  # the modem refuses to send on a socket the peer closed
            raise OSError(EPIPE, "the peer closed the connection")
        n = len(data)
        if n > MAX_SEND:
            if self.kind == "udp":
                raise OSError(EMSGSIZE, "datagram longer than %d bytes" % MAX_SEND)
            n = MAX_SEND  # twinsock sends the rest in later calls
        self.modem.at.command("AT+QISEND=%d,%d" % (self.connect_id, n), payload=bytes(data[:n]))
        return n

    def _read(self, size):
        """(payload, header fields after the length) of one AT+QIRD, or
        OSError(EAGAIN) when the modem had nothing after all."""
        if not self.opened:
            raise OSError(ENOTCONN, "modem socket is not open")
        info = self.modem.at.command("AT+QIRD=%d,%d" % (self.connect_id, size))
        header, data = info[0]
        fields = _fields(header[6:])
        if len(fields) == 1 and not data:  # buffer empty: wait for the next "recv" URC
            self.unread = False
            if self.kind == "tcp" and self.peer_closed:
                return b"", fields
            raise OSError(EAGAIN, "no data buffered in the modem")
        return data, fields

    def recv(self, size):
        """TCP: up to size bytes, b"" at end of stream. UDP: the first size
        bytes of one datagram (twinsock asks one byte more than it wants, to
        see truncation)."""
        return self._read(size)[0]

    def recvfrom(self, size):
        data, fields = self._read(size)
        return data, (fields[1], fields[2])

    def receive_datagram(self, buf, with_sender=False):
        """One datagram into buf; its FULL length (more than len(buf) when it
        was truncated), as the modem reported it."""
        data, fields = self._read(len(buf))
        buf[: len(data)] = data
        if with_sender:
            return fields[3], fields[1], fields[2]
        return fields[3]


class ATModemPlatform(Platform):
    name = "at-modem"

    def __init__(
        self,
        port=None,
        line=None,
        address=None,
        serial=None,
        baudrate=115200,
        command_timeout_ms=COMMAND_TIMEOUT_MS,
    ):
        """Where the modem is, one of:
        `port`: a pyserial URL or device ("/dev/ttyUSB2", "loop://", "rfc2217://...");
        `line`: a ready line (StreamLine(machine.UART(...)) on a board);
        `address`: (host, port) of a TCP serial bridge (or the simulator's --tcp);
        `serial`: an already open pyserial-like object."""
        self._port = port
        self._address = address
        self._line = line if serial is None else SerialLine(serial)
        self._owns_line = False
        self._baudrate = baudrate
        self._command_timeout_ms = command_timeout_ms
        self.at = None
        self._sockets = {}  # connectID -> ModemSocket
        self._dns = None
        self._our_ip = None  # AT+CGPADDR, asked once per initialize()

    # -- global state -------------------------------------------------------

    def initialize(self):
        if self.at is not None:
            return
        if self._line is None:
            self._line = self._open_line()
            self._owns_line = True
        self.at = ATChannel(self._line, self._urc, self._command_timeout_ms)
        self.at.command("ATE0")  # no echo: every line we read is the modem's

    def _open_line(self):
        if self._address is not None:
            import socket

            host, port = self._address
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.connect(socket.getaddrinfo(host, port)[0][-1])
            return StreamLine(sock)
        import serial  # pyserial

        return SerialLine(serial.serial_for_url(self._port, baudrate=self._baudrate))

    def cleanup(self):
        for sock in list(self._sockets.values()):
            self.close(sock)
        self._our_ip = None

    def release(self):
        """Close every socket and the line we opened (the application is done)."""
        if self.at is not None:
            self.cleanup()
        if self._owns_line:
            self._line.close()
            self._line = None
            self._owns_line = False
        self.at = None

    def features(self):
        return {"ipv6": False, "server": False}

    def _urc(self, line):
        fields = _fields(line.split(b":", 1)[1])
        if line.startswith(b"+QIOPEN:"):
            sock = self._sockets.get(fields[0])
            if sock is not None:
                sock.open_result = fields[1]
            return
        kind = fields[0]
        if kind == "recv" and fields[1] in self._sockets:
            self._sockets[fields[1]].unread = True
        elif kind == "closed" and fields[1] in self._sockets:
            # FIN and RST alike: the URC cannot tell a reset from a clean close.
            self._sockets[fields[1]].peer_closed = True
        elif kind == "dnsgip" and self._dns is not None:
            if type(fields[1]) is str:  # one address
                self._dns["ips"].append(fields[1])
            elif fields[1] != 0:  # an error code
                self._dns["error"] = fields[1]
            else:  # error 0, then <count> address lines follow
                self._dns["count"] = fields[2]

    # -- the required methods -------------------------------------------------

    def resolve(self, host, port, family, kind, passive):
        if family == AF_INET6 or ":" in host:
            raise OSError(EADDRNOTAVAIL, "the modem has no IPv6: %r" % host)
        if _is_ipv4(host):  # numeric: no need to ask the modem
            return [(AF_INET4, host, port, (host, port))]
        dns = self._dns = {"ips": [], "count": None, "error": None}
        try:
            self.at.command('AT+QIDNSGIP=1,"%s"' % host)
            done = self.at.wait_for(
                lambda: (
                    dns["error"] is not None
                    or (dns["count"] is not None and len(dns["ips"]) >= dns["count"])
                ),
                _deadline(DNS_TIMEOUT_MS),
            )
        finally:
            self._dns = None
        if not done or dns["error"] is not None or not dns["ips"]:
            raise OSError(EADDRNOTAVAIL, "cannot resolve %r" % host)
        return [(AF_INET4, ip, port, (ip, port)) for ip in dns["ips"]]

    def socket(self, family, kind, config):
        for connect_id in range(MAX_SOCKETS):
            if connect_id not in self._sockets:
                sock = self._sockets[connect_id] = ModemSocket(self, connect_id, kind)
                return sock
        raise OSError(ENOMEM, "all %d modem sockets are in use" % MAX_SOCKETS)

    def connect(self, raw, address, timeout_ms):
        host, port = address
        raw.open_result = None
        self.at.command(
            'AT+QIOPEN=1,%d,"%s","%s",%d,0,0' % (raw.connect_id, raw.kind.upper(), host, port)
        )
        if not self.at.wait_for(lambda: raw.open_result is not None, _deadline(timeout_ms)):
            raise OSError(ETIMEDOUT, "no +QIOPEN from the modem in %d ms" % timeout_ms)
        if raw.open_result != 0:
            raise modem_error(raw.open_result, "connect")
        raw.opened = True  # a modem socket never blocks the host: nothing to switch

    def close(self, raw):
        if self._sockets.get(raw.connect_id) is not raw:
            return  # closed already
        del self._sockets[raw.connect_id]
        if raw.opened or raw.open_result is None:
            try:
                self.at.command("AT+QICLOSE=%d" % raw.connect_id)
            except OSError:
                pass  # closing never fails; the modem frees the ID on its own
        raw.opened = False

    def waiter(self, raw, writable=False):
        def readable():
            return raw.unread or raw.peer_closed

        def wait(timeout_ms):
            if writable:  # AT+QISEND answers SEND FAIL when the modem is full
                return True
            return readable() or self.at.wait_for(readable, _deadline(timeout_ms))

        return wait

    def stream_receiver(self, raw):
        def receive(buf):
            if not len(buf):
                return 0
            data = raw.recv(len(buf))
            buf[: len(data)] = data
            return len(data)

        return receive

    def datagram_receiver(self, raw):
        return raw.receive_datagram

    def errno_of(self, exc):
        if isinstance(exc, OSError) and exc.errno:
            return exc.errno
        if isinstance(exc, (TypeError, ValueError)):
            return EINVAL
        return EIO  # serial.SerialException and anything else from the line

    # -- optional methods a modem has -----------------------------------------

    def datagram_from_receiver(self, raw):
        def receive_from(buf):
            return raw.receive_datagram(buf, with_sender=True)

        return receive_from

    def local_address(self, raw, bound, remote_host):
        # twinsock asks once, right after connect; the PDP address is the
        # same for every socket, so it costs one AT command per initialize().
        state = self.at.command("AT+QISTATE=1,%d" % raw.connect_id)
        if self._our_ip is None:
            address = self.at.command("AT+CGPADDR=1")
            self._our_ip = _fields(address[0][len(b"+CGPADDR:") :])[1] if address else None
        if not state or self._our_ip is None:
            return None
        return self._our_ip, _fields(state[0][len(b"+QISTATE:") :])[4]

    def poll(self, raws, timeout_ms):
        def ready():
            return [raw for raw in raws if raw.unread or raw.peer_closed]

        self.at.wait_for(lambda: bool(ready()), _deadline(timeout_ms))
        return ready()

    # -- for the conformance suite (tools/conformance) -------------------------

    @classmethod
    def conformance_setup(cls, interpreter):
        """Run by the suite on CPython: a context manager that starts a modem
        simulator and yields the keyword arguments that reach it: its pty for
        CPython (pyserial), a TCP port for MicroPython (no pyserial there)."""
        return _Simulated(interpreter)


class _Simulated:
    def __init__(self, interpreter):
        self._tcp = interpreter == "micropython"

    def __enter__(self):
        from examples.modem_simulator import SimulatorProcess

        self._simulator = SimulatorProcess(lifetime=120, tcp=self._tcp)
        if self._tcp:
            return {"address": ["127.0.0.1", self._simulator.tcp_port]}
        return {"port": self._simulator.port}

    def __exit__(self, *exc):
        self._simulator.stop()
