# The interpreter dies mid-script (like a hard fault on a board): SIGSEGV to itself.
import os

print("about to crash")
os.system("kill -SEGV $PPID")
print("still alive?")
