import argparse
import json
import sys
import time

from tools.conformance import runner


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tools.conformance",
        description="Run the twinsock conformance checks against a platform.",
    )
    parser.add_argument(
        "--platform",
        required=True,
        help="cpython, unix, esp32, rp2 (stand-ins), minimal, at-modem (the examples) "
        "or module:Class (e.g. examples.minimal_platform:MinimalPlatform)",
    )
    parser.add_argument("--tls-engine", help="a TLS engine module to register (use_tls_engine)")
    parser.add_argument(
        "--interpreter",
        choices=("cpython", "micropython"),
        help="where a module:Class platform runs (default cpython); the built-in "
        "names fix it (cpython: CPython; unix, esp32, rp2: MicroPython)",
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead")
    args = parser.parse_args(argv)
    start = time.monotonic()
    try:
        interpreter = runner.interpreter_of(
            runner.ALIASES.get(args.platform, args.platform), args.interpreter
        )
        rows = runner.run(args.platform, args.tls_engine, interpreter=interpreter)
    except runner.SuiteError as e:
        sys.stderr.write("conformance: %s\n" % e)
        return 2
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(runner.table(args.platform, rows, args.tls_engine, interpreter))
        print("run time: %.1f s" % (time.monotonic() - start))
    return 1 if runner.failed(rows) else 0


sys.exit(main())
