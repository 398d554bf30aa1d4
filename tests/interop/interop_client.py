# twinsock's side of the interop tests, the same code on CPython (imported by
# test_*.py) and on MicroPython (`micropython interop_client.py WHAT ARGS...`, which
# prints the result as one JSON line after MARK). Each call returns a dict:
#   {"answer": ...} on success, or
#   {"error": class name, "errno": n, "alert": n|None, "message": str(e)}.
import binascii
import json
import sys

import coap_dtls_client as coap
import twinsock

MARK = "@@interop "
REPLY_TIMEOUT_MS = 5000
HANDSHAKE_TIMEOUTS = (500, 4000)


def _failure(e):
    return {
        "error": type(e).__name__,
        "errno": e.errno,
        "alert": getattr(e, "alert", None),
        "message": str(e),
    }


def _dtls_socket(identity, key, suites):
    config = twinsock.SSLConfig(
        twinsock.PskInfo(identity, key),
        ciphersuites=suites,
        dtls_handshake_timeouts=HANDSHAKE_TIMEOUTS,
    )
    s = twinsock.dtls_socket(config)
    s.set_opt(twinsock.OPT_RECV_TIMEOUT, REPLY_TIMEOUT_MS)
    return s


def dtls_echo(port, identity, key, suites, payloads):
    """A DTLS-PSK session to an echo server: each payload sent, its echo read."""
    try:
        with _dtls_socket(identity, key, suites) as s:
            s.connect("127.0.0.1", port)
            echoes = []
            for payload in payloads:
                s.send(payload)
                echoes.append(s.receive(2048).decode())
            return {"answer": echoes}
    except twinsock.NetError as e:
        return _failure(e)


def coap_requests(secure, port, identity, key, suites, requests, ack_timeout_ms=2000):
    """CoAP requests [(method, path, payload), ...] on one socket (UDP, or DTLS-PSK
    when `secure`): the answer is [[code text, payload text, transmissions,
    "piggybacked" or "separate"], ...]."""
    try:
        if secure:
            s = _dtls_socket(identity, key, suites)
        else:
            s = twinsock.udp_socket()
        with s:
            s.connect("127.0.0.1", port)
            client = coap.CoapClient(s, ack_timeout_ms)
            answers = []
            for method, path, payload in requests:
                if method == "GET":
                    code, body = client.get(path)
                else:
                    code, body = client.post(path, payload.encode())
                how = "separate" if client.separate else "piggybacked"
                answers.append([coap.code_text(code), body.decode(), client.transmissions, how])
            return {"answer": answers}
    except twinsock.NetError as e:
        return _failure(e)


def run(argv):
    # WHAT PORT IDENTITY KEYHEX SUITES(comma-separated hex, or -) then:
    #   dtls_echo: PAYLOAD...        coap/coaps: ACK_TIMEOUT_MS METHOD:PATH[:PAYLOAD]...
    what, port, identity, key, suites = argv[:5]
    port = int(port)
    identity = identity.encode()
    key = binascii.unhexlify(key)
    suites = None if suites == "-" else [int(x, 16) for x in suites.split(",")]
    if what == "dtls_echo":
        payloads = [p.encode() for p in argv[5:]]
        result = dtls_echo(port, identity, key, suites, payloads)
    else:
        requests = []
        for request in argv[6:]:
            method, path, payload = (request + "::").split(":")[:3]
            requests.append((method, path, payload))
        result = coap_requests(what == "coaps", port, identity, key, suites, requests, int(argv[5]))
    return result


if __name__ == "__main__":
    sys.stdout.write(MARK + json.dumps(run(sys.argv[1:])) + "\n")
