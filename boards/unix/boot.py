# Runs on the emulated board (MicroPython unix port) before its REPL starts, inside the
# sandbox. Makes the board's flash directory the whole of MicroPython's filesystem and
# its working directory (so `mpremote cp x.py :` and `import x` meet there, as on a
# Pico W), gives sys.path the layout of a real board; then runs the flash's own
# boot.py/main.py as a board would.
import os
import sys

import vfs

vfs.umount("/")
vfs.mount(vfs.VfsPosix("/flash"), "/")
os.chdir("/")
sys.path[:] = ["", ".frozen", "/lib"]


def _run_if_present(name):
    try:
        source = open(name).read()
    except OSError:
        return
    exec(source, {"__name__": "__main__"})


_run_if_present("/boot.py")
_run_if_present("/main.py")
del os, sys, vfs, _run_if_present
globals().pop("__file__", None)
