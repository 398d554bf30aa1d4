# A DTLS-PSK client through twinsock's public API, on MicroPython or CPython:
# argv[1] names a JSON job file; the last line printed is a JSON result.
# Run with lib, port and tests/psk on the path (MICROPYPATH or PYTHONPATH).
import json
import sys
import time

import twinsock


def ticks():
    try:
        return time.ticks_ms()
    except AttributeError:
        return int(time.monotonic() * 1000)


def exchange(sock, job, result, number):
    """Send job["send"] ("#" -> the connection's number) and take one reply."""
    got = result.setdefault("received", [])
    text = job.get("send")
    if text:
        sock.send(text.replace("#", str(number)).encode())
        if job.get("reply", True):
            got.append(sock.receive(4096).decode())


def lossy_sessions(job, config):
    """job["repeat"] sessions, each a handshake and one echo, the echo sent
    again after each 500 ms without an answer (as CoAP does): how many worked."""
    ok = 0
    errors = []
    for i in range(job["repeat"]):
        sock = twinsock.dtls_socket(config)
        try:
            sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 500)
            sock.connect("127.0.0.1", job["port"])
            want = b"lossy %d" % i
            for _attempt in range(8):
                sock.send(want)
                try:
                    if sock.receive(256) == want:
                        ok += 1
                        break
                except OSError as e:
                    if e.args[0] != 110:
                        raise
            else:
                errors.append("session %d: no echo in 8 tries" % i)
        except OSError as e:
            errors.append(str(e))
        finally:
            sock.cleanup()
    return {"ok": True, "sessions_ok": ok, "errors": errors}


def poll_timer(sock, job, result):
    """twinsock.poll on a socket whose engine has a flight in the air: our
    Finished flight, lost, its answer outstanding (the state a handshake is in
    just before the peer's Finished arrives; connect() never returns in it,
    so the engine's own flight is put back in the air, its timer at its
    shortest wait). poll must wake in time to resend it: the server's answer
    makes the socket readable long before poll's own timeout."""
    engine = sock._engine
    engine._send_flight(engine._flight)
    del engine.out[:]  # lost on the way: only the timer brings it back
    t0 = ticks()
    ready = twinsock.poll([sock], job["poll_timer"])
    result["poll_ms"] = ticks() - t0
    result["poll_ready"] = ready == [sock]


def run(job):
    result = {"runtime": sys.implementation.name}
    if job.get("engine") == "psk":
        from twinsock_port import tls_psk

        twinsock.use_tls_engine(tls_psk)
    elif job.get("engine") == "mbedtls":
        from twinsock_port import tls_micropython

        twinsock.use_tls_engine(tls_micropython)
    ident, key = job["psk"]
    buf = bytearray(256) if job.get("buffer", True) else None
    config = twinsock.SSLConfig(
        twinsock.PskInfo(ident.encode(), bytes.fromhex(key)),
        ciphersuites=job.get("ciphersuites"),
        session_resumption_buffer=buf,
        use_connection_id=job.get("cid", False),
        dtls_handshake_timeouts=tuple(job.get("timeouts", (1000, 60000))),
    )
    if job.get("repeat"):
        return lossy_sessions(job, config)
    sock = twinsock.dtls_socket(config)
    t0 = ticks()
    try:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, job.get("recv_timeout", 5000))
        sock.connect("127.0.0.1", job["port"])
        result["handshake_ms"] = ticks() - t0
        result["engine"] = sock._engine.name
        result["cipher"] = sock._engine.cipher()
        if result["engine"] == "twinsock-psk" or sys.implementation.name != "micropython":
            result["resumed"] = sock.get_opt(twinsock.OPT_SESSION_RESUMED)
        if job.get("cid"):
            result["cid_resumed"] = sock.get_opt(twinsock.OPT_CONNECTION_ID_RESUMED)
        exchange(sock, job, result, 1)
        for step in range(job.get("reconnects", 0)):
            sock.close()
            t1 = ticks()
            sock.connect("127.0.0.1", job["port"])
            result["handshake2_ms"] = ticks() - t1
            result["resumed2"] = sock.get_opt(twinsock.OPT_SESSION_RESUMED)
            if job.get("cid"):
                result["cid_resumed2"] = sock.get_opt(twinsock.OPT_CONNECTION_ID_RESUMED)
            exchange(sock, job, result, 2 + step)
        if job.get("fresh_socket"):
            # a new socket given the same resumption buffer
            sock.cleanup()
            sock = twinsock.dtls_socket(config)
            sock.set_opt(twinsock.OPT_RECV_TIMEOUT, job.get("recv_timeout", 5000))
            sock.connect("127.0.0.1", job["port"])
            result["resumed3"] = sock.get_opt(twinsock.OPT_SESSION_RESUMED)
            exchange(sock, job, result, 9)
        if job.get("poll_timer"):
            poll_timer(sock, job, result)
        for i in range(job.get("more", 0)):
            # later exchanges on the same session (e.g. after a port change)
            if job.get("pause_ms"):
                time.sleep(job["pause_ms"] / 1000)
            exchange(sock, job, result, 10 + i)
        if job.get("dropped") and sock._engine is not None:
            result["dropped"] = list(sock._engine.dropped)
        result["ok"] = True
    except OSError as e:
        result["error"] = type(e).__name__
        result["errno"] = e.args[0]
        result["message"] = e.args[1] if len(e.args) > 1 else str(e)
        result["alert"] = getattr(e, "alert", None)
    result["elapsed_ms"] = ticks() - t0
    sock.cleanup()
    return result


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    print(json.dumps(run(job)))


main()
