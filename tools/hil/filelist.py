"""The one list of what goes onto a board. `deploy`, the freeze manifests
(boards/*/manifest.py) and package.json are all derived from it, so they cannot
disagree: every .py file of the packages under lib/ and port/, except the
CPython-only modules (HOST_ONLY)."""

import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE_ROOTS = ("lib", "port")  # each holds top-level packages that land in the board's /lib
BOARD_LIB = "/lib"
# Modules only CPython imports (port/twinsock_port/__init__.py picks them there): a board
# never loads them, so they are not copied, frozen or listed for mip.
HOST_ONLY = (
    "port/twinsock_port/cpython.py",
    "port/twinsock_port/tls_cpython.py",
    "port/twinsock_port/tls_psk_cpython.py",
)


class BoardFile:
    """One source file and where it lives on the board (relative to /lib)."""

    def __init__(self, source, root, relative):
        self.source = source  # absolute host path of the .py file
        self.root = root  # "lib" or "port": which source root it came from
        self.relative = relative  # "twinsock/errors.py", always with "/" separators

    @property
    def package(self):
        return self.relative.split("/")[0]

    def board_path(self, compiled):
        name = self.relative[:-3] + ".mpy" if compiled else self.relative
        return BOARD_LIB + "/" + name

    def __repr__(self):
        return "BoardFile(%s/%s)" % (self.root, self.relative)


def board_files(repo_root=REPO_ROOT):
    files = []
    for root in SOURCE_ROOTS:
        base = os.path.join(repo_root, root)
        for directory, subdirs, names in os.walk(base):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith((".", "__pycache__")))
            for name in sorted(names):
                if name.endswith(".py"):
                    source = os.path.join(directory, name)
                    relative = os.path.relpath(source, base).replace(os.sep, "/")
                    if root + "/" + relative not in HOST_ONLY:
                        files.append(BoardFile(source, root, relative))
    return files


def packages(files):
    """[(source root, top-level package or module name)], in a stable order."""
    return sorted({(f.root, f.package) for f in files})
