"""python -m tools.bench [--quick] [--json build/bench.json] [--runtime cpython ...]

twinsock against the raw platform API (and chumicro-sockets where it has the
same operation), measured side by side in the same run, on CPython and on the
MicroPython unix interpreter. Prints one table and writes the figures as JSON.
See docs/BENCHMARKS.md for what each figure means.
"""

import argparse
import sys

from tools.bench.run import main

if __name__ == "__main__":
    sys.exit(main(argparse.ArgumentParser(prog="python -m tools.bench")))
