"""A small cellular-modem simulator for examples/at_modem_platform.py.

It speaks the AT dialect documented at the top of at_modem_platform.py (a subset
of Quectel's BG95/BC66 TCP/IP commands) on the master side of a pseudo-terminal,
and opens REAL sockets on the host for the sockets the platform asks for, so the
example port talks to real peers (the host server, the conformance suite).

    python -m examples.modem_simulator [--lifetime 60] [--tcp]

prints ONE JSON line when ready, then serves until the lifetime ends (or
SIGTERM/SIGINT)::

    {"ready": true, "pid": 1234, "port": "/dev/pts/7", "lifetime": 60}

`port` is the pty slave: open it with pyserial (``serial.serial_for_url(port)``).
With ``--tcp`` the UART is a TCP port on 127.0.0.1 instead (``"tcp": 40123``), for
hosts without pyserial (MicroPython); each connection gets a fresh modem.
One thread, one select() loop: a command is answered completely before any URC
is written, as a real modem's UART does. `SimulatorProcess` runs it as a child
process for tests (started, waited for, stopped).
"""

import argparse
import errno
import json
import os
import re
import select
import signal
import socket
import sys
import time
import tty

MAX_SOCKETS = 12  # connectID 0..11
MAX_SEND = 1460  # longest AT+QISEND payload
MAX_BUFFERED = 65536  # per TCP socket; beyond it the simulator stops reading
MAX_DATAGRAMS = 64  # per UDP socket; beyond it new datagrams are dropped
CONNECT_TIMEOUT = 10.0

# Quectel TCP/IP error codes (the subset this simulator uses).
ERR_UNKNOWN = 550
ERR_INVALID = 552
ERR_NOT_SUPPORTED = 555
ERR_ID_IN_USE = 563
ERR_DNS = 565
ERR_CONNECT = 566
ERR_CLOSED = 567
ERR_TIMEOUT = 569

_COMMAND = re.compile(rb"^AT\+?(\w*)(\?|=(.*))?$")


def _args(text):
    """b'1,2,"TCP"' -> [1, 2, 'TCP']."""
    out = []
    for part in re.findall(rb'"[^"]*"|[^,]+', text or b""):
        part = part.strip()
        out.append(part[1:-1].decode() if part.startswith(b'"') else int(part))
    return out


class Conn:
    """One connectID: a real socket and what it received but the host has not read."""

    def __init__(self, kind, sock):
        self.kind = kind
        self.sock = sock
        self.stream = bytearray()  # TCP
        self.datagrams = []  # UDP: (data, (ip, port))
        self.connecting_until = None
        self.notified = False  # "recv" URC sent and not yet drained by the host
        self.peer_closed = False

    def has_data(self):
        return bool(self.stream) if self.kind == "TCP" else bool(self.datagrams)

    def wants_read(self):
        if self.connecting_until is not None or self.peer_closed:
            return False
        if self.kind == "TCP":
            return len(self.stream) < MAX_BUFFERED
        return True


class Modem:
    def __init__(self, fd):
        self.fd = fd
        self.rx = bytearray()
        self.conns = {}
        self.sending = None  # (connectID, length) while waiting for the '>' payload
        self.line_closed = False

    # -- the UART ----------------------------------------------------------

    def write(self, data):
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def reply(self, *lines):
        self.write(b"".join(b"\r\n" + line + b"\r\n" for line in lines))

    def urc(self, line):
        self.reply(line)

    # -- the loop ----------------------------------------------------------

    def serve(self, until):
        while time.monotonic() < until:
            readers = [self.fd]
            writers = []
            wake = until
            if self.sending is None:  # no URC may split the '>' payload
                for conn in self.conns.values():
                    if conn.connecting_until is not None:
                        writers.append(conn.sock)
                        wake = min(wake, conn.connecting_until)
                    elif conn.wants_read():
                        readers.append(conn.sock)
            r, w, _ = select.select(readers, writers, [], max(0.0, wake - time.monotonic()))
            if self.fd in r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the slave side went away for good
                    chunk = b""
                if not chunk:  # the host hung up (TCP mode)
                    self.line_closed = True
                    return
                self.rx += chunk
                self.commands()
            for cid, conn in list(self.conns.items()):
                if conn.sock in w:
                    self.connected(cid, conn)
                elif conn.connecting_until is not None and time.monotonic() > conn.connecting_until:
                    self.open_failed(cid, ERR_TIMEOUT)
                elif conn.sock in r and self.conns.get(cid) is conn:
                    self.receive(cid, conn)

    def commands(self):
        while True:
            if self.sending is not None:
                cid, length = self.sending
                if len(self.rx) < length:
                    return
                payload = bytes(self.rx[:length])
                del self.rx[:length]
                self.sending = None
                self.send(cid, payload)
                continue
            match = re.search(rb"[\r\n]", self.rx)
            if match is None:
                return
            line = bytes(self.rx[: match.start()]).strip()
            del self.rx[: match.end()]
            if line:
                self.command(line)

    def command(self, line):
        m = _COMMAND.match(line)
        if m is None:
            self.reply(b"ERROR")
            return
        name = m.group(1).decode().upper()
        handler = getattr(self, "at_" + name.lower(), None) if name else self.at_
        if handler is None:
            self.reply(b"ERROR")
            return
        try:
            handler(_args(m.group(3)))
        except (ValueError, IndexError, TypeError):
            self.reply(b"+CME ERROR: %d" % ERR_INVALID)

    # -- commands ------------------------------------------------------------

    def at_(self, args):
        self.reply(b"OK")

    def at_e0(self, args):  # ATE0 parses as name "E0"
        self.reply(b"OK")

    def at_cgpaddr(self, args):
        self.reply(b'+CGPADDR: 1,"127.0.0.1"', b"OK")

    def at_qidnsgip(self, args):
        _context, name = args
        self.reply(b"OK")
        try:
            if name.rstrip(".").lower().rpartition(".")[2] == "invalid":
                # RFC 6761 6.4: names under "invalid" get an immediate negative
                # answer, without a query to any DNS server.
                raise OSError("no such name")
            infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_DGRAM)
        except (OSError, UnicodeError):
            self.urc(b'+QIURC: "dnsgip",%d' % ERR_DNS)
            return
        ips = []
        for info in infos:
            if info[4][0] not in ips:
                ips.append(info[4][0])
        self.urc(b'+QIURC: "dnsgip",0,%d,600' % len(ips))
        for ip in ips:
            self.urc(b'+QIURC: "dnsgip","%s"' % ip.encode())

    def at_qiopen(self, args):
        _context, cid, kind, ip, port, local_port, _mode = args
        if not 0 <= cid < MAX_SOCKETS or kind not in ("TCP", "UDP"):
            self.reply(b"+CME ERROR: %d" % ERR_INVALID)
            return
        if cid in self.conns:
            self.reply(b"+CME ERROR: %d" % ERR_ID_IN_USE)
            return
        sock = socket.socket(
            socket.AF_INET, socket.SOCK_STREAM if kind == "TCP" else socket.SOCK_DGRAM
        )
        sock.setblocking(False)
        conn = self.conns[cid] = Conn(kind, sock)
        self.reply(b"OK")
        try:
            if local_port:
                sock.bind(("0.0.0.0", local_port))
            code = sock.connect_ex((ip, port))
        except OSError as e:
            code = e.errno
        if code == 0:
            self.urc(b"+QIOPEN: %d,0" % cid)
        elif code in (errno.EINPROGRESS, errno.EAGAIN):
            conn.connecting_until = time.monotonic() + CONNECT_TIMEOUT
        else:
            self.open_failed(cid, _open_error(code))

    def connected(self, cid, conn):
        code = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self.open_failed(cid, _open_error(code))
            return
        conn.connecting_until = None
        self.urc(b"+QIOPEN: %d,0" % cid)

    def open_failed(self, cid, code):
        self.conns.pop(cid).sock.close()
        self.urc(b"+QIOPEN: %d,%d" % (cid, code))

    def at_qisend(self, args):
        cid, length = args[0], args[1]
        conn = self.conns.get(cid)
        if conn is None or conn.connecting_until is not None:
            self.reply(b"+CME ERROR: %d" % ERR_CLOSED)
            return
        if conn.peer_closed:  # a socket the peer closed only waits for AT+QICLOSE
            self.reply(b"ERROR")
            return
        if not 0 <= length <= MAX_SEND:
            self.reply(b"+CME ERROR: %d" % ERR_INVALID)
            return
        self.sending = (cid, length)
        self.write(b"> ")

    def send(self, cid, payload):
        conn = self.conns.get(cid)
        try:
            if conn.kind == "TCP":
                conn.sock.setblocking(True)
                conn.sock.settimeout(2.0)
                try:
                    conn.sock.sendall(payload)
                finally:
                    conn.sock.setblocking(False)
            else:
                conn.sock.send(payload)
        except BlockingIOError:
            self.reply(b"SEND FAIL")
            return
        except OSError:
            if conn.kind == "UDP":  # an ICMP error from an earlier datagram: still sent
                self.reply(b"SEND OK")
                return
            self.reply(b"ERROR")
            return
        self.reply(b"SEND OK")

    def receive(self, cid, conn):
        try:
            if conn.kind == "TCP":
                data = conn.sock.recv(MAX_BUFFERED - len(conn.stream))
                if not data:
                    conn.peer_closed = True
                    self.urc(b'+QIURC: "closed",%d' % cid)
                    return
                conn.stream += data
            else:
                data, addr = conn.sock.recvfrom(65536)
                if len(conn.datagrams) >= MAX_DATAGRAMS:
                    return
                conn.datagrams.append((data, addr[:2]))
        except BlockingIOError:
            return
        except OSError:
            if conn.kind == "TCP":  # reset: to the host, the peer closed
                conn.peer_closed = True
                self.urc(b'+QIURC: "closed",%d' % cid)
            return  # UDP: an ICMP error, which a modem does not report
        if not conn.notified:
            conn.notified = True
            self.urc(b'+QIURC: "recv",%d' % cid)

    def at_qird(self, args):
        cid, length = args[0], args[1]
        conn = self.conns.get(cid)
        if conn is None:
            self.reply(b"+CME ERROR: %d" % ERR_CLOSED)
            return
        if conn.kind == "TCP":
            data = bytes(conn.stream[:length])
            del conn.stream[:length]
            header = b"+QIRD: %d" % len(data)
        elif conn.datagrams:
            datagram, (ip, port) = conn.datagrams.pop(0)
            data = datagram[:length]  # the rest of a longer datagram is discarded
            header = b'+QIRD: %d,"%s",%d,%d' % (len(data), ip.encode(), port, len(datagram))
        else:
            data, header = b"", b"+QIRD: 0"
        if not conn.has_data():
            conn.notified = False  # the next arrival is reported again
        self.write(b"\r\n" + header + b"\r\n" + data + b"\r\n\r\nOK\r\n")

    def at_qistate(self, args):
        _query, cid = args
        conn = self.conns.get(cid)
        if conn is None:
            self.reply(b"OK")
            return
        try:
            local = conn.sock.getsockname()
            remote = conn.sock.getpeername()
        except OSError:
            local, remote = ("0.0.0.0", 0), ("0.0.0.0", 0)
        state = 1 if conn.connecting_until is not None else 2
        line = b'+QISTATE: %d,"%s","%s",%d,%d,%d,1,0,0,"uart1"' % (
            cid,
            conn.kind.encode(),
            remote[0].encode(),
            remote[1],
            local[1],
            state,
        )
        self.reply(line, b"OK")

    def at_qiclose(self, args):
        conn = self.conns.pop(args[0], None)
        if conn is not None:
            conn.sock.close()
        self.reply(b"OK")

    def close_all(self):
        for conn in self.conns.values():
            conn.sock.close()
        self.conns.clear()


def _open_error(code):
    if code == errno.ECONNREFUSED:
        return ERR_CONNECT
    if code == errno.ETIMEDOUT:
        return ERR_TIMEOUT
    return ERR_UNKNOWN


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.modem_simulator")
    parser.add_argument("--lifetime", type=float, default=60.0, help="seconds before exiting")
    parser.add_argument(
        "--tcp", action="store_true", help="serve the UART on a TCP port of 127.0.0.1, not a pty"
    )
    args = parser.parse_args(argv)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *a: stopping.append(1))
    description = {"ready": True, "pid": os.getpid(), "lifetime": args.lifetime}
    if args.tcp:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        description["tcp"] = listener.getsockname()[1]
    else:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation: a binary-clean UART
        description["port"] = os.ttyname(slave)
    sys.stdout.write(json.dumps(description) + "\n")
    sys.stdout.flush()
    until = time.monotonic() + args.lifetime

    def running():
        return not stopping and time.monotonic() < until

    try:
        if args.tcp:
            while running():  # one host at a time; each starts with a fresh modem
                if not select.select([listener], [], [], 0.5)[0]:
                    continue
                client, _ = listener.accept()
                serve(Modem(client.fileno()), running, until)
                client.close()
        else:
            serve(Modem(master), running, until)
    except InterruptedError:
        pass
    finally:
        if args.tcp:
            listener.close()
        else:
            os.close(slave)  # held open so the master never reads EOF between hosts
            os.close(master)
    return 0


def serve(modem, running, until):
    try:
        while running() and not modem.line_closed:
            try:
                modem.serve(min(until, time.monotonic() + 0.5))
            except InterruptedError:
                pass
    finally:
        modem.close_all()


class SimulatorProcess:
    """The simulator as a child process: `port` is its pty (or `tcp_port` its
    TCP port, with tcp=True); `stop()` ends it."""

    def __init__(self, lifetime=60.0, tcp=False, ready_timeout=10.0):
        import subprocess

        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        argv = [sys.executable, "-m", "examples.modem_simulator", "--lifetime", str(lifetime)]
        self.process = subprocess.Popen(
            argv + (["--tcp"] if tcp else []),
            cwd=root,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        ready, _, _ = select.select([self.process.stdout], [], [], ready_timeout)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.stop()
            raise RuntimeError("modem simulator not ready within %s s" % ready_timeout)
        self.description = json.loads(line)
        self.port = self.description.get("port")
        self.tcp_port = self.description.get("tcp")

    def stop(self, timeout=5.0):
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
