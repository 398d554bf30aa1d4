"""twinsock's conformance suite: the avs_net v-table checks against any platform.

    python -m tools.conformance --platform cpython|unix|esp32|rp2|minimal|at-modem|module:Class
                                [--interpreter cpython|micropython]
                                [--tls-engine module] [--json]

Runs tools/conformance/checks.py (portable: CPython and MicroPython) in a child
interpreter against real peers it starts and stops (the host server, TLS/DTLS
echo peers), prints a per-method table (method, required/optional, present,
result) and exits non-zero on any failure. Only what the platform leaves out
and declares optional is skipped, and then the suite checks that twinsock
answers it with NetError(ENOTSUP). `module:Class` platforms are imported from
the repository root and run on CPython, or on MicroPython with `--interpreter
micropython`. A class with a `conformance_setup(interpreter)` classmethod is
prepared through it: run here on CPython, it returns a context manager yielding
the keyword arguments the class is then built with in the child; that is how
examples.at_modem_platform gets a modem simulator. See docs/PORTING.md, section 6.
"""
