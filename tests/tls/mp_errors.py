# Prints, as JSON, the TLSError the MicroPython engine makes of each raw
# failure the `tls` module can raise (the ones a loopback test cannot
# provoke: out of memory, fatal alerts, timeouts). Run by test_micropython_engine.
import json
import socket

import tlsdrive
from twinsock_port.tls_micropython import Engine

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect(socket.getaddrinfo("127.0.0.1", 9)[0][-1])
sock.setblocking(False)
cases = {
    "enomem": OSError(12),
    "memoryerror": MemoryError(),
    "alloc_failed": OSError(-0x7F00),
    "conn_eof": OSError(-29312),
    "fatal_alert": OSError(-30592),
    "invalid_record": OSError(-29184),
    "closed_socket": OSError(-28928),
    "timeout": OSError(-26624),
    "handshake_failure": OSError(-0x6E00),
    "unknown": OSError(-0x1234),
    "expired": ValueError("The certificate validity has expired"),
    "future": ValueError("The certificate validity starts in the future"),
}
out = {}
for psk in (False, True):
    if psk:
        security = tlsdrive.PskInfo(b"id", b"k" * 16)
    else:
        security = tlsdrive.CertInfo(server_cert_validation=False)
    engine = Engine(sock, tlsdrive.SSLConfig(security), dtls=True)
    for name, raw in cases.items():
        err = engine._error(raw)
        key = name + ("_psk" if psk else "")
        out[key] = [err.args[0], err.args[1], getattr(err, "alert", None)]
    engine.close()
print(json.dumps(out))
