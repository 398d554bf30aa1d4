"""The benchmark driver: starts the peers, runs tools/bench/workload.py and
tools/bench/heap.py on each runtime (and heap.py once more with the code in a
ROMFS image), prints a progress line per step and one table of min / median /
max per figure, with the speed targets and every heap budget of
tools/bench/heap.py BUDGETS marked met or MISSED."""

import ast
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
# heap_repeat: runs of each heap probe (min / median / max; heap figures barely move).
FULL = {
    "heap_repeat": 3, "rounds": 15, "udp_count": 5000, "tcp_total": 4 << 20, "tcp_repeat": 8,
    "tls_rounds": 21, "echoes": 200,
}  # fmt: skip
QUICK = {
    "heap_repeat": 1, "rounds": 2, "udp_count": 200, "tcp_total": 256 << 10, "tcp_repeat": 1,
    "tls_rounds": 2, "echoes": 5,
}  # fmt: skip

# Speed targets of issue 6: (kind, limit), judged on the median. "min": figure
# >= limit; "max": figure <= limit. Heap budgets live in tools/bench/heap.py.
TARGETS = {
    "ratio": ("min", 0.90),
    "handshake": ("max", 1.05),
}
HEAP_PY = os.path.join(HERE, "heap.py")
# Figures measured again with the code in a ROMFS image, beside the .mpy rows.
ROMFS_FIGURES = ("core_ready", "import_udp_tcp", "tls_code", "dtls_code")


def heap_tables(path=HEAP_PY):
    """(BUDGETS, figure table) from heap.py's source. Read, not imported: heap.py
    is also the MicroPython probe script. Values are constant expressions."""
    with open(path) as f:
        tree = ast.parse(f.read())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            name = getattr(node.targets[0], "id", None)
            if name in ("BUDGETS", "_FIGURES"):
                code = compile(ast.Expression(node.value), path, "eval")
                found[name] = eval(code, {"__builtins__": {}})  # noqa: S307 - our own constants
    return found["BUDGETS"], found["_FIGURES"]


def commit_of(tree):
    """Short commit of `tree`, "+changes" when lib/, port/ or tools/bench differ from it."""
    try:
        head = subprocess.run(
            ["git", "-C", tree, "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", tree, "status", "--porcelain", "--", "lib", "port", "tools/bench"],
            capture_output=True, text=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


class Progress:
    """One line per step on stderr while the run goes: the table comes at the end."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.started = time.monotonic()
        self.steps = 0

    def say(self, text):
        self.steps += 1
        elapsed = time.monotonic() - self.started
        self.stream.write("bench [%3.0f s] %s\n" % (elapsed, text))
        self.stream.flush()


PROGRESS = [Progress()]
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
        what = job.get("bench") or job.get("probe")
        PROGRESS[0].say("%s: %s %s" % (self.name, script, what))
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


def heap_kib(image_bytes):
    """-X heapsize for a ROMFS run: the board's heap plus the image held in it."""
    return "%dK" % (int(HEAPSIZE.rstrip("K")) + -(-image_bytes // 1024))


def runtimes(wanted, mpy_root, chu, romfs_image=None):
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
        path = [os.path.join(mpy_root, "lib"), os.path.join(mpy_root, "port")]  # chumicro in lib
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
        rt.romfs = None
        if romfs_image:
            rom_env = dict(env, MICROPYPATH="/rom/lib")
            heap = heap_kib(os.path.getsize(romfs_image))
            wrapper = [os.path.join(HERE, "romfs_probe.py"), romfs_image]
            rt.romfs = Runtime(
                "micropython(ROMFS)", [mpy, "-X", "heapsize=" + heap] + wrapper, rom_env, None
            )
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


def bench_heap(rt, peers, chu, repeat, figures):
    """{"mpy"|"py"|"romfs": {probe: [result of each repeat]}}: every probe a budget
    needs, the import figures, and the ROMFS ones when an image was built."""
    base = {"udp_echo": peers.info["udp_echo"], "tcp": peers.info["tcp"]}
    if peers.info.get("s_server_tls"):
        base.update(tls_port=peers.info["s_server_tls"], cert_pem=peers.info["cert_pem"])
    wanted = {
        "mpy": ["import", "import_ready"],
        "py": ["import", "import_ready"],
        "romfs": [figures[name][0] for name in ROMFS_FIGURES if name in figures],
    }
    for probe, _ in figures.values():
        if probe not in wanted["mpy"]:
            wanted["mpy"].append(probe)
    wanted["mpy"].append("raw_sockets")
    if chu:
        wanted["mpy"] += ["chumicro_import", "chumicro_sockets"]
    out = {}
    for form, runtime in (("mpy", rt), ("py", rt.py), ("romfs", rt.romfs)):
        if runtime is None:
            continue
        job = base
        out[form] = {}
        for probe in dict.fromkeys(wanted[form]):
            if probe == "tls_socket" and "tls_port" not in job:
                out[form][probe] = [{"error": peers.info.get("tls_missing", "no s_server")}]
                continue
            results = out[form][probe] = []
            for _ in range(repeat):
                try:
                    results.append(runtime.run("heap.py", dict(job, probe=probe), 60))
                except (Fail, subprocess.TimeoutExpired) as e:
                    results.append({"error": str(e)})
                    break
    return out


# -- figures and the table -----------------------------------------------


def median(values):
    return statistics.median(values) if values else None


def per_round_ratios(a, b):
    """a/b per round: each round ran both under the same load."""
    return [x / y for x, y in zip(a, b) if y]


def probe_figure(results, path):
    """[value per repeat] at `path` in a probe's outputs, or a string saying why not."""
    values = []
    for result in results or [{"error": "not run"}]:
        value = result
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
            if value is None:
                why = result.get("error") or result.get("missing") or "not reported"
                return "n/a: %s" % why
        values.append(value)
    return values


def verdict(kind, limit, value):
    if value is None:
        return "n/a"
    ok = value >= limit if kind == "min" else value <= limit
    return "met" if ok else "MISSED"


class Table:
    """Rows of min / median / max over the rounds (speed) or repeats (heap)."""

    HEAD = ("section", "figure", "min", "median", "max", "unit", "target", "verdict", "note")

    def __init__(self):
        self.rows = []

    def add(self, section, figure, samples, unit="", target=None, note="", budget=None):
        """`samples`: numbers, one number, or a string (n/a: why). `target`: a TARGETS
        name, judged on the median; `budget`: bytes a heap figure may take, judged on
        the max (the worst repeat)."""
        if isinstance(samples, (int, float)):
            samples = [samples]
        numbers = samples if isinstance(samples, list) and samples else None
        row = {"section": section, "figure": figure, "unit": unit, "target": "",
               "verdict": "", "note": note}  # fmt: skip
        if numbers and len(numbers) > 1:
            row.update(min=min(numbers), median=median(numbers), max=max(numbers))
        elif numbers:  # one sample: the median column alone
            row.update(min=None, median=numbers[0], max=None)
        else:
            text = samples if isinstance(samples, str) else "n/a"
            row.update(min=None, median=text, max=None)
        row["value"] = row["median"]
        if target:
            kind, limit = TARGETS[target]
            row["target"] = (">= %s" if kind == "min" else "<= %s") % limit
            row["verdict"] = verdict(kind, limit, row["median"] if numbers else None)
        elif budget is not None:
            row["target"] = "<= %s" % budget
            worst = numbers and max(numbers)
            row["verdict"] = verdict("max", budget, worst if numbers else None)
        self.rows.append(row)

    def render(self):
        def fmt(v):
            if v is None:
                return ""
            if isinstance(v, float):
                if v == int(v) and abs(v) >= 10:
                    return "{:,}".format(int(v))
                return "%.3f" % v if abs(v) < 10 else "{:,.0f}".format(v)
            if isinstance(v, int):
                return "{:,}".format(v)
            v = str(v)
            return v if len(v) <= 90 else v[:87] + "..."

        cells = [self.HEAD] + [tuple(fmt(r[k]) for k in self.HEAD) for r in self.rows]
        widths = [max(len(c[i]) for c in cells) for i in range(len(self.HEAD))]
        lines = []
        for n, c in enumerate(cells):
            line = "| " + " | ".join(c[i].ljust(widths[i]) for i in range(len(self.HEAD))) + " |"
            lines.append(line.rstrip())
            if n == 0:
                lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(lines)


def add_net(table, rt_name, udp, tcp, params):
    sec = rt_name
    f = udp["figures"]
    raw = f.get("raw", [])
    table.add(sec, "UDP ping-pong 64 B, raw", raw, "rt/s")
    for name in ("twinsock", "chumicro"):
        if name in f:
            table.add(sec, "UDP ping-pong 64 B, %s" % name, f[name], "rt/s")
            table.add(sec, "UDP ratio %s/raw" % name, per_round_ratios(f[name], raw), "",
                      "ratio" if name == "twinsock" else None)  # fmt: skip
        elif name in udp.get("missing", {}):
            table.add(sec, "UDP ping-pong 64 B, %s" % name, "n/a: " + udp["missing"][name])
    f = tcp["figures"]
    size = (
        "%d MiB" % (params["tcp_total"] >> 20)
        if params["tcp_total"] >= 1 << 20
        else ("%d KiB" % (params["tcp_total"] >> 10))
    )
    for direction in ("send", "receive_into"):
        raw = f.get("raw", {}).get(direction, [])
        table.add(sec, "TCP %s in 4 KiB %s, raw" % (size, direction), _mbps(raw), "MB/s")
        if "rawnb" in f:
            # The floor of a poll-based layer: how much of the gap is the
            # non-blocking mode itself rather than Python code.
            nb = f["rawnb"][direction]
            table.add(sec, "TCP %s, raw non-blocking + poll" % direction, _mbps(nb), "MB/s")
            table.add(sec, "TCP %s ratio raw-nb/raw" % direction, per_round_ratios(nb, raw), "",
                      note="reference, no target")  # fmt: skip
        for name in ("twinsock", "chumicro"):
            if name in f:
                mine = f[name][direction]
                table.add(sec, "TCP %s, %s" % (direction, name), _mbps(mine), "MB/s")
                table.add(sec, "TCP %s ratio %s/raw" % (direction, name),
                          per_round_ratios(mine, raw), "",
                          "ratio" if name == "twinsock" else None)  # fmt: skip
            elif name in tcp.get("missing", {}):
                table.add(sec, "TCP %s, %s" % (direction, name), "n/a: " + tcp["missing"][name])


def _mbps(values):
    return [v / 1e6 for v in values]


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
        table.add(sec, "%s handshake, raw engine" % what, raw["handshake_ms"], "ms", note=peer)
        table.add(sec, "%s echo 64 B, raw engine" % what, raw["echo_ms"], "ms", note=peer)
        mine = f.get("twinsock")
        if mine is None:
            table.add(sec, "%s twinsock" % what,
                      "n/a: " + res["missing"].get("twinsock", "?"))  # fmt: skip
            continue
        table.add(sec, "%s handshake, twinsock" % what, mine["handshake_ms"], "ms")
        table.add(sec, "%s handshake twinsock/raw" % what,
                  per_round_ratios(mine["handshake_ms"], raw["handshake_ms"]), "",
                  "handshake")  # fmt: skip
        table.add(sec, "%s echo 64 B, twinsock" % what, mine["echo_ms"], "ms")
        table.add(sec, "%s echo twinsock/raw" % what,
                  per_round_ratios(mine["echo_ms"], raw["echo_ms"]), "")  # fmt: skip


# What each budget measures, for the table.
BUDGET_TEXT = {
    "core_ready": "core ready: import + first udp_socket()",
    "import_udp_tcp": "import + 1 UDP + 1 TCP socket",
    "tls_code": "TLS code on top of the core",
    "dtls_code": "DTLS code on top of the core",
    "per_udp_socket": "per open UDP socket beyond raw",
    "per_tcp_socket": "per open TCP socket beyond raw",
    "per_tls_socket": "per open TLS socket beyond raw",
    "alloc_udp_send": "alloc per UDP send (steady)",
    "alloc_udp_receive_into": "alloc per UDP receive_into (steady)",
    "alloc_tcp_send": "alloc per TCP send (steady)",
    "alloc_tcp_receive_into": "alloc per TCP receive_into (steady)",
}


def add_heap(table, heap, budgets, figures, chu_missing):
    """Every budget of heap.BUDGETS (met / MISSED on the worst repeat), the ROMFS
    figure under each .mpy one, then the reference figures."""
    sec = "micropython heap"
    mpy, py, romfs = heap.get("mpy", {}), heap.get("py", {}), heap.get("romfs")
    for name, budget in budgets.items():
        text = BUDGET_TEXT.get(name, name)
        unit = "B/call" if name.startswith("alloc") else "B"
        if name not in figures:
            table.add(sec, "%s (.mpy)" % text, "n/a: no probe for budget %r" % name, unit,
                      budget=budget)  # fmt: skip
            continue
        probe, path = figures[name]
        note = name if probe == name else "%s (probe %s)" % (name, probe)
        if probe in ("sockets", "tls_socket"):
            raw = probe_figure(mpy.get(probe), path[:-1] + ("raw",))
            mine = probe_figure(mpy.get(probe), path[:-1] + ("twinsock",))
            if isinstance(raw, list) and isinstance(mine, list):
                note = "%s; raw %d B, twinsock %d B" % (name, median(raw), median(mine))
        table.add(sec, "%s (.mpy)" % text, probe_figure(mpy.get(probe), path), unit,
                  budget=budget, note=note)  # fmt: skip
        if romfs is not None and name in ROMFS_FIGURES:
            table.add(sec, "%s (ROMFS)" % text, probe_figure(romfs.get(probe), path), unit,
                      note="image in place, not counted")  # fmt: skip
    table.add(sec, "import twinsock (.py)", probe_figure(py.get("import"), ("bytes",)), "B")
    table.add(sec, "import twinsock (.mpy)", probe_figure(mpy.get("import"), ("bytes",)), "B")
    table.add(sec, "import + initialize() (.py)",
              probe_figure(py.get("import_ready"), ("bytes",)), "B")  # fmt: skip
    table.add(sec, "import + initialize() (.mpy)",
              probe_figure(mpy.get("import_ready"), ("bytes",)), "B")  # fmt: skip
    table.add(sec, "raw: 1 UDP + 1 TCP socket", probe_figure(mpy.get("raw_sockets"), ("bytes",)),
              "B")  # fmt: skip
    if chu_missing:
        table.add(sec, "chumicro: import + 1 UDP + 1 TCP socket", "n/a: " + chu_missing)
    else:
        table.add(sec, "chumicro: import (.mpy)",
                  probe_figure(mpy.get("chumicro_import"), ("bytes",)), "B")  # fmt: skip
        table.add(sec, "chumicro: import + 1 UDP + 1 TCP socket (.mpy)",
                  probe_figure(mpy.get("chumicro_sockets"), ("bytes",)), "B")  # fmt: skip


def add_sizes(table, size, romfs_bytes):
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
    if romfs_bytes:
        table.add(sec, "ROMFS image (mpremote romfs build)", romfs_bytes, "B")


# -- main ----------------------------------------------------------------


def main(parser):
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--json", default=os.path.join(ROOT, "build", "bench.json"))
    parser.add_argument(
        "--runtime", action="append", choices=("cpython", "micropython"),
        help="only this runtime (repeatable; default both)",
    )  # fmt: skip
    parser.add_argument("--no-tls", action="store_true", help="skip TLS/DTLS")
    parser.add_argument("--no-romfs", action="store_true", help="skip the ROMFS heap figures")
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
    budgets, figures = heap_tables()
    commit = commit_of(TREE[0])
    report = {"params": params, "runtimes": {}, "chumicro": chu_missing or chu, "tree": TREE[0],
              "commit": commit, "budgets": budgets}  # fmt: skip
    table = Table()
    say = PROGRESS[0].say
    say("commit %s, %s run; compiling lib/ and port/ with mpy-cross" % (
        commit, "quick" if args.quick else "full"))  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="twinsock-bench-") as work:
        mpy_root = os.path.join(work, "mpy")
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
            # beside twinsock, not a path entry of its own: MicroPython interns each
            # MICROPYPATH entry, and one name more moves the qstr pools under the
            # heap probes (tools.bench.heap and the heap guard run without it)
            compile_tree(mpy_cross, chu, "chumicro_sockets", os.path.join(mpy_root, "lib"))
        report["sizes"] = sizes(mpy_root)
        image = None
        if "micropython" in wanted and not args.no_romfs:
            say("building the ROMFS image (mpremote romfs build)")
            from tools.hil import filelist, romfs

            image = romfs.build_image(
                os.path.join(work, "twinsock.romfs"), filelist.board_files(TREE[0])
            )
            report["romfs_bytes"] = os.path.getsize(image)
        say("starting the peers")
        peers = Peers(work, 240, not args.no_tls)
        try:
            for rt in runtimes(wanted, mpy_root, chu, image):
                res = {}
                res["udp"], res["tcp"] = bench_net(rt, peers, params, chu)
                add_net(table, rt.name, res["udp"], res["tcp"], params)
                if chu_missing:
                    table.add(rt.name, "UDP/TCP, chumicro", "n/a: " + chu_missing)
                if not args.no_tls:
                    res["secure"] = bench_secure(rt, peers, params)
                    add_secure(table, rt.name, res["secure"])
                if rt.name == "micropython":
                    res["heap"] = bench_heap(rt, peers, chu, params["heap_repeat"], figures)
                report["runtimes"][rt.name] = res
        finally:
            peers.stop()
        if "micropython" in report["runtimes"]:
            heap = report["runtimes"]["micropython"]["heap"]
            add_heap(table, heap, budgets, figures, chu_missing)
        add_sizes(table, report["sizes"], report.get("romfs_bytes"))
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
    missed = [r["figure"] for r in table.rows if r["verdict"] == "MISSED"]
    print(
        "commit %s; %s run in %.0f s; min / median / max of %d rounds (speed) and %d runs"
        " (heap); targets on the median, heap budgets (tools/bench/heap.py BUDGETS) on the"
        " max; %d missed; JSON: %s"
        % (commit, "quick" if args.quick else "full", report["seconds"], params["rounds"],
           params["heap_repeat"], len(missed), args.json)
    )  # fmt: skip
    return 0
