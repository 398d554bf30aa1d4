"""Ciphersuites by IANA id: LwM2M's mandatory CCM-8 suites negotiated on CPython
against openssl s_server; the suites each engine has, as an application can ask
(twinsock.ciphersuites()); an engine given only suites it lacks names them."""

import errno

import pytest
from test_cpython_engine import cert_config, open_engine, psk_config
from twinsock.errors import NetError
from twinsock_port import tls_cpython

PSK_CCM_8 = 0xC0A8  # TLS_PSK_WITH_AES_128_CCM_8
ECDHE_ECDSA_CCM_8 = 0xC0AE  # TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
@pytest.mark.parametrize(
    "suite, name", [(PSK_CCM_8, "PSK-AES128-CCM8"), (ECDHE_ECDSA_CCM_8, "ECDHE-ECDSA-AES128-CCM8")]
)
def test_ccm_8_negotiated_on_cpython(s_server, pki, dtls, suite, name):
    # OpenSSL 3 disables 64-bit-tag suites below security level 0
    psk = suite == PSK_CCM_8
    server, port = s_server(dtls=dtls, psk=psk, extra=["-cipher", name + ":@SECLEVEL=0"])
    config = psk_config(ciphersuites=[suite]) if psk else cert_config(pki, ciphersuites=[suite])
    engine, sock = open_engine(port, config, dtls)
    try:
        assert engine.cipher() == name
    finally:
        engine.close()
        sock.close()


def test_cpython_engine_lists_the_lwm2m_suites():
    have = tls_cpython.ciphersuites()
    assert PSK_CCM_8 in have and ECDHE_ECDSA_CCM_8 in have
    assert have == sorted(have)


def test_micropython_firmware_lacks_ccm(micropython):
    got = micropython.run({"ciphersuites_available": True})["ciphersuites"]
    assert 0xC02B in got  # ECDHE-ECDSA-AES128-GCM-SHA256: what it has
    assert PSK_CCM_8 not in got and ECDHE_ECDSA_CCM_8 not in got


def test_micropython_given_only_ccm_8_names_it(micropython, s_server):
    _, port = s_server(dtls=True, psk=True)
    job = {"port": port, "dtls": True, "psk": ["id", "00"], "ciphersuites": [PSK_CCM_8, 0xC0AE]}
    result = micropython.run(job)
    assert result.get("errno") == errno.EOPNOTSUPP, result
    assert "TLS_PSK_WITH_AES_128_CCM_8" in result["message"], result
    assert "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8" in result["message"], result


def test_cpython_given_only_unknown_suites_names_them(pki):
    with pytest.raises(NetError) as info:
        tls_cpython.Engine(None, cert_config(pki, ciphersuites=[0xFFFE]), dtls=True)
    assert info.value.errno == errno.EOPNOTSUPP
    assert "0xFFFE" in str(info.value)
