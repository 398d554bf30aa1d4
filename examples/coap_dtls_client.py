# A minimal CoAP client (RFC 7252) over any connected twinsock socket, UDP or DTLS:
# confirmable GET and POST with a token, a message id and Uri-Path options, resent
# with exponential back-off (ACK_TIMEOUT, ACK_RANDOM_FACTOR, MAX_RETRANSMIT, RFC 7252
# 4.8) until the ACK or the response comes. Piggybacked and separate responses are
# both understood. Runs on MicroPython and CPython.
#
#   python examples/coap_dtls_client.py coap://127.0.0.1:5683/hello
#   python examples/coap_dtls_client.py coaps://127.0.0.1:5684/echo \
#       --identity device --key 000102030405060708090a0b0c0d0e0f --post "some data"
#
# prints the response code and payload ("2.05 b'hello'"); exits 0 on a 2.xx answer.
import binascii
import os
import sys

import twinsock
from twinsock.clock import deadline_after, ms_left

COAP_PORT = 5683
COAPS_PORT = 5684
ACK_TIMEOUT_MS = 2000  # ACK_RANDOM_FACTOR is 1.5
MAX_RETRANSMIT = 4
RESPONSE_TIMEOUT_MS = 30000  # for a separate response, once the server ACKed
MAX_DATAGRAM = 1280
LWM2M_PSK_SUITE = 0xC0A8  # TLS_PSK_WITH_AES_128_CCM_8, the suite LwM2M mandates

CON, NON, ACK, RST = 0, 1, 2, 3
GET, POST = 1, 2
URI_PATH = 11


def code_text(code):
    """2.05-style text of a CoAP code byte."""
    return "%d.%02d" % (code >> 5, code & 31)


# -- message encoding (RFC 7252 section 3) -------------------------------------------


def _extended(n):
    # an option delta or length: its 4-bit nibble and the bytes that extend it
    if n < 13:
        return n, b""
    if n < 269:
        return 13, bytes((n - 13,))
    n -= 269
    return 14, bytes((n >> 8, n & 255))


def encode(mtype, code, mid, token, path=(), payload=b""):
    """One CoAP message; `path` is the Uri-Path segments (bytes)."""
    out = bytearray((0x40 | mtype << 4 | len(token), code, mid >> 8, mid & 255))
    out += token
    number = 0
    for segment in path:
        delta, delta_ext = _extended(URI_PATH - number)
        length, length_ext = _extended(len(segment))
        out.append(delta << 4 | length)
        out += delta_ext
        out += length_ext
        out += segment
        number = URI_PATH
    if payload:
        out.append(0xFF)
        out += payload
    return out


def _extended_value(data, i, nibble):
    # (value, index after it) of a delta or length nibble and its extension bytes
    if nibble == 13:
        return data[i] + 13, i + 1
    if nibble == 14:
        return (data[i] << 8 | data[i + 1]) + 269, i + 2
    return nibble, i


def decode(data):
    """(type, code, message id, token, payload) of a CoAP message, None if `data` is
    not one. Options are checked for well-formedness and skipped."""
    if len(data) < 4 or data[0] >> 6 != 1 or data[0] & 15 > 8:
        return None
    i = 4 + (data[0] & 15)
    if len(data) < i:
        return None
    head = ((data[0] >> 4) & 3, data[1], data[2] << 8 | data[3], bytes(data[4:i]))
    try:
        while i < len(data):
            if data[i] == 0xFF:
                return head + (bytes(data[i + 1 :]),) if i + 1 < len(data) else None
            delta, length = data[i] >> 4, data[i] & 15
            if delta == 15 or length == 15:
                return None
            _, i = _extended_value(data, i + 1, delta)
            length, i = _extended_value(data, i, length)
            i += length
    except IndexError:
        return None
    return None if i > len(data) else head + (b"",)


# -- the client ------------------------------------------------------------------------


def _random16():
    r = os.urandom(2)
    return r[0] << 8 | r[1]


class CoapClient:
    """Confirmable requests over a connected twinsock socket (UDP or DTLS), one at a
    time. `request` returns (code, payload); no answer after MAX_RETRANSMIT resends
    raises NetError(ETIMEDOUT), a Reset from the server NetError(ECONNRESET)."""

    def __init__(
        self,
        sock,
        ack_timeout_ms=ACK_TIMEOUT_MS,
        max_retransmit=MAX_RETRANSMIT,
        response_timeout_ms=RESPONSE_TIMEOUT_MS,
    ):
        self.sock = sock
        self.ack_timeout_ms = ack_timeout_ms
        self.max_retransmit = max_retransmit
        self.response_timeout_ms = response_timeout_ms
        self.transmissions = 0  # of the last request: 1 + its resends
        self.separate = False  # the last response came apart from the ACK
        self._mid = _random16()
        self._buf = bytearray(MAX_DATAGRAM)

    def get(self, path):
        return self.request(GET, path)

    def post(self, path, payload):
        return self.request(POST, path, payload)

    def request(self, code, path, payload=b""):
        self._mid = (self._mid + 1) & 0xFFFF
        mid = self._mid
        token = os.urandom(4)
        segments = [s.encode() for s in path.split("/") if s]
        message = encode(CON, code, mid, token, segments, payload)
        what = "CoAP %s %s" % ("GET" if code == GET else "POST", path)
        saved_timeout = self.sock.get_opt(twinsock.OPT_RECV_TIMEOUT)
        try:
            return self._exchange(message, mid, token, what)
        finally:
            self.sock.set_opt(twinsock.OPT_RECV_TIMEOUT, saved_timeout)

    def _exchange(self, message, mid, token, what):
        # the first wait: ACK_TIMEOUT times a random factor in [1, ACK_RANDOM_FACTOR)
        timeout = self.ack_timeout_ms
        timeout += timeout * os.urandom(1)[0] // 512
        self.sock.send(message)
        self.transmissions = 1
        self.separate = False
        deadline = deadline_after(timeout)
        acked = False
        while True:
            got = self._receive(ms_left(deadline))
            if got is None:
                if acked:
                    raise twinsock.NetError(
                        twinsock.ETIMEDOUT, "%s: ACKed, but no response came" % what
                    )
                if self.transmissions > self.max_retransmit:
                    raise twinsock.NetError(
                        twinsock.ETIMEDOUT,
                        "%s: no answer after %d transmissions" % (what, self.transmissions),
                    )
                timeout *= 2
                self.sock.send(message)
                self.transmissions += 1
                deadline = deadline_after(timeout)
                continue
            if not got:
                continue  # not a CoAP message
            mtype, code, their_mid, their_token, payload = got
            if mtype == RST and their_mid == mid:
                raise twinsock.NetError(twinsock.ECONNRESET, "%s: the server sent Reset" % what)
            if mtype == ACK and their_mid == mid:
                if code == 0:  # empty ACK: a separate response follows
                    acked = True
                    deadline = deadline_after(self.response_timeout_ms)
                elif their_token == token:
                    return code, payload
            elif mtype in (CON, NON) and code and their_token == token:
                if mtype == CON:
                    self.sock.send(encode(ACK, 0, their_mid, b""))
                self.separate = True
                return code, payload
            # anything else (a late duplicate, another exchange) is dropped

    def _receive(self, timeout_ms):
        self.sock.set_opt(twinsock.OPT_RECV_TIMEOUT, timeout_ms)
        try:
            n = self.sock.receive_into(self._buf)
        except twinsock.MessageTruncated:
            return ()  # too big for any answer we wait for: not ours
        except twinsock.NetError as e:
            if e.errno == twinsock.ETIMEDOUT:
                return None
            raise
        return decode(memoryview(self._buf)[:n]) or ()  # () for "not CoAP"


# -- command line ------------------------------------------------------------------


def parse_uri(uri):
    """(secure, host, port, path) of coap://host[:port]/path or coaps://..."""
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme not in ("coap", "coaps"):
        raise ValueError("not a coap:// or coaps:// URI: %s" % uri)
    hostport, _, path = rest.partition("/")
    if hostport.startswith("["):  # [IPv6]:port
        host, _, port = hostport[1:].partition("]")
        port = port[1:]
    else:
        host, _, port = hostport.partition(":")
    secure = scheme == "coaps"
    return secure, host, int(port) if port else (COAPS_PORT if secure else COAP_PORT), "/" + path


USAGE = (
    "usage: coap_dtls_client.py coap[s]://HOST[:PORT]/PATH [--post PAYLOAD]\n"
    "         [--identity TEXT --key HEX] [--suite 0xC0A8 ...] [--ack-timeout-ms N]"
)


def parse_args(argv):
    options = {"post": None, "identity": "", "key": "", "suite": [], "ack-timeout-ms": "2000"}
    uri = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--") and arg[2:] in options and i + 1 < len(argv):
            value = argv[i + 1]
            if arg == "--suite":
                options["suite"].append(int(value, 16 if value[:2] in ("0x", "0X") else 10))
            else:
                options[arg[2:]] = value
            i += 2
        elif uri is None and not arg.startswith("--"):
            uri = arg
            i += 1
        else:
            raise ValueError("unexpected argument %s" % arg)
    if uri is None:
        raise ValueError("no URI given")
    return uri, options


def connect(secure, host, port, identity=b"", key=b"", suites=None):
    """A connected twinsock socket: UDP, or DTLS-PSK (LwM2M's CCM-8 suite unless
    `suites` says otherwise)."""
    if secure:
        config = twinsock.SSLConfig(
            twinsock.PskInfo(identity, key), ciphersuites=suites or [LWM2M_PSK_SUITE]
        )
        sock = twinsock.dtls_socket(config)
    else:
        sock = twinsock.udp_socket()
    try:
        sock.connect(host, port)
    except Exception:
        sock.cleanup()
        raise
    return sock


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        uri, options = parse_args(argv)
        secure, host, port, path = parse_uri(uri)
        key = binascii.unhexlify(options["key"])
        ack_timeout_ms = int(options["ack-timeout-ms"])
    except ValueError as e:
        print("error: %s\n%s" % (e, USAGE))
        return 2
    try:
        with connect(secure, host, port, options["identity"].encode(), key, options["suite"]) as s:
            client = CoapClient(s, ack_timeout_ms)
            if options["post"] is None:
                code, payload = client.get(path)
            else:
                code, payload = client.post(path, options["post"].encode())
    except twinsock.NetError as e:
        print("error: %s %s" % (type(e).__name__, e))
        return 1
    print("%s %r" % (code_text(code), payload))
    return 0 if code >> 5 == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
