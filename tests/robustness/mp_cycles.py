# Open/connect/close cycles (issue 7 item 3), on MicroPython and CPython:
# no file descriptors left, and on MicroPython no heap growth (gc.mem_free()
# after gc.collect() stable within 1 KB after a warm-up).
#
# argv: kind count [tls_port ca_path]; $TWINSOCK_PEER: the host server's
# ports, plus "tcp_sink" (conftest.TcpSink) under 127.0.0.1.
# kind: udp | tcp | tls | udp-fail | tcp-refused | tls-fail | bad-args
# One record: {"kind", "cycles", "fds_before", "fds_after", "free_before",
# "free_after", "seconds", "errors": {errno: n}}.
import gc
import os
import sys
import time

import twinsock
from mp_common import done, echo, peer_hosts, report

HOST = "127.0.0.1"
PORTS = peer_hosts()[HOST]
KIND = sys.argv[1]
COUNT = int(sys.argv[2])
WARM_UP = 20
MICROPYTHON = sys.implementation.name == "micropython"


def fds():
    return len(os.listdir("/proc/self/fd"))


def free():
    gc.collect()
    gc.collect()
    if MICROPYTHON:
        return gc.mem_free()
    return None


def tls_config():
    with open(sys.argv[4], "rb") as f:
        ca = f.read()
    return twinsock.SSLConfig(twinsock.CertInfo(trusted_certs=ca))


def one_cycle(i, errors, config):
    if KIND == "udp":
        s = twinsock.udp_socket()
        s.connect(HOST, PORTS["udp"])
        if i % 100 == 0 and not echo(s):
            raise AssertionError("UDP echo failed at cycle %d" % i)
        s.close()  # close, then cleanup: both paths
        s.cleanup()
    elif KIND == "tcp":
        # the sink accepts and closes; every 100th cycle echoes via the host server
        port = PORTS["tcp_echo"] if i % 100 == 0 else PORTS["tcp_sink"]
        with twinsock.tcp_socket() as s:
            s.connect(HOST, port)
            if i % 100 == 0:
                if not echo(s):
                    raise AssertionError("TCP echo failed at cycle %d" % i)
            elif s.receive(16) != b"":
                # the sink closes first: its side keeps the TIME_WAIT, so the
                # cycles do not use up this machine's local ports
                raise AssertionError("the sink sent data at cycle %d" % i)
    elif KIND == "tls":
        with twinsock.ssl_socket(config) as s:
            s.set_opt(twinsock.OPT_RECV_TIMEOUT, 5000)
            s.connect("localhost", int(sys.argv[3]))
            if i % 50 == 0:
                s.send(b"cycle %d\n" % i)
    else:
        # failure paths: every one must release what it took
        if KIND == "udp-fail":
            s = twinsock.udp_socket()
            call = (s.connect, "no-such-host.invalid", PORTS["udp"])
        elif KIND == "tcp-refused":
            s = twinsock.tcp_socket()
            call = (s.connect, HOST, PORTS["tcp_refused"])
        elif KIND == "tls-fail":
            s = twinsock.ssl_socket(config)  # tcp_echo is no TLS server
            s.set_opt(twinsock.OPT_RECV_TIMEOUT, 5000)
            call = (s.connect, HOST, PORTS["tcp_echo"])
        else:  # bad-args
            s = twinsock.udp_socket()
            call = (s.receive_into, b"read-only")
        try:
            call[0](*call[1:])
        except twinsock.NetError as e:
            errors[e.errno] = errors.get(e.errno, 0) + 1
        s.cleanup()


def main():
    config = tls_config() if KIND.startswith("tls") else None
    errors = {}
    for i in range(WARM_UP):
        one_cycle(i, errors, config)
    errors.clear()
    fds_before = fds()
    free_before = free()
    started = time.time()
    for i in range(COUNT):
        one_cycle(i, errors, config)
    seconds = time.time() - started
    free_after = free()
    fds_after = fds()
    report(
        kind=KIND,
        cycles=COUNT,
        fds_before=fds_before,
        fds_after=fds_after,
        free_before=free_before,
        free_after=free_after,
        seconds=round(seconds, 2),
        errors=dict((str(k), v) for k, v in errors.items()),
    )
    done()


main()
