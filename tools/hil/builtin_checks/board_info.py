# On-board check: the board answers and says what it is. Runs on MicroPython.
import gc
import sys

gc.collect()
print("implementation", sys.implementation)
print("platform", sys.platform)
print("mem_free", gc.mem_free())
print("path", sys.path)
if "/lib" not in sys.path:
    print("RESULT fail /lib is not on sys.path")
