# MicroPython heap figures, one probe per interpreter process so that every
# figure starts from the same clean heap. Run by tools.bench under
# `micropython -X heapsize=192K` with argv[1] naming a JSON job file:
#   {"probe": "import"|"import_ready"|"tls"|"dtls"|"sockets"|"alloc"|
#             "chumicro_import"|"chumicro_sockets", ...}
# Prints "@@bench " + JSON. Bytes taken = gc.mem_free() before - after, both
# after gc.collect().
import gc
import json
import sys

try:
    import socket
except ImportError:
    import usocket as socket
try:
    import select  # noqa: F401 - loaded before the baseline: the layer needs it anyway
except ImportError:
    import uselect as select  # noqa: F401

MARK = "@@bench "


def load_job():
    # A file, not the JSON itself: MicroPython 1.29-preview aborts
    # ("FATAL: uncaught NLR") on a command-line argument of 256 bytes or more.
    with open(sys.argv[1]) as f:
        return json.loads(f.read())


job = load_job()
out = {"probe": job["probe"]}


def free():
    gc.collect()
    gc.collect()
    return gc.mem_free()


def addr(kind, port):
    kind = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    return socket.getaddrinfo("127.0.0.1", port, socket.AF_INET, kind)[0][-1]


def raw_socket(kind):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
    s.connect(addr(kind, job["udp_echo"] if kind == "udp" else job["tcp"]))
    return s


def twinsock_socket(kind):
    import twinsock

    s = twinsock.udp_socket() if kind == "udp" else twinsock.tcp_socket()
    s.connect("127.0.0.1", job["udp_echo"] if kind == "udp" else job["tcp"])
    return s


def per_socket(make, kind, count):
    """Heap held per open socket: open `count` and divide (after one warm-up
    socket, which pays for first-use allocations)."""
    keep = [make(kind)]
    before = free()
    for _ in range(count):
        keep.append(make(kind))
    taken = before - free()
    for s in keep:
        (getattr(s, "cleanup", None) or s.close)()
    return taken // count


def alloc_per_call(call, calls):
    """Bytes allocated per call in steady state: warm up, then count
    gc.mem_alloc() growth with the collector off."""
    for _ in range(20):
        call()
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for _ in range(calls):
        call()
    grown = gc.mem_alloc() - before
    gc.enable()
    return grown / calls


probe = job["probe"]
base = free()
if probe == "import":
    import twinsock  # noqa: F401

    out["bytes"] = base - free()
elif probe == "import_ready":
    # The UDP/TCP core ready to use: the package plus its platform shim.
    import twinsock

    twinsock.initialize()
    out["bytes"] = base - free()
elif probe in ("tls", "dtls"):
    # What the feature adds on top of the ready core: its modules, and the
    # engine module a first socket loads (the socket itself is freed again).
    import twinsock

    twinsock.initialize()
    ready = free()
    factory = "ssl_socket" if probe == "tls" else "dtls_socket"
    try:
        config = twinsock.SSLConfig(twinsock.PskInfo(b"id", b"key"))
        getattr(twinsock, factory)(config).cleanup()
        del config
        out["bytes"] = ready - free()
    except (AttributeError, ImportError) as e:
        out["missing"] = "twinsock.%s not available (%s)" % (factory, e)
elif probe == "sockets":
    import twinsock

    twinsock.initialize()
    count = job.get("count", 4)
    for kind in ("udp", "tcp"):
        raw = per_socket(raw_socket, kind, count)
        layered = per_socket(twinsock_socket, kind, count)
        out[kind] = {"raw": raw, "twinsock": layered, "overhead": layered - raw}
elif probe == "alloc":
    import twinsock

    calls = job.get("calls", 500)
    payload = bytes(64)
    chunk = bytes(4096)
    # UDP: send alone, then send + receive_into pairs; receive_into = the difference.
    u = twinsock.udp_socket()
    u.connect("127.0.0.1", job["udp_echo"])
    buf = bytearray(64)

    def udp_send():
        u.send(payload)
        u.receive_into(buf)  # keep the echo queue empty

    # Sends alone go to a socket of ours that never reads (the kernel drops
    # what overflows), not to the echo server, whose queue they would flood.
    drain = twinsock.udp_socket()
    drain.bind("127.0.0.1", 0)
    sink = twinsock.udp_socket()
    sink.connect("127.0.0.1", drain.get_local_port())

    def udp_send_only():
        sink.send(payload)

    out["udp"] = {
        "send": alloc_per_call(udp_send_only, calls),
        "receive_into": alloc_per_call(udp_send, calls) - alloc_per_call(udp_send_only, calls),
    }
    t = twinsock.tcp_socket()
    t.connect("127.0.0.1", job["tcp"])
    big = bytearray(4096)
    t.send(b"S%010d" % (4096 * (calls + 20)))

    def tcp_send():
        t.send(chunk)

    tcp = {"send": alloc_per_call(tcp_send, calls)}
    t.receive(1)
    t.send(b"R%010d" % (4096 * (calls + 20) * 2))
    state = [0]

    def tcp_receive():
        state[0] += t.receive_into(big)

    tcp["receive_into"] = alloc_per_call(tcp_receive, calls)
    out["tcp"] = tcp
    # The same for the raw socket, as the reference.
    r = raw_socket("udp")
    rbuf = bytearray(64)

    def raw_udp():
        r.send(payload)
        r.readinto(rbuf)

    out["raw_udp_send_readinto"] = alloc_per_call(raw_udp, calls)
    for s in (u, sink, drain, t):
        s.cleanup()
    r.close()
elif probe == "tls_socket":
    # One TLS socket at a time (s_server serves one connection at a time):
    # the heap held while it is open, after a warm-up open/close.
    import binascii

    import tls
    import twinsock

    twinsock.initialize()
    pem = job["cert_pem"]
    der = binascii.a2b_base64(pem.split("-----")[2].replace("\n", ""))

    def open_raw():
        ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = tls.CERT_REQUIRED
        ctx.load_verify_locations(der)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.connect(addr("tcp", job["tls_port"]))
        return ctx.wrap_socket(raw, server_hostname="localhost")

    def open_twinsock():
        config = twinsock.SSLConfig(
            twinsock.CertInfo(trusted_certs=(der,)), server_name_indication="localhost"
        )
        s = twinsock.ssl_socket(config)
        s.connect("127.0.0.1", job["tls_port"])
        return s

    def close(s):
        (getattr(s, "cleanup", None) or s.close)()

    for name, opener in (("raw", open_raw), ("twinsock", open_twinsock)):
        try:
            close(opener())
        except Exception as e:  # noqa: BLE001 - reported, not fatal
            out[name] = "failed: %r" % (e,)
            continue
        before = free()
        s = opener()
        out[name] = before - free()
        close(s)
    if type(out.get("raw")) is int and type(out.get("twinsock")) is int:
        out["overhead"] = out["twinsock"] - out["raw"]
elif probe == "chumicro_import":
    import chumicro_sockets  # noqa: F401

    out["bytes"] = base - free()
elif probe == "chumicro_sockets":
    import time

    import chumicro_sockets

    u = chumicro_sockets.udp_socket("0.0.0.0", 0)
    c = chumicro_sockets.connector("127.0.0.1", job["tcp"])
    while c.check(0):
        c.tick(0)
        time.sleep(0.001)
    out["bytes"] = base - free()
    out["state"] = c.state
    u.close()
    c.socket.close()
elif probe == "raw_sockets":
    keep = [raw_socket("udp"), raw_socket("tcp")]
    out["bytes"] = base - free()
elif probe == "twinsock_sockets":
    # import + one UDP + one TCP socket: chumicro's figure, for twinsock.
    import twinsock

    keep = [twinsock_socket("udp"), twinsock_socket("tcp")]
    out["bytes"] = base - free()
sys.stdout.write(MARK + json.dumps(out) + "\n")
