"""twinsock against tinydtls (PyPI DTLSSocket), a DTLS-PSK server nobody here wrote:
CCM-8 only (0xC0A8/0xC0A4), HelloVerifyRequest cookies, and a refusal of any other
suite as close_notify followed by a fatal handshake_failure alert."""

import errno

import pytest
from interop import (
    FATAL_ALERT_AFTER_CLOSE_NOTIFY_REPORTED,
    IDENTITY,
    KEY,
    LWM2M_PSK_SUITE,
    RUNTIMES,
    check_ccm_outcome,
    known_gap,
    run_client,
)
from peers import loopback_capture, tinydtls_server

PSK_CBC_SHA256 = "00ae"  # a suite twinsock offers and tinydtls lacks
HANDSHAKE_FAILURE = 40
INTERNAL_ERROR = 80  # tinydtls's answer to an identity it does not know


@pytest.fixture(scope="module")
def tinydtls_port():
    with tinydtls_server(IDENTITY, KEY, lifetime=600) as port:
        yield port


def echo(runtime, port, suite, *payloads):
    return run_client(runtime, "dtls_echo", port, IDENTITY.decode(), KEY.hex(), suite, *payloads)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_ccm8_echo(runtime, tinydtls_port):
    result = echo(runtime, tinydtls_port, LWM2M_PSK_SUITE, "first", "second record")
    check_ccm_outcome(runtime, result, ["first", "second record"])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_suite_mismatch_fails_the_handshake(runtime, tinydtls_port):
    result = echo(runtime, tinydtls_port, PSK_CBC_SHA256, "never sent")
    # today: TLSError(EPROTO) at connect (the alert itself is not reported: below)
    assert result.get("error") == "TLSError", result
    assert result["errno"] == errno.EPROTO, result


@known_gap(
    FATAL_ALERT_AFTER_CLOSE_NOTIFY_REPORTED,
    "the engines report the close_notify that tinydtls sends before its fatal alert",
)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_suite_mismatch_names_the_fatal_alert(runtime, tinydtls_port):
    result = echo(runtime, tinydtls_port, PSK_CBC_SHA256, "never sent")
    assert result.get("alert") == HANDSHAKE_FAILURE, result
    assert "handshake_failure" in result["message"].lower().replace(" ", "_"), result


def test_wrong_key_times_out_with_a_psk_hint(tinydtls_port):
    # tinydtls drops a Finished it cannot decrypt without an alert: the handshake can
    # only time out, and twinsock says that the PSK may be wrong.
    result = run_client(
        "cpython", "dtls_echo", tinydtls_port, IDENTITY.decode(), "ff" * 16, LWM2M_PSK_SUITE, "x"
    )
    assert result.get("error") == "TLSError", result
    assert result["errno"] == errno.ETIMEDOUT and "PSK" in result["message"], result


def test_unknown_identity_is_refused_with_tinydtls_alert(tinydtls_port):
    result = run_client(
        "cpython", "dtls_echo", tinydtls_port, "nobody", KEY.hex(), LWM2M_PSK_SUITE, "x"
    )
    assert result.get("error") == "TLSError", result
    assert result["alert"] == INTERNAL_ERROR and "internal_error" in result["message"], result


def test_tinydtls_refuses_a_suite_with_close_notify_then_a_fatal_alert(tinydtls_port):
    # What the test above relies on, seen on the wire by Wireshark's DTLS dissector.
    fields = ("udp.srcport", "dtls.alert_message.level", "dtls.alert_message.desc")
    with loopback_capture(tinydtls_port, fields) as rows:
        result = echo("cpython", tinydtls_port, PSK_CBC_SHA256, "never sent")
    assert result.get("error") == "TLSError", result
    alerts = [row[1:] for row in rows if row[0] == str(tinydtls_port) and row[1]]
    assert alerts == [["1", "0"], ["2", str(HANDSHAKE_FAILURE)]], rows
