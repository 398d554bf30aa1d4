"""The PSK engine's heap on the MicroPython unix port, as tools/bench/psk_cost.py
measures it (.mpy, 192K heap): one session after its handshake within the 4 KB
target, the engine's code (tls_psk_select and tls_psk, on top of the ready core)
within the 14 KB target, a CCM-8 client session loading no engine module
beyond those that figure counts, and a default DTLS-PSK socket's first session
loading only the modules it needs."""

from tools.bench import psk_cost

SESSION_TARGET = psk_cost.TARGETS["session_kb"] * 1024
CODE_TARGET = psk_cost.TARGETS["code_kb"] * 1024
# The code figure counts each name the engine interns as its qstr entry, not the
# empty room of a qstr pool its loading happens to open (psk_cost.code_shares), so
# it no longer jumps by a pool as other modules change; the text of those names
# goes into chunks that can still move it by a little.
TEXT_CHUNK_MARGIN = 256
# None: the 14 KB target is met and asserted (a figure while the target was
# missed, held so that it could not grow)
CODE_CEILING = None


def test_session_and_code_heap():
    r = psk_cost.measure(5)
    for label in ("psk CCM-8", "psk CBC-SHA256"):
        assert 0 < (r[label]["session_bytes"] or 0) <= SESSION_TARGET, r
    assert r["psk CCM-8"]["cipher"] == "PSK-AES128-CCM8", r
    assert r["mbedtls CBC-SHA256"]["cipher"] == "TLS-PSK-WITH-AES-128-CBC-SHA256", r
    assert 0 < r["code psk"] <= (CODE_CEILING or CODE_TARGET) + TEXT_CHUNK_MARGIN, r
    assert not CODE_CEILING or r["code psk"] > CODE_TARGET, "target met: drop CODE_CEILING"
    # the code figure holds what a session needs: CBC and the rare paths
    # (tls_psk_cbc, tls_psk_rare, tls_psk_cid, tls_psk_alert, tls_psk_server)
    # load only when used
    assert r["psk CCM-8"]["modules"] == ["twinsock_port.tls_psk"]
    # sessions that go well, each with its ciphersuites configured, load no
    # failure path (tls_rare's texts, TLSError) on either engine
    for label in ("psk CCM-8", "psk CBC-SHA256", "mbedtls CBC-SHA256"):
        assert r[label]["failure_modules"] == [], (label, r[label])
    # a default DTLS-PSK socket's whole first session (connect, send, receive,
    # cleanup) loads the socket layer, the selection and the engine, and the
    # backend's MTU (every module new since the ready core is listed): never the
    # mbedTLS engine, the engine's rare paths or twinsock.const
    assert r["first session modules"] == [
        "twinsock.backend",
        "twinsock.tls",
        "twinsock_port.tls_psk",
        "twinsock_port.tls_psk_select",
    ], r
    print(r)
