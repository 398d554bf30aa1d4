"""The PSK engine's protocol core (tls_psk) between two in-memory
endpoints: the handshake, retransmission, reassembly and the record checks.
Plain functions that run on CPython (test_core.py) and on the MicroPython
interpreter (the same file, run by micropython)."""

import time

from twinsock_port import tls_psk as core
from twinsock_port.tls_psk_cid import CidDtls
from twinsock_port.tls_psk_server import CidServer

ID = b"device-1"
KEY = bytes(range(16))
TIMEOUTS = (1000, 60000)
CCM_8, CCM, CBC_SHA256 = 0xC0A8, 0xC0A4, 0x00AE
BAD_MAC, REPLAYED, TOO_OLD, WRONG_EPOCH = 0, 1, 2, 3  # Dtls.dropped[]


def sleep_ms(ms):
    try:
        time.sleep_ms(ms)
    except AttributeError:
        time.sleep(ms / 1000)


def endpoints(suite=None, cid=False, key=KEY, identity=ID, session=None, mtu=1400):
    cls = CidDtls if cid else core.Dtls
    client = cls(identity, key, [suite] if suite else None, TIMEOUTS, mtu, session)
    server = CidServer(ID, KEY, None, TIMEOUTS, mtu, None, b"10.0.0.1:5683")
    return client, server


def deliver(source, target):
    out = source.out
    source.out = []
    for datagram in out:
        target.feed(datagram)
    return len(out)


def handshake(client, server, rounds=6):
    for _ in range(rounds):
        deliver(client, server)
        deliver(server, client)
        if client.done and server.done:
            return
    raise AssertionError("no handshake in %d rounds" % rounds)


def app_datagram(sender, data=b"x"):
    sender.send(data)
    return sender.out.pop()


def expect_error(call, errno=None, alert=None, words=None):
    try:
        call()
    except OSError as e:
        if errno is not None:
            assert e.args[0] == errno, e
        if alert is not None:
            assert getattr(e, "alert", None) == alert, (e, getattr(e, "alert", None))
        if words is not None:
            assert words in str(e), str(e)
        return e
    raise AssertionError("no error")


def test_each_suite_with_and_without_cid():
    for suite in (CCM_8, CCM, CBC_SHA256):
        for cid in (False, True):
            client, server = endpoints(suite, cid)
            handshake(client, server)
            assert client.suite == server.suite == suite
            server.feed(app_datagram(client, b"ping"))
            assert server.app == [b"ping"]
            client.feed(app_datagram(server, b"pong" * 300))
            assert client.app == [b"pong" * 300]
            assert (client.tx_cid is not None) == cid
            assert client.tx_cid == (server.rx_cid or None)  # b"": none negotiated


def test_first_answer_is_a_stateless_hello_verify_request():
    client, server = endpoints()
    deliver(client, server)
    assert len(server.out) == 1
    hvr = server.out[0]
    assert hvr[0] == 22 and hvr[13] == 3  # handshake record, HelloVerifyRequest
    assert server.suite is None and not server._flight  # nothing kept but the secret
    handshake(client, server)


def test_cid_records_on_the_wire():
    client, server = endpoints(cid=True)
    handshake(client, server)
    datagram = app_datagram(client)
    assert datagram[0] == 25  # tls12_cid
    assert datagram[11 : 11 + len(server.rx_cid)] == server.rx_cid
    server.feed(datagram)
    assert server.app == [b"x"]


def test_cid_record_additional_data_follows_rfc9146():
    # RFC 9146 section 5: seq_num_placeholder, tls12_cid, cid_length, tls12_cid,
    # version, epoch and sequence number, cid, length_of_DTLSInnerPlaintext.
    es = b"\x00\x01" + b"\x00\x00\x00\x00\x00\x07"
    cid = b"\xa1\xa2\xa3\xa4\xa5\xa6"
    want = b"\xff" * 8 + b"\x19\x06\x19" + b"\xfe\xfd" + es + cid + b"\x00\x20"
    assert CidDtls._aad(None, 25, es, cid, 32) == want


def test_resumption_abbreviated_handshake():
    client, server = endpoints()
    handshake(client, server)
    session = client.session()
    assert session and KEY not in session
    client, server = endpoints(session=session)
    handshake(client, server)
    assert client.resumed and server.resumed
    server.feed(app_datagram(client, b"again"))
    assert server.app == [b"again"]


def test_extended_master_secret_is_negotiated_and_kept_with_the_session():
    client, server = endpoints()
    handshake(client, server)
    assert client._ems and server._ems
    session = client.session()
    assert session[0] == 2  # the session records that its secret is an EMS one
    downgraded = b"\x01" + session[1:]  # as if the first handshake had had none
    client, server = endpoints(session=downgraded)
    deliver(client, server)
    deliver(server, client)
    deliver(client, server)
    # RFC 7627 5.3: resuming it without EMS would be unsafe: abort
    expect_error(lambda: deliver(server, client), alert=40)


def test_unknown_session_falls_back_to_a_full_handshake():
    client, server = endpoints()
    handshake(client, server)
    session = bytearray(client.session())
    session[5] ^= 0xFF  # another session id
    client, server = endpoints(session=bytes(session))
    handshake(client, server)
    assert not client.resumed and not server.resumed


def test_small_mtu_fragments_and_reassembles():
    client, server = endpoints(mtu=60)
    deliver(client, server)
    deliver(server, client)
    assert len(client.out) >= 2  # the hello with its cookie, in fragments
    client.out.reverse()  # and out of order
    handshake(client, server, 10)


def test_lost_flight_is_resent_with_fresh_record_numbers():
    client, server = endpoints()
    client.tmin, client.tmax = 20, 80
    deliver(client, server)
    deliver(server, client)
    first = list(client.out)
    client.out = []  # the hello with the cookie is lost
    sleep_ms(25)
    client.dtls_handle_timeout()
    again = client.out
    assert len(again) == len(first)
    assert again[0][3:11] != first[0][3:11]  # epoch + sequence number differ
    assert again[0][25:] == first[0][25:]  # the same ClientHello body
    handshake(client, server)


def test_lost_final_flight_is_resent_on_the_peers_repeat():
    client, server = endpoints()
    deliver(client, server)
    deliver(server, client)
    deliver(client, server)
    deliver(server, client)
    deliver(client, server)  # client's Finished: the server is done
    assert server.done
    server.out = []  # its CCS + Finished are lost
    client.deadline = client.start  # the client's timer ran out
    client.timeout = client.tmin
    sleep_ms(2)
    client.dtls_handle_timeout()
    deliver(client, server)  # the repeat makes the server send its flight again
    deliver(server, client)
    assert client.done


def test_timer_doubles_to_max_then_etimedout():
    client, _ = endpoints()
    client.tmin, client.tmax = 10, 40
    client._send_flight(client._flight)  # the timer starts
    client.out = []
    sent = 0
    start = time.ticks_ms() if hasattr(time, "ticks_ms") else None
    for _ in range(10):
        left = client.dtls_timeout_ms()
        sleep_ms(left + 1)
        try:
            client.dtls_handle_timeout()
        except OSError as e:
            assert e.args[0] == 110, e  # ETIMEDOUT
            assert "timed out" in str(e)
            break
        sent += len(client.out)
        client.out = []
    else:
        raise AssertionError("never timed out")
    assert sent == 2  # after 10 ms and 20 ms; the 40 ms wait ends it
    if start is not None:
        assert time.ticks_diff(time.ticks_ms(), start) >= 70


def test_replayed_record_is_dropped_and_counted():
    client, server = endpoints()
    handshake(client, server)
    datagram = app_datagram(client)
    server.feed(datagram)
    server.feed(datagram)
    assert server.app == [b"x"]
    assert server.dropped[REPLAYED] == 1


def test_tampered_record_is_dropped_and_counted():
    for suite in (CCM_8, CCM, CBC_SHA256):
        client, server = endpoints(suite)
        handshake(client, server)
        datagram = bytearray(app_datagram(client, b"secret"))
        datagram[-3] ^= 1
        server.feed(bytes(datagram))
        assert server.app == []
        assert server.dropped[BAD_MAC] == 1
        server.feed(app_datagram(client, b"next"))
        assert server.app == [b"next"]


def test_too_old_record_is_dropped_and_window_accepts_reordering():
    client, server = endpoints()
    handshake(client, server)
    records = [app_datagram(client, b"%d" % i) for i in range(70)]
    server.feed(records[69])
    server.feed(records[0])  # 69 behind: outside the 64-record window
    assert server.dropped[TOO_OLD] == 1
    server.feed(records[10])  # 59 behind: inside, never seen
    assert server.app == [b"69", b"10"]


def test_wrong_epoch_records_are_dropped_and_counted():
    client, server = endpoints()
    handshake(client, server)
    datagram = bytearray(app_datagram(client))
    datagram[4] = 2  # epoch 2: no such keys
    server.feed(bytes(datagram))
    plain = bytes([23, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 99, 0, 3]) + b"bad"
    server.feed(plain)  # epoch 0 application data after the handshake
    assert server.app == []
    assert server.dropped[WRONG_EPOCH] == 2


def test_wrong_psk_fails_with_bad_record_mac_on_both_ends():
    client, server = endpoints(key=b"another key 1234")
    deliver(client, server)
    deliver(server, client)
    deliver(client, server)
    deliver(server, client)
    e = expect_error(lambda: deliver(client, server), alert=20, words="PSK identity rejected")
    assert "we sent" in str(e)
    expect_error(
        lambda: deliver(server, client), alert=20, words="peer sent alert bad_record_mac (20)"
    )


def test_unknown_identity_fails_with_unknown_psk_identity():
    client, server = endpoints(identity=b"stranger")
    deliver(client, server)
    deliver(server, client)
    deliver(client, server)
    deliver(server, client)
    expect_error(lambda: deliver(client, server), alert=115)
    expect_error(lambda: deliver(server, client), alert=115, words="PSK identity rejected")


def test_handshake_failure_before_the_server_hello_is_about_our_hello():
    # a server that shares no suite refuses the ClientHello: the PSK was never used
    client, _ = endpoints()
    alert = b"\x15\xfe\xfd" + bytes(8) + b"\x00\x02\x02\x28"  # fatal handshake_failure
    e = expect_error(lambda: client.feed(alert), alert=40, words="ciphersuites")
    assert "PSK" not in str(e) and "key" not in str(e), e


def test_close_notify_ends_the_session():
    client, server = endpoints()
    handshake(client, server)
    client.close()
    deliver(client, server)
    assert server.closed and server.app == []


def test_no_key_material_in_reprs_or_errors():
    client, server = endpoints(key=b"k" * 16)
    text = repr(client) + repr(server)
    try:
        handshake(client, server)
    except OSError as e:
        text += str(e) + repr(e)
    client, server = endpoints()
    handshake(client, server)
    text += repr(client) + repr(client._wkeys) + repr(server._rkeys)
    for secret in (b"k" * 16, KEY, client._master):
        assert secret.hex() not in text and repr(secret)[2:-1] not in text, text


if __name__ == "__main__":
    from case_runner import run

    run(globals())
