# The timed part of the benchmarks. Runs unchanged on CPython and on the
# MicroPython unix port (no f-strings, no CPython-only modules at import).
# argv[1] names a file holding a JSON job:
#   {"bench": "udp"|"tcp"|"tls"|"dtls", "rounds": r, "variants": [...], ...}
# and the result is printed as one line: "@@bench " + JSON, holding a list of
# figures per variant, one per round, measured interleaved (every round runs
# every variant, in a rotating order) so that load from other processes hits
# all variants alike.
import gc
import json
import sys
import time

try:
    import socket
except ImportError:
    import usocket as socket
try:
    import select
except ImportError:
    import uselect as select

MARK = "@@bench "


def load_job():
    # A file, not the JSON itself: MicroPython 1.29-preview aborts
    # ("FATAL: uncaught NLR") on a command-line argument of 256 bytes or more.
    with open(sys.argv[1]) as f:
        return json.loads(f.read())


MICROPYTHON = sys.implementation.name == "micropython"

if MICROPYTHON:

    def clock():
        return time.ticks_us()

    def seconds_since(start):
        return time.ticks_diff(time.ticks_us(), start) / 1e6

else:
    _perf = time.perf_counter

    def clock():
        return _perf()

    def seconds_since(start):
        return _perf() - start


def address(host, port, kind):
    kind = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    return socket.getaddrinfo(host, port, socket.AF_INET, kind)[0][-1]


def nodelay(raw):
    raw.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY: not named on MicroPython


# -- UDP ping-pong: run(n) -> round trips per second -----------------------


def udp_raw(job):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(address(job["host"], job["udp_echo"], "udp"))
    payload = bytes(job["payload"])
    size = len(payload)
    if MICROPYTHON:  # no recv_into on MicroPython sockets
        recv = s.recv

        def run(n):
            start = clock()
            for _ in range(n):
                s.send(payload)
                recv(size)
            return n / seconds_since(start)

    else:
        buf = bytearray(size)
        recv_into = s.recv_into

        def run(n):
            start = clock()
            for _ in range(n):
                s.send(payload)
                recv_into(buf)
            return n / seconds_since(start)

    return run, s.close


def udp_twinsock(job):
    import twinsock

    s = twinsock.udp_socket()
    s.connect(job["host"], job["udp_echo"])
    payload = bytes(job["payload"])
    buf = bytearray(len(payload))

    def run(n):
        send = s.send
        receive_into = s.receive_into
        start = clock()
        for _ in range(n):
            send(payload)
            receive_into(buf)
        return n / seconds_since(start)

    return run, s.cleanup


def udp_chumicro(job):
    import chumicro_sockets

    s = chumicro_sockets.udp_socket("0.0.0.0", 0)
    host, port = job["host"], job["udp_echo"]
    payload = bytes(job["payload"])
    buf = bytearray(len(payload))

    def run(n):
        sendto = s.sendto
        recvfrom_into = s.recvfrom_into
        start = clock()
        for _ in range(n):
            sendto(payload, host, port)
            recvfrom_into(buf)
        return n / seconds_since(start)

    return run, s.close


# -- TCP bulk: run(total) -> bytes per second, send or receive ---------------


def _header(op, count):
    return b"%s%010d" % (op, count)


def tcp_raw(job):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(address(job["host"], job["tcp"], "tcp"))
    nodelay(s)
    chunk = bytes(job["chunk"])
    size = len(chunk)
    buf = bytearray(size)
    send = s.send
    readinto = s.readinto if MICROPYTHON else s.recv_into

    def send_all(data):
        sent = send(data)
        while sent < len(data):
            sent += send(data[sent:])

    def run_send(total):
        start = clock()
        send_all(_header(b"S", total))
        for _ in range(total // size):
            if send(chunk) != size:
                send_all(memoryview(chunk)[size:])  # not reached at 4 KiB on loopback
        s.recv(1)
        return total / seconds_since(start)

    def run_receive(total):
        start = clock()
        send_all(_header(b"R", total))
        got = 0
        while got < total:
            got += readinto(buf)
        return total / seconds_since(start)

    return {"send": run_send, "receive_into": run_receive}, s.close


def tcp_rawnb(job):
    # The floor for a layer that keeps the socket non-blocking and waits with
    # poll (as twinsock does, so that a receive timeout costs sends nothing):
    # read or send first, poll only when the kernel says EAGAIN.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(address(job["host"], job["tcp"], "tcp"))
    nodelay(s)
    s.setblocking(False)
    readable = select.poll()
    readable.register(s, select.POLLIN)
    writable = select.poll()
    writable.register(s, select.POLLOUT)
    chunk = bytes(job["chunk"])
    size = len(chunk)
    buf = bytearray(size)
    send = s.send
    readinto = s.readinto if MICROPYTHON else s.recv_into

    def send_all(data):
        view = memoryview(data)
        sent = 0
        while sent < len(view):
            try:
                sent += send(view[sent:])
            except OSError:
                writable.poll(1000)

    def receive_into():
        while True:
            try:
                n = readinto(buf)
            except OSError:
                n = None
            if n is not None:
                return n
            readable.poll(1000)

    def run_send(total):
        start = clock()
        send_all(_header(b"S", total))
        for _ in range(total // size):
            try:
                n = send(chunk)
            except OSError:
                n = 0
            if n != size:  # rare: the rest after a wait
                send_all(memoryview(chunk)[n:])
        receive_into()
        return total / seconds_since(start)

    def run_receive(total):
        start = clock()
        send_all(_header(b"R", total))
        got = 0
        while got < total:
            got += receive_into()
        return total / seconds_since(start)

    return {"send": run_send, "receive_into": run_receive}, s.close


def tcp_twinsock(job):
    import twinsock

    s = twinsock.tcp_socket()
    s.connect(job["host"], job["tcp"])
    nodelay(s.get_system_socket())
    chunk = bytes(job["chunk"])
    size = len(chunk)
    buf = bytearray(size)

    def run_send(total):
        send = s.send
        start = clock()
        send(_header(b"S", total))
        for _ in range(total // size):
            send(chunk)
        s.receive(1)
        return total / seconds_since(start)

    def run_receive(total):
        receive_into = s.receive_into
        start = clock()
        s.send(_header(b"R", total))
        got = 0
        while got < total:
            got += receive_into(buf)
        return total / seconds_since(start)

    return {"send": run_send, "receive_into": run_receive}, s.cleanup


def tcp_chumicro(job):
    # chumicro sockets are non-blocking and tick-driven: wait with poll, as
    # its runner would.
    import chumicro_sockets

    c = chumicro_sockets.connector(job["host"], job["tcp"])
    while c.check(0):
        c.tick(0)
        time.sleep(0.001)
    if c.state != "ready":
        raise OSError("chumicro connect failed: %r" % (c.last_error,))
    s = c.socket
    raw = getattr(s, "sock", s)
    nodelay(raw)
    readable = select.poll()
    readable.register(raw, select.POLLIN)
    writable = select.poll()
    writable.register(raw, select.POLLOUT)
    chunk = bytes(job["chunk"])
    size = len(chunk)
    buf = bytearray(size)
    send = s.send
    recv_into = s.recv_into

    def send_all(data):
        view = memoryview(data)
        sent = 0
        while sent < len(view):
            try:
                sent += send(view[sent:])
            except OSError:
                writable.poll(1000)

    def receive_into():
        while True:
            try:
                return recv_into(buf)
            except OSError:
                readable.poll(1000)

    def run_send(total):
        start = clock()
        send_all(_header(b"S", total))
        for _ in range(total // size):
            send_all(chunk)
        receive_into()
        return total / seconds_since(start)

    def run_receive(total):
        start = clock()
        send_all(_header(b"R", total))
        got = 0
        while got < total:
            got += receive_into()
        return total / seconds_since(start)

    return {"send": run_send, "receive_into": run_receive}, s.close


# -- TLS / DTLS: handshake seconds and echo round-trip seconds ---------------
# A variant is open(job) -> session with .send(data), .receive_exactly(n) and
# .close(); the handshake is the whole open().


class _RawMicroPythonTls:
    def __init__(self, job, datagram):
        import tls

        if datagram:
            ctx = tls.SSLContext(tls.PROTOCOL_DTLS_CLIENT)
        else:
            ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = tls.CERT_REQUIRED
        ctx.load_verify_locations(_der(job))  # positional: no keywords here
        kind = "udp" if datagram else "tcp"
        raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if datagram else socket.SOCK_STREAM)
        raw.connect(address(job["host"], job["port"], kind))
        if not datagram:
            nodelay(raw)
        self.raw = raw
        self.s = ctx.wrap_socket(raw, server_hostname=job["server_name"])

    def send(self, data):
        self.s.write(data)

    def receive_exactly(self, buf):
        got = 0
        view = memoryview(buf)
        while got < len(buf):
            got += self.s.readinto(view[got:])

    def close(self):
        self.s.close()


class _RawPyOpenSsl:
    def __init__(self, job, datagram):
        from OpenSSL import SSL

        ctx = SSL.Context(SSL.DTLS_CLIENT_METHOD if datagram else SSL.TLS_CLIENT_METHOD)
        ctx.set_verify(SSL.VERIFY_PEER, None)
        ctx.load_verify_locations(job["cert_file"])
        kind = socket.SOCK_DGRAM if datagram else socket.SOCK_STREAM
        raw = socket.socket(socket.AF_INET, kind)
        raw.connect((job["host"], job["port"]))
        if not datagram:
            nodelay(raw)
        self.raw = raw
        s = SSL.Connection(ctx, raw)
        s.set_tlsext_host_name(job["server_name"].encode())
        s.set_connect_state()
        s.do_handshake()
        self.s = s

    def send(self, data):
        self.s.sendall(data)

    def receive_exactly(self, buf):
        got = 0
        view = memoryview(buf)
        while got < len(buf):
            got += self.s.recv_into(view[got:])

    def close(self):
        try:
            self.s.shutdown()
        except Exception:  # noqa: BLE001 - the peer may be gone already
            pass
        self.raw.close()


def _der(job):
    if "der" not in job:
        import binascii

        pem = job["cert_pem"]
        body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
        job["der"] = binascii.a2b_base64(body.replace("\n", ""))
    return job["der"]


def tls_raw(job):
    datagram = job["bench"] == "dtls"
    if MICROPYTHON:
        return lambda: _RawMicroPythonTls(job, datagram)
    return lambda: _RawPyOpenSsl(job, datagram)


class _Twinsock:
    def __init__(self, job, datagram):
        import twinsock

        config = twinsock.SSLConfig(
            twinsock.CertInfo(trusted_certs=(_der(job),)),
            server_name_indication=job["server_name"],
        )
        s = twinsock.dtls_socket(config) if datagram else twinsock.ssl_socket(config)
        s.connect(job["host"], job["port"])
        self.s = s

    def send(self, data):
        self.s.send(data)

    def receive_exactly(self, buf):
        got = 0
        view = memoryview(buf)
        while got < len(buf):
            got += self.s.receive_into(view[got:])

    def close(self):
        self.s.cleanup()


def tls_twinsock(job):
    import twinsock

    name = "dtls_socket" if job["bench"] == "dtls" else "ssl_socket"
    try:
        getattr(twinsock, name)
    except (AttributeError, ImportError) as e:
        raise Unavailable("twinsock.%s not available (%s)" % (name, e))
    return lambda: _Twinsock(job, job["bench"] == "dtls")


class Unavailable(Exception):
    pass


# -- rounds ---------------------------------------------------------------


def make(bench, variant, job):
    factory = globals()["%s_%s" % ("tls" if bench in ("tls", "dtls") else bench, variant)]
    try:
        return factory(job)
    except Unavailable as e:
        return e
    except ImportError as e:
        return Unavailable("%s not importable: %s" % (variant, e))


def rotate(items, k):
    k %= len(items) or 1
    return items[k:] + items[:k]


def run_stream(job, ready):
    figures = {}
    for name in ready:
        figures[name] = {"send": [], "receive_into": []}
    total = job["total"]
    for name in ready:  # warm-up: caches, buffers, TCP windows
        ready[name][0]["send"](total // 4)
        ready[name][0]["receive_into"](total // 4)
    repeat = job.get("repeat", 1)
    for r in range(job["rounds"]):
        for direction in ("send", "receive_into"):
            for name in rotate(list(ready), r):
                gc.collect()
                run = ready[name][0][direction]
                seconds = 0.0
                for _ in range(repeat):  # one figure: `repeat` transfers of `total`
                    seconds += total / run(total)
                figures[name][direction].append(total * repeat / seconds)
    return figures


def run_pingpong(job, ready):
    figures = {}
    n = job["count"]
    for name in ready:
        figures[name] = []
        ready[name][0](n // 10)  # warm-up
    for r in range(job["rounds"]):
        for name in rotate(list(ready), r):
            gc.collect()
            figures[name].append(ready[name][0](n))
    return figures


def run_secure(job, openers):
    figures = {}
    for name in openers:
        figures[name] = {"handshake_ms": [], "echo_ms": []}
    line = b"x" * (job["payload"] - 1) + b"\n"
    buf = bytearray(len(line))
    for name in openers:  # warm-up: first-use imports and context setup
        openers[name]().close()
    for r in range(job["rounds"]):
        for name in rotate(list(openers), r):
            gc.collect()
            start = clock()
            session = openers[name]()
            figures[name]["handshake_ms"].append(seconds_since(start) * 1000)
            try:
                if job.get("echo", True):
                    session.send(line)
                    session.receive_exactly(buf)  # warm path
                    start = clock()
                    for _ in range(job["echoes"]):
                        session.send(line)
                        session.receive_exactly(buf)
                    figures[name]["echo_ms"].append(seconds_since(start) * 1000 / job["echoes"])
            finally:
                session.close()
    return figures


def main():
    job = load_job()
    bench = job["bench"]
    out = {"bench": bench, "runtime": sys.implementation.name, "figures": {}, "missing": {}}
    ready = {}
    for variant in job["variants"]:
        made = make(bench, variant, job)
        if isinstance(made, Exception):
            out["missing"][variant] = str(made)
        else:
            ready[variant] = made
    try:
        if bench == "udp":
            out["figures"] = run_pingpong(job, ready)
        elif bench == "tcp":
            out["figures"] = run_stream(job, ready)
        else:
            openers = ready
            # A secure variant that cannot even shake hands is reported, not fatal.
            for name in list(openers):
                try:
                    openers[name]().close()
                except Exception as e:  # noqa: BLE001
                    out["missing"][name] = "handshake failed: %r" % (e,)
                    del openers[name]
            out["figures"] = run_secure(job, openers)
    finally:
        if bench in ("udp", "tcp"):
            for name in ready:
                ready[name][1]()
    sys.stdout.write(MARK + json.dumps(out) + "\n")


main()
