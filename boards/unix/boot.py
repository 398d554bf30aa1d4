# Runs on the emulated board (MicroPython unix port) before its REPL starts, inside the
# sandbox. Makes the board's flash directory the whole of MicroPython's filesystem and
# gives sys.path the layout of a real board; then runs the flash's own boot.py/main.py
# as a board would.
import sys

import vfs

vfs.umount("/")
vfs.mount(vfs.VfsPosix("/flash"), "/")
sys.path[:] = ["", ".frozen", "/lib"]


def _run_if_present(name):
    try:
        source = open(name).read()
    except OSError:
        return
    exec(source, {"__name__": "__main__"})


_run_if_present("/boot.py")
_run_if_present("/main.py")
del sys, vfs, _run_if_present
globals().pop("__file__", None)
