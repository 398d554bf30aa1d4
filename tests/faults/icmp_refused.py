# A refused peer (a UDP port nobody has bound) met by twinsock on CPython or
# MicroPython, driven by tests/faults/test_icmp_refused.py, which counts on the wire
# what reaches that port. argv[1] is a JSON job: {"kind": "udp" | "dtls", "host",
# "port", "timeouts": [min_ms, max_ms], "ca_path"}. The script prints ONE line
# "@@faults {json result}" once the call has failed, then keeps its socket open
# until a line arrives on stdin, so that anything it would still send is captured.
import json
import sys

import twinsock
import twinsock.tls  # the TLS engine early, while MicroPython's heap is whole
from twinsock_faults import MARK, elapsed_ms, error_record, ticks_ms


def read_file(path):
    with open(path, "rb") as blob:
        return blob.read()


def refused(job):
    """The socket and what its failing call raised, and how long the call took."""
    if job["kind"] == "udp":
        s = twinsock.udp_socket()
        s.connect(job["host"], job["port"])
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 3000)
        s.send(b"anyone there?")
        call, args = s.receive, (100,)
    else:
        security = twinsock.CertInfo(trusted_certs=read_file(job["ca_path"]))
        timeouts = job["timeouts"]
        config = twinsock.SSLConfig(security, dtls_handshake_timeouts=(timeouts[0], timeouts[1]))
        s = twinsock.dtls_socket(config)
        call, args = s.connect, (job["host"], job["port"])
    start = ticks_ms()
    result = {"error": None}
    try:
        call(*args)
    except Exception as e:  # reported, judged by the test
        result["error"] = error_record(e)
    result["took_ms"] = elapsed_ms(start)
    return s, result


def main():
    job = json.loads(sys.argv[1])
    s, result = refused(job)
    sys.stdout.write(MARK + json.dumps(result) + "\n")
    try:
        sys.stdout.flush()
    except AttributeError:  # MicroPython's stdout is unbuffered
        pass
    sys.stdin.readline()  # the test has watched the wire long enough
    s.cleanup()


if __name__ == "__main__":
    main()
