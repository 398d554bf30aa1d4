# Heap: what twinsock costs on this board: free heap with it imported, per UDP and TCP
# socket, and during a TLS connection (freed again after). Reported as HIL lines; fails
# only when a closed TLS socket leaves heap behind.
import gc

import hil_env
import twinsock
from hilcheck import ensure, missing, report


def free():
    gc.collect()
    return gc.mem_free()


def main():
    base = free()
    report("heap_free_with_twinsock", base)
    udp = twinsock.udp_socket()
    udp.connect(hil_env.SERVER_HOST, hil_env.PORTS["udp"])
    report("heap_per_udp_socket", base - free())
    tcp = twinsock.tcp_socket()
    tcp.connect(hil_env.SERVER_HOST, hil_env.PORTS["tcp_echo"])
    report("heap_per_tcp_socket_and_udp", base - free())
    udp.cleanup()
    tcp.cleanup()
    if not missing("tls"):
        config = twinsock.SSLConfig(twinsock.CertInfo(trusted_certs=hil_env.CA))
        before = free()
        with twinsock.ssl_socket(config) as sock:
            sock.connect(hil_env.SERVER_HOST, hil_env.PORTS["tls_echo"])
            report("heap_per_tls_connection", before - free())
        del sock
        left = before - free()
        report("heap_left_by_closed_tls", left)
        ensure(left < 2048, "a closed TLS socket left %d bytes" % left)
    report("heap_free_end", free())


main()
