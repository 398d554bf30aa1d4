"""The peers the benchmarks talk to, in one process with a time limit.

    python -m tools.bench.servers [--lifetime 240] [--cert PEM --key PEM]

prints one JSON line when every service listens on 127.0.0.1::

    {"ready": true, "udp_echo": p, "tcp": p, "dtls_echo": p | null}

``udp_echo`` sends every datagram back. ``tcp`` serves one request per header
on a connection, so a connection is reused across rounds: an 11-byte header
``b"S%010d"`` (sink: read that many bytes, then answer ``b"K"``) or
``b"R%010d"`` (source: send that many bytes). ``dtls_echo`` (when a
certificate is given and pyOpenSSL is present) is a DTLS server that echoes
every record; ``openssl s_server`` cannot echo over DTLS.
"""

import argparse
import json
import os
import socket
import sys
import threading
import time

HEADER = 11
_CHUNK = memoryview(bytes(range(256)) * 256)  # 64 KiB of known bytes


def udp_echo(sock):
    buf = bytearray(65536)
    view = memoryview(buf)
    while True:
        try:
            n, peer = sock.recvfrom_into(buf)
            sock.sendto(view[:n], peer)
        except OSError:
            return


def _read_exactly(conn, n):
    data = b""
    while len(data) < n:
        got = conn.recv(n - len(data))
        if not got:
            return None
        data += got
    return data


def tcp_session(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sink = bytearray(262144)
    try:
        while True:
            header = _read_exactly(conn, HEADER)
            if header is None:
                return
            op, count = header[:1], int(header[1:])
            if op == b"S":
                while count > 0:
                    got = conn.recv_into(sink, min(count, len(sink)))
                    if not got:
                        return
                    count -= got
                conn.sendall(b"K")
            elif op == b"R":
                while count > 0:
                    step = min(count, len(_CHUNK))
                    conn.sendall(_CHUNK[:step])
                    count -= step
            else:
                return
    except OSError:
        return
    finally:
        conn.close()


def tcp_server(listener):
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=tcp_session, args=(conn,), daemon=True).start()


def dtls_echo(sock, cert, key):
    """A DTLS echo over one unconnected UDP socket: one memory-BIO engine per
    peer address, fed one datagram at a time."""
    from OpenSSL import SSL

    ctx = SSL.Context(SSL.DTLS_METHOD)
    ctx.use_certificate_file(cert)
    ctx.use_privatekey_file(key)
    peers = {}
    while True:
        try:
            data, peer = sock.recvfrom(65536)
        except OSError:
            return
        state = peers.get(peer)
        hello = data[:1] == b"\x16" and data[13:14] == b"\x01"
        if state is None or (hello and state[1]):  # a new client on this address
            state = [SSL.Connection(ctx, None), False]
            state[0].set_accept_state()
            peers[peer] = state
        conn = state[0]
        conn.bio_write(data)
        try:
            if not state[1]:
                conn.do_handshake()
                state[1] = True
            while True:
                conn.send(conn.recv(65536))
        except SSL.WantReadError:
            pass
        except (SSL.Error, OSError):
            peers.pop(peer, None)
        out = b""
        while True:
            try:
                out += conn.bio_read(65536)
            except SSL.WantReadError:
                break
        if out:
            try:
                sock.sendto(out, peer)
            except OSError:
                pass


def main():
    parser = argparse.ArgumentParser(prog="python -m tools.bench.servers")
    parser.add_argument("--lifetime", type=float, default=240)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(16)
    ready = {"ready": True, "pid": os.getpid(), "lifetime": args.lifetime}
    ready["udp_echo"] = udp.getsockname()[1]
    ready["tcp"] = tcp.getsockname()[1]
    threading.Thread(target=udp_echo, args=(udp,), daemon=True).start()
    threading.Thread(target=tcp_server, args=(tcp,), daemon=True).start()
    ready["dtls_echo"] = None
    if args.cert:
        try:
            import OpenSSL  # noqa: F401
        except ImportError:
            pass
        else:
            dtls = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            dtls.bind(("127.0.0.1", 0))
            ready["dtls_echo"] = dtls.getsockname()[1]
            threading.Thread(
                target=dtls_echo, args=(dtls, args.cert, args.key), daemon=True
            ).start()
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    # Ends by itself: the lifetime, or the parent closing our stdin.
    deadline = time.monotonic() + args.lifetime
    stdin_closed = threading.Event()

    def watch_stdin():
        try:
            sys.stdin.read()
        except (OSError, ValueError):
            pass
        stdin_closed.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    while time.monotonic() < deadline and not stdin_closed.wait(0.2):
        pass


if __name__ == "__main__":
    main()
