# One TLS/DTLS peer on the real MicroPython interpreter, driven by
# tests/tls/test_micropython.py: argv[1] is a JSON job, the last line printed
# is a JSON result. Run with MICROPYPATH=lib:port:tests/tls.
import json
import socket
import sys
import time

import tlsdrive
from twinsock_port.tls_micropython import Engine, ciphersuites, features


def load(path):
    with open(path, "rb") as f:
        return f.read()


def security(job):
    if job.get("psk"):
        ident, key = job["psk"]
        return tlsdrive.PskInfo(ident.encode(), bytes.fromhex(key))
    return tlsdrive.CertInfo(
        trusted_certs=tuple(load(p) for p in job.get("ca", ())),
        client_cert=load(job["cert"]) if job.get("cert") else None,
        client_key=load(job["key"]) if job.get("key") else None,
        server_cert_validation=job.get("validate", True),
    )


def run(job):
    dtls = job.get("dtls", False)
    kind = socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM
    addr = socket.getaddrinfo("127.0.0.1", job["port"])[0][-1]
    config = tlsdrive.SSLConfig(
        security(job),
        version=job.get("version", 0),
        ciphersuites=job.get("ciphersuites"),
        dtls_handshake_timeouts=tuple(job.get("timeouts", (1000, 60000))),
    )
    result = {}
    listener = None
    pending = None
    peer = None
    if job.get("role") == "server":
        listener = socket.socket(socket.AF_INET, kind)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(addr)
        if dtls:
            print(json.dumps({"listening": True}))
            pending, peer = listener.recvfrom(4096)
            listener.connect(peer)
            sock = listener
        else:
            listener.listen(1)
            print(json.dumps({"listening": True}))
            sock, peer = listener.accept()
    else:
        sock = socket.socket(socket.AF_INET, kind)
        if not dtls:
            sock.setsockopt(6, 1, 1)  # TCP_NODELAY: see PLATFORMS.md
        sock.connect(addr)
    sock.setblocking(False)
    t0 = time.ticks_ms()
    try:
        engine = Engine(
            sock,
            config,
            dtls=dtls,
            server_side=job.get("role") == "server",
            server_hostname=job.get("hostname"),
            handshake_timeouts=config.dtls_handshake_timeouts,
            client_id=bytes(peer) if peer and dtls else None,
            pending_datagram=pending,
        )
        result["handshake_ms"] = tlsdrive.handshake(engine, sock, job.get("timeout_ms", 10000))
        result["cipher"] = engine.cipher()
        result["overhead"] = engine.record_overhead()
        if job.get("send"):
            tlsdrive.send_all(engine, sock, job["send"].encode())
        if job.get("bulk"):
            chunk = bytes(4096)
            left = job["bulk"]
            t1 = time.ticks_ms()
            while left:
                piece = chunk if left >= 4096 else chunk[:left]
                tlsdrive.send_all(engine, sock, piece)
                left -= len(piece)
            result["bulk_ms"] = time.ticks_diff(time.ticks_ms(), t1)
        if job.get("receive"):
            buf = bytearray(job.get("recvbuf", 2048))
            try:
                n = tlsdrive.receive(engine, sock, buf, job.get("timeout_ms", 5000))
                result["received"] = bytes(buf[:n]).decode()
                if job.get("echo"):
                    tlsdrive.send_all(engine, sock, bytes(buf[:n]))
            except OSError as e:
                if getattr(e, "nbytes", None) is not None:
                    result["truncated"] = e.nbytes
                    result["received"] = bytes(buf[: e.nbytes]).decode()
                else:
                    raise
            if job.get("expect_close"):
                n = tlsdrive.receive(engine, sock, buf, job.get("timeout_ms", 5000))
                result["after_close"] = n
            if job.get("receive2"):
                n = tlsdrive.receive(engine, sock, buf, job.get("timeout_ms", 5000))
                result["received2"] = bytes(buf[:n]).decode()
        engine.close()
        result["ok"] = True
    except tlsdrive.Timeout as e:
        result["error"] = "Timeout"
        result["message"] = str(e)
    except OSError as e:
        result["error"] = type(e).__name__
        result["errno"] = e.args[0]
        result["message"] = e.args[1] if len(e.args) > 1 else str(e)
        result["alert"] = getattr(e, "alert", None)
        result["lib_code"] = getattr(e, "lib_code", None)
    result["elapsed_ms"] = time.ticks_diff(time.ticks_ms(), t0)
    sock.close()
    if listener is not None and listener is not sock:
        listener.close()
    return result


if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    if job.get("features"):
        print(json.dumps(features()))
    elif job.get("ciphersuites_available"):
        print(json.dumps({"ciphersuites": ciphersuites()}))
    else:
        print(json.dumps(run(job)))
