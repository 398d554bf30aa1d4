# micropython romfs_probe.py IMAGE SCRIPT JOB: mounts the ROMFS image IMAGE at /rom,
# as a board with a ROM partition does at start-up (.mpy bytecode runs in place),
# then runs SCRIPT (tools/bench/heap.py) with argv [SCRIPT, JOB] and
# MICROPYPATH=/rom/lib. The image is read here, before the probe takes its baseline,
# and tools/bench/run.py enlarges the heap by its size, so it is not counted.
import sys

import vfs

vfs.mount(vfs.VfsRom(open(sys.argv[1], "rb").read()), "/rom")
script = sys.argv[2]
sys.argv[:] = sys.argv[2:]
with open(script) as f:
    code = compile(f.read(), script, "exec")
exec(code, {"__name__": "__main__", "__file__": script})
