# Out of heap during a TLS handshake (issue 7 item 3), for MicroPython under
# `-X heapsize=64K`: the connect raises NetError(ENOMEM) with a message, and
# the next, smaller operation (a UDP echo) still works; with the heap given
# back, TLS works again.
#
# argv: tls_port ca_path; $TWINSOCK_PEER: the host server.
import gc
import sys

import twinsock
from mp_common import attempt, done, peer_hosts, report

HOST = "127.0.0.1"
PORTS = peer_hosts()[HOST]
TLS_PORT = int(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    CA = f.read()
CONFIG = twinsock.SSLConfig(twinsock.CertInfo(trusted_certs=CA))


def tls_round():
    s = twinsock.ssl_socket(CONFIG)
    try:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 5000)
        s.connect("localhost", TLS_PORT)
        s.send(b"hello after the heap came back\n")
    finally:
        s.cleanup()


ECHO_BUF = bytearray(64)  # allocated up front: the echo itself must not need heap
PAYLOAD = b"small operation"


def udp_echo():
    with twinsock.udp_socket() as s:
        s.connect(HOST, PORTS["udp"])
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 2000)
        s.send(PAYLOAD)
        n = s.receive_into(ECHO_BUF)
        return ECHO_BUF[:n] == PAYLOAD


# 0. A UDP echo first: it loads the platform code, so that "still works
# afterwards" below compares like with like.
udp_before = attempt(udp_echo)
gc.collect()
report(free_at_start=gc.mem_free(), udp_echo_before=list(udp_before[:3]))

# 1. TLS straight away: on a 64 KB heap even loading the engine may not fit.
first = attempt(tls_round)
gc.collect()
report(first_tls=list(first[:3]), udp_echo_after=list(attempt(udp_echo)[:3]), free=gc.mem_free())

# 2. When the engine did load: fill the heap in small blocks, leaving `room`
# bytes, so that the handshake itself runs out.
engine_loaded = "twinsock_port.tls_mbedtls" in sys.modules
report(engine_loaded=engine_loaded)
for room in (12 * 1024, 8 * 1024, 4 * 1024) if engine_loaded else ():
    filler = []
    gc.collect()
    try:
        while gc.mem_free() > room + 1024:
            filler.append(bytearray(512))
    except MemoryError:
        pass
    gc.collect()
    free_before = gc.mem_free()
    outcome = attempt(tls_round)
    gc.collect()
    after = attempt(udp_echo)
    record = {"room": room, "free_before": free_before, "tls": list(outcome[:3])}
    record["udp_echo_after"] = list(after[:3])
    del filler
    gc.collect()
    record["free_released"] = gc.mem_free()
    report(**record)

# 3. With the heap given back, TLS works (when the heap can hold it at all).
report(tls_after_release=list(attempt(tls_round)[:3]))
done()
