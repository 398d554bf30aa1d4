"""examples/coap_dtls_client.py's message coding, against RFC 7252's layout (the
exchanges themselves are tested against aiocoap in test_aiocoap.py)."""

from interop import coap


def test_request_layout():
    message = coap.encode(coap.CON, coap.POST, 0x1234, b"\xaa\xbb", [b"rd", b"x" * 20], b"pl")
    assert bytes(message) == (
        b"\x42\x02\x12\x34\xaa\xbb"  # ver 1, CON, TKL 2; 0.02 POST; message id; token
        + b"\xb2rd"  # Uri-Path (11): delta 11, length 2
        + b"\x0d\x07"
        + b"x" * 20  # Uri-Path again: delta 0, length 13 + 7
        + b"\xffpl"  # payload marker, payload
    )


def test_long_option_and_empty_ack():
    message = coap.encode(coap.CON, coap.GET, 1, b"", [b"y" * 300])
    assert bytes(message[4:7]) == b"\xbe\x00\x1f"  # length 14: 269 + 0x001f = 300
    assert coap.decode(message) == (coap.CON, coap.GET, 1, b"", b"")
    assert bytes(coap.encode(coap.ACK, 0, 0xBEEF, b"")) == b"\x60\x00\xbe\xef"


def test_decode_response():
    response = b"\x61\x45\x00\x07\x99" + b"\xc1\x00" + b"\xffhello"  # Content-Format 0
    assert coap.decode(response) == (coap.ACK, 0x45, 7, b"\x99", b"hello")
    assert coap.code_text(0x45) == "2.05" and coap.code_text(0x84) == "4.04"


def test_malformed_messages_are_not_coap():
    for data in (
        b"",
        b"\x41\x45\x00",  # shorter than the header
        b"\x81\x45\x00\x01\x00",  # version 2
        b"\x49\x45\x00\x01",  # token length 9
        b"\x44\x45\x00\x01\x00",  # token cut short
        b"\x40\x45\x00\x01\xf0",  # option delta 15 without the payload marker
        b"\x40\x45\x00\x01\xd0",  # extended delta byte missing
        b"\x40\x45\x00\x01\x05ab",  # option value cut short
        b"\x40\x45\x00\x01\xff",  # payload marker with no payload
    ):
        assert coap.decode(data) is None, data


def test_parse_uri():
    assert coap.parse_uri("coap://127.0.0.1/hello") == (False, "127.0.0.1", 5683, "/hello")
    assert coap.parse_uri("coaps://[::1]:6000/a/b") == (True, "::1", 6000, "/a/b")
