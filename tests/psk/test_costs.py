"""The PSK engine's heap on the MicroPython unix port, as tools/bench/psk_cost.py
measures it (.mpy, 192K heap): one session after its handshake within the 4 KB
target, and the engine's code no larger than today's (the 14 KB target is not met
yet: docs/TLS_ENGINES.md), so that growth is noticed."""

from tools.bench import psk_cost

SESSION_TARGET = 4 * 1024
# today's 16768 B plus ~576 B for the qstr pool's growth steps (the same code
# measures a few hundred bytes apart as other modules fill the pool); the
# target is 14 KB
CODE_CEILING = 17344


def test_session_and_code_heap():
    r = psk_cost.measure(3)
    for label in ("psk CCM-8", "psk CBC-SHA256"):
        assert r[label]["session_bytes"] <= SESSION_TARGET, r
    assert r["psk CCM-8"]["cipher"] == "PSK-AES128-CCM8", r
    assert r["mbedtls CBC-SHA256"]["cipher"] == "TLS-PSK-WITH-AES-128-CBC-SHA256", r
    assert 0 < r["code psk"] <= CODE_CEILING, r
    print(r)
