# Security defaults (issue 7 item 5), on MicroPython and CPython.
#
# argv: part tls_port expired_port ca_path other_ca_path
# $TWINSOCK_PEER: host server ports, plus under 127.0.0.1 "plain_close",
# "plain_garbage", "plain_silent" (plain TCP recorders) and "tls_bulk" (a TLS
# server that sends 256 KB to whoever connects, then closes).
# part: validation | fallback | buffers
import gc
import sys

import twinsock
from mp_common import attempt, done, peer_hosts, report

MICROPYTHON = sys.implementation.name == "micropython"
HOST = "127.0.0.1"
PORTS = peer_hosts()[HOST]
PART = sys.argv[1]
TLS_PORT = int(sys.argv[2])
EXPIRED_PORT = int(sys.argv[3])


def read(path):
    with open(path, "rb") as f:
        return f.read()


CA = read(sys.argv[4])
OTHER_CA = read(sys.argv[5])
# Load the TLS engine while the heap is fresh: loading it late on a fragmented
# heap is its own test (test_heap_exhaustion.py).
twinsock.ssl_socket(twinsock.SSLConfig(twinsock.CertInfo(server_cert_validation=False))).cleanup()


def tls_connect(security, host, port, sni=None, send=None):
    s = twinsock.ssl_socket(twinsock.SSLConfig(security, server_name_indication=sni))
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, 3000)
    try:
        s.connect(host, port)
        if send:
            s.send(send)
        return "connected"
    finally:
        s.cleanup()


def outcome_record(out):
    record = {"outcome": out[0]}
    if out[0] == "net":
        record.update(errno=out[1], message=out[2], cls=out[3])
    elif out[0] == "raw":
        record.update(cls=out[1], message=out[2])
    return record


def validation():
    cases = (
        # (name, security, host, port, sni, must)
        (
            "trusts nothing (default CertInfo)",
            twinsock.CertInfo(),
            "localhost",
            TLS_PORT,
            None,
            "fail",
        ),
        (
            "trusts another CA",
            twinsock.CertInfo(trusted_certs=OTHER_CA),
            "localhost",
            TLS_PORT,
            None,
            "fail",
        ),
        (
            "right CA, wrong hostname (SNI)",
            twinsock.CertInfo(trusted_certs=CA),
            HOST,
            TLS_PORT,
            "wrong.example",
            "fail",
        ),
        (
            "right CA, expired certificate",
            twinsock.CertInfo(trusted_certs=CA),
            "localhost",
            EXPIRED_PORT,
            None,
            "fail",
        ),
        (
            "right CA and hostname (control)",
            twinsock.CertInfo(trusted_certs=CA),
            "localhost",
            TLS_PORT,
            None,
            "ok",
        ),
        (
            "validation off explicitly, other CA",
            twinsock.CertInfo(trusted_certs=OTHER_CA, server_cert_validation=False),
            "localhost",
            TLS_PORT,
            None,
            "ok",
        ),
        (
            "validation off explicitly, no CA",
            twinsock.CertInfo(server_cert_validation=False),
            HOST,
            TLS_PORT,
            None,
            "ok",
        ),
    )
    for name, security, host, port, sni, must in cases:
        gc.collect()
        out = attempt(tls_connect, security, host, port, sni, b"validated\n")
        record = outcome_record(out)
        record.update(case=name, must=must)
        report(**record)


def fallback():
    # Plain TCP peers that are not TLS: the handshake must fail, and neither the
    # handshake nor a send afterwards may put plaintext on the wire.
    for mode in ("plain_close", "plain_garbage", "plain_silent"):
        s = twinsock.ssl_socket(twinsock.SSLConfig(twinsock.CertInfo(server_cert_validation=False)))
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 1000)
        connect = attempt(s.connect, HOST, PORTS[mode])
        send = attempt(s.send, b"SECRET-PLAINTEXT")
        receive = attempt(s.receive, 64)
        s.cleanup()
        report(
            mode=mode,
            connect=outcome_record(connect),
            send=outcome_record(send),
            receive=outcome_record(receive),
        )


class Allocation:
    """Bytes the runtime allocated during a call: MicroPython with the GC
    held off (gc.mem_alloc difference), CPython by tracemalloc's peak."""

    def __init__(self):
        self.most = 0
        if not MICROPYTHON:
            import tracemalloc

            self.tracemalloc = tracemalloc
            tracemalloc.start()

    def measure(self, call, *args):
        if MICROPYTHON:
            gc.collect()
            gc.disable()
            before = gc.mem_alloc()
            try:
                return call(*args)
            finally:
                used = gc.mem_alloc() - before
                gc.enable()
                self.most = max(self.most, used)
        before = self.tracemalloc.get_traced_memory()[0]
        self.tracemalloc.reset_peak()
        try:
            return call(*args)
        finally:
            used = self.tracemalloc.get_traced_memory()[1] - before
            self.most = max(self.most, used)

    def stop(self):
        if not MICROPYTHON:
            self.tracemalloc.stop()


def buffers():
    # 1. a 60 KB datagram into a 64-byte buffer
    buf = bytearray(64)
    with twinsock.udp_socket() as s:
        s.connect(HOST, PORTS["udp"])
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 3000)
        s.send(b"SEND 60000")
        twinsock.poll([s], 3000)  # arrived: the wait is not measured
        meter = Allocation()
        out = attempt(meter.measure, s.receive_into, buf)
        meter.stop()
        report(
            check="udp 60000-byte datagram",
            buffer=len(buf),
            allocated=meter.most,
            result=outcome_record(out),
            head=list(buf[:4]),
        )
    # 2. the same through receive(64)
    with twinsock.udp_socket() as s:
        s.connect(HOST, PORTS["udp"])
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 3000)
        s.send(b"SEND 60000")
        twinsock.poll([s], 3000)
        meter = Allocation()
        out = attempt(meter.measure, s.receive, 64)
        meter.stop()
        report(
            check="udp 60000-byte datagram, receive(64)",
            buffer=64,
            allocated=meter.most,
            result=outcome_record(out),
        )
    # 3. a 1 MB TCP stream into a 256-byte buffer
    buf = bytearray(256)
    total = 0
    meter = Allocation()
    with twinsock.tcp_socket() as s:
        s.connect(HOST, PORTS["tcp_control"])
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 3000)
        s.send(b"SEND 1000000\n")
        while True:
            n = meter.measure(s.receive_into, buf)
            if n == 0:
                break
            total += n
    meter.stop()
    report(check="tcp 1 MB stream", buffer=len(buf), allocated=meter.most, received=total)
    # 4. a TLS stream of a few hundred KB into a 256-byte buffer
    total = 0
    meter = Allocation()
    with twinsock.ssl_socket(twinsock.SSLConfig(twinsock.CertInfo(trusted_certs=CA))) as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 3000)
        s.connect("localhost", PORTS["tls_bulk"])
        calls = 0
        while total < 200000:
            out = attempt(meter.measure, s.receive_into, buf)
            calls += 1
            if out[0] != "ok" or out[1] == 0:
                report(
                    check="tls stream ended early",
                    result=outcome_record(out),
                    received=total,
                    has_buffered_data=s.get_opt(twinsock.OPT_HAS_BUFFERED_DATA),
                    readable_now=len(twinsock.poll([s], 0)),
                    readable_in_3s=len(twinsock.poll([s], 3000)),
                )
                break
            total += out[1]
    meter.stop()
    report(check="tls stream", buffer=len(buf), allocated=meter.most, received=total, calls=calls)


if PART == "validation":
    validation()
elif PART == "fallback":
    fallback()
else:
    buffers()
done()
