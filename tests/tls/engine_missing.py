# What a (D)TLS socket says when its engine lacks the kind or PSK: run by
# test_engine_missing.py on CPython and MicroPython; prints one JSON line.
import json

import twinsock


class _Lacking:
    """An engine module (docs/PORTING.md) whose features() leave things out."""

    def __init__(self, have):
        self.have = have

    def features(self):
        return self.have

    def Engine(self, *args):  # never reached: the socket refuses first
        raise AssertionError("engine started")


out = {}
for name, have, factory, security in (
    ("no_tls", {"tls": False}, twinsock.ssl_socket, twinsock.CertInfo()),
    ("no_dtls", {"tls": True}, twinsock.dtls_socket, twinsock.CertInfo()),
    ("no_psk", {"tls": True, "dtls": True}, twinsock.dtls_socket, twinsock.PskInfo(b"i", b"k")),
):
    twinsock.use_tls_engine(_Lacking(have))
    try:
        factory(twinsock.SSLConfig(security)).cleanup()
        out[name] = "created"
    except twinsock.NetError as e:
        out[name] = [e.args[0], e.args[1]]
twinsock.use_tls_engine(None)
out["ENOTSUP"] = twinsock.ENOTSUP
print(json.dumps(out))
