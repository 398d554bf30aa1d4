# Runs one behavioural test file in this interpreter (MicroPython, or CPython for the
# files that must run in a private mount namespace) and prints one line per test:
#   @@twinsock {"test": name, "outcome": "passed"|"failed"|"skipped", "message": ...,
#               "ms": duration}
# preceded by a {"start": name} line, so a crash or hang names the test it hit.
# Driven by tests/conftest.py; argv[1] names a file holding a JSON object (not the
# JSON itself: this MicroPython build crashes on a 300-character argument):
#   {"module": "test_udp_socket", "tests": [names in file order], "peer": {...},
#    "runtime": "micropython-unix", "standin": null | "esp32" | "rp2"}
# with tests/behaviour (and tests/standins) on the import path.
import gc
import json
import sys
import time

MARK = "@@twinsock "


def emit(record):
    sys.stdout.write(MARK + json.dumps(record) + "\n")


def describe(e):
    try:
        import io

        buf = io.StringIO()
        sys.print_exception(e, buf)
        return buf.getvalue()
    except AttributeError:  # CPython
        import traceback

        return "".join(traceback.format_exception(type(e), e, e.__traceback__))


def ticks_ms():
    try:
        return time.ticks_ms()
    except AttributeError:
        return int(time.monotonic() * 1000)


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    board = None
    if job.get("standin"):
        import standin_common

        board = standin_common.install(job["standin"])
    import expect

    if job.get("standin"):
        import twinsock
        import twinsock_port

        twinsock.use_platform(twinsock_port.load(job["standin"]))
    peer = expect.Peer(job["peer"], job["runtime"])
    module = __import__(job["module"])
    for name in job["tests"]:
        emit({"start": name})
        gc.collect()
        start = ticks_ms()
        outcome, message = "passed", ""
        try:
            getattr(module, name)(peer)
        except expect.Skip as e:
            outcome, message = "skipped", str(e)
        except Exception as e:
            outcome, message = "failed", describe(e)
        if board is not None and board.sockets:
            # A platform socket still open after the test: a leak (the tests close
            # everything with `with`). Close them so later tests see a clean board.
            leaked = list(board.sockets)
            for sock in leaked:
                sock.close()
            if outcome != "failed":
                outcome = "failed"
                message = "left %d platform socket(s) open: %r" % (len(leaked), leaked)
        emit({"test": name, "outcome": outcome, "message": message, "ms": ticks_ms() - start})
    emit({"done": True})


main()
