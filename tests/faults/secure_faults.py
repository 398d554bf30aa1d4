# TLS/DTLS fault scenarios run by twinsock on CPython or MicroPython, driven by
# tests/faults/test_secure_faults.py, which starts the host server's secure services
# and the impairment proxy first. argv[1] is the PATH of a JSON job file (a board's
# MicroPython crashes on long command lines; certificates do not fit one):
# {"scenario": name, ...}. The script prints ONE line "@@faults {json result}" (what
# happened, never a judgement: the test judges) and exits. Runs on MicroPython.
import twinsock

# Load the TLS engine first, while MicroPython's heap is still whole: compiling it
# needs large blocks, and after the other imports a 192K heap can be fragmented
# enough for the import to fail (ENOMEM "loading the TLS engine", seen with 106 KB
# free).
import twinsock.tls  # noqa: E402

twinsock.features()

import json  # noqa: E402
import sys  # noqa: E402

from twinsock_faults import (  # noqa: E402
    MARK,
    PatternCheck,
    elapsed_ms,
    error_record,
    ticks_ms,
    traceback_of,
)


def read_file(path):
    with open(path, "rb") as blob:
        return blob.read()


def ssl_config(job):
    if job["security"] == "psk":
        security = twinsock.PskInfo(job["psk_identity"].encode(), bytes.fromhex(job["psk_key"]))
    else:
        security = twinsock.CertInfo(trusted_certs=read_file(job["ca_path"]))
    timeouts = job.get("handshake_timeouts")
    if timeouts:
        return twinsock.SSLConfig(security, dtls_handshake_timeouts=(timeouts[0], timeouts[1]))
    return twinsock.SSLConfig(security)


def dtls_handshake(job):
    """connect() (the handshake) timed; then, if it worked, `echoes` record echoes,
    each retried (send again) after a `retry_ms` receive timeout, up to `tries`
    times, as a CoAP layer would over a lossy path. Every record received is
    reported: it must be one we sent, whole."""
    result = {"handshake": None, "error": None, "echoes": []}
    with twinsock.dtls_socket(ssl_config(job)) as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, job.get("retry_ms", 300))
        start = ticks_ms()
        try:
            s.connect(job["host"], job["port"])
            result["handshake"] = "ok"
        except Exception as e:
            result["handshake"] = "error"
            result["error"] = error_record(e)
        result["handshake_ms"] = elapsed_ms(start)
        if result["handshake"] != "ok":
            return result
        for i in range(job.get("echoes", 3)):
            payload = b"record %d " % i + b"x" * (100 * i)
            echo = {"len": len(payload), "tries": 0, "ok": False, "stray": 0}
            while not echo["ok"] and echo["tries"] < job.get("tries", 12):
                echo["tries"] += 1
                s.send(payload)
                try:
                    while True:
                        got = s.receive(2048)
                        if got == payload:
                            echo["ok"] = True
                            break
                        if not got.startswith(b"record "):
                            echo["bad"] = len(got)  # not a record we sent
                            break
                        echo["stray"] += 1  # a late copy of an earlier record: whole
                except twinsock.NetError as e:
                    if e.args[0] != twinsock.ETIMEDOUT:
                        echo["error"] = error_record(e)
                        break
            result["echoes"].append(echo)
    return result


def tls_echo_transfer(job):
    """Send `size` pattern bytes in `chunk`s through a TLS echo service, reading each
    chunk back before the next (both directions carry the whole stream), checking
    every byte. Ends at the size, or at the first error / end of stream.
    1 KB chunks, and nothing allocated per chunk but the check's copy: after the TLS
    engine's import the 192K heap of MicroPython has ~97 KB free but is fragmented
    (largest free block ~9.6 KB; ~1.8 KB with this script's modules), so 4 KB
    temporaries fail with MemoryError in the test's own code."""
    size, chunk = job["size"], job.get("chunk", 1024)
    reference = memoryview(bytes(i % 251 for i in range(251 + chunk)))
    buf = bytearray(chunk)
    view = memoryview(buf)
    check = PatternCheck(chunk)
    result = {"sent": 0, "end": None, "error": None}
    start = ticks_ms()
    last = start
    with twinsock.ssl_socket(ssl_config(job)) as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, job.get("timeout_ms", 5000))
        s.connect(job["host"], job["port"])
        result["handshake_ms"] = elapsed_ms(start)
        try:
            while check.offset < size:
                if result["sent"] == check.offset:
                    n = min(chunk, size - result["sent"])
                    at = result["sent"] % 251
                    s.send(reference[at : at + n])
                    result["sent"] += n
                got = s.receive_into(view[: result["sent"] - check.offset])
                if got == 0:
                    result["end"] = "eof"
                    break
                check.feed(view[:got])
                last = ticks_ms()
            else:
                result["end"] = "complete"
        except Exception as e:
            result["end"] = "error"
            result["error"] = error_record(e)
            result["error_after_ms"] = elapsed_ms(last)
            if not isinstance(e, twinsock.NetError):
                result["traceback"] = traceback_of(e)
                try:
                    import gc

                    gc.collect()
                    result["mem_free"] = gc.mem_free()
                except (ImportError, AttributeError):
                    pass
            if isinstance(e, twinsock.NetError):
                again = ticks_ms()  # the call after the failure must not hang
                try:
                    result["again"] = {"received": s.receive_into(buf)}
                except Exception as e2:
                    result["again"] = error_record(e2)
                result["again"]["ms"] = elapsed_ms(again)
        result["bytes_received_opt"] = s.get_opt(twinsock.OPT_BYTES_RECEIVED)
        result["bytes_sent_opt"] = s.get_opt(twinsock.OPT_BYTES_SENT)
    result["received"] = check.offset
    result["first_bad"] = check.first_bad
    result["ms"] = elapsed_ms(start)
    return result


SCENARIOS = {"dtls_handshake": dtls_handshake, "tls_echo_transfer": tls_echo_transfer}


def main():
    with open(sys.argv[1]) as job_file:
        job = json.load(job_file)
    try:
        result = SCENARIOS[job["scenario"]](job)
    except Exception as e:  # setup failed: reported, not hidden
        result = {"setup_error": error_record(e), "traceback": traceback_of(e)}
    result["runtime"] = sys.implementation.name
    sys.stdout.write(MARK + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
