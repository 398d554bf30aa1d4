"""Runs a case module's test_* functions when it is run as a script (the way the
MicroPython interpreter runs it): a PASS/FAIL line each, then "N passed, M failed",
exit status 1 if any failed."""

import sys


def run(namespace):
    failed = 0
    names = [n for n in sorted(namespace) if n.startswith("test_")]
    for name in names:
        try:
            namespace[name]()
            print("PASS", name)
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            print("FAIL", name, repr(e))
    print("%d passed, %d failed" % (len(names) - failed, failed))
    sys.exit(1 if failed else 0)
