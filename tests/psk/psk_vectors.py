"""Published vectors for the PSK engine's primitives (in tls_psk), as
plain functions that run on CPython (tests/psk/test_vectors.py) and on the
MicroPython interpreter (the same file, run by micropython)."""

from binascii import unhexlify as h

from twinsock_port import tls_psk as c, tls_psk_cbc as cbc


def test_ccm8_rfc3610_packet_vector_1():
    # RFC 3610 section 8, Packet Vector #1 (M = 8, L = 2)
    key = h("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf")
    nonce = h("00000003020100a0a1a2a3a4a5")
    aad = h("0001020304050607")
    plain = h("08090a0b0c0d0e0f101112131415161718191a1b1c1d1e")
    sealed = h("588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0")
    ccm = c.Ccm(key, 8)
    assert ccm.encrypt(nonce, plain, aad) == sealed
    assert ccm.decrypt(nonce, sealed, aad) == plain


def test_ccm16_nist_cavs_vadt():
    # NIST CAVS 11.0 VADT128.rsp, Count 0 (Plen 24, Nlen 13, Tlen 16, Alen 0)
    key = h("d24a3d3dde8c84830280cb87abad0bb3")
    nonce = h("f1100035bb24a8d26004e0e24b")
    plain = h("7c86135ed9c2a515aaae0e9a208133897269220f30870006")
    sealed = h("1faeb0ee2ca2cd52f0aa3966578344f24e69b742c4ab37ab1123301219c70599b7c373ad4b3ad67b")
    ccm = c.Ccm(key, 16)
    assert ccm.encrypt(nonce, plain, b"") == sealed
    assert ccm.decrypt(nonce, sealed, b"") == plain


def test_ccm_sp800_38c_example_3():
    # NIST SP 800-38C Appendix C.3 (12-byte nonce as in TLS, 8-byte tag)
    key = h("404142434445464748494a4b4c4d4e4f")
    nonce = h("101112131415161718191a1b")
    aad = h("000102030405060708090a0b0c0d0e0f10111213")
    plain = h("202122232425262728292a2b2c2d2e2f3031323334353637")
    sealed = h("e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951")
    assert c.Ccm(key, 8).encrypt(nonce, plain, aad) == sealed


def test_ccm_rejects_any_changed_bit():
    key = h("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf")
    nonce = h("00000003020100a0a1a2a3a4a5")
    aad = h("0001020304050607")
    sealed = h("588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0")
    ccm = c.Ccm(key, 8)
    for i in (0, 10, len(sealed) - 1):
        bad = bytearray(sealed)
        bad[i] ^= 1
        assert ccm.decrypt(nonce, bytes(bad), aad) is None
    assert ccm.decrypt(nonce, sealed, b"x" + aad[1:]) is None
    assert ccm.decrypt(nonce, sealed[:5], aad) is None


def test_ccm_empty_and_long_payloads_round_trip():
    ccm = c.Ccm(bytes(range(16)), 16)
    nonce = bytes(12)
    for size in (0, 1, 15, 16, 17, 1024):
        plain = bytes(i & 0xFF for i in range(size))
        sealed = ccm.encrypt(nonce, plain, b"aad")
        assert len(sealed) == size + 16
        assert ccm.decrypt(nonce, sealed, b"aad") == plain


def test_tls12_prf_sha256():
    # the TLS 1.2 P_SHA256 vector from the IETF TLS working group list (msg03416)
    out = c.prf(
        h("9bbe436ba940f017b17652849a71db35"),
        b"test label" + h("a0ba9f936cda311827a6f796ffd5198c"),
        100,
    )
    assert out == h(
        "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
        "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
        "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
        "87347b66"
    )


def test_hmac_sha256_rfc4231_cases_1_and_6():
    assert c.hmac(b"\x0b" * 20, b"Hi There") == h(
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )
    # a key longer than the block: hashed first
    assert c.hmac(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First") == h(
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    )


def test_aes_cbc_sp800_38a_f21():
    # NIST SP 800-38A F.2.1 CBC-AES128.Encrypt, blocks 1-2
    key = h("2b7e151628aed2a6abf7158809cf4f3c")
    iv = h("000102030405060708090a0b0c0d0e0f")
    plain = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
    out = h("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2")
    assert cbc.cbc_encrypt(key, iv, plain) == out
    assert cbc.cbc_decrypt(key, iv, out) == plain


def test_equal_is_exact():
    assert c.equal(b"abc", b"abc")
    assert not c.equal(b"abc", b"abd")
    assert not c.equal(b"abc", b"ab")


def test_random_is_fresh():
    a, b = c.random(16), c.random(16)
    assert len(a) == 16 and a != b


if __name__ == "__main__":
    from case_runner import run

    run(globals())
