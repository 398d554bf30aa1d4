# twinsock's own DTLS 1.2 PSK engine (RFC 6347, RFC 4279, RFC 6655, RFC 9146),
# in the shape of the other TLS engines (docs/TLS_ENGINES.md): Engine(),
# features() and ciphersuites(). It runs on MicroPython (cryptolib + hashlib)
# and CPython (cryptography) and brings LwM2M's CCM-8, Connection ID and
# session resumption to stock firmware. Its Dtls is the protocol: with no
# socket it does no I/O (feed() it each datagram that arrives, send what
# collects in `out`, call dtls_handle_timeout() when dtls_timeout_ms() reaches
# 0); given a connected non-blocking UDP socket (as Engine() does) it reads
# from and sends on that socket itself. Client here; the server (for tests and
# host use) is tls_psk_server's. Suites: PSK with AES-128-CCM-8 (LwM2M's),
# AES-128-CCM and AES-128-CBC-SHA256. Records a peer must not see delivered
# (bad MAC, replay, too old, wrong epoch) are dropped and counted in `dropped`.
# (few module globals: past 19 names its dict takes 43 slots, 16 B each)
import hashlib
import sys

from twinsock import clock
from twinsock.errors import NetError

try:
    from micropython import const
except ImportError:  # CPython: const(x) is x
    const = int

_CCM_8 = const(0xC0A8)
_CBC_SHA256 = const(0x00AE)
# the suites, first choice first: CCM-8, CCM, CBC-SHA256
NAMES = {_CCM_8: "PSK-AES128-CCM8", 0xC0A4: "PSK-AES128-CCM", _CBC_SHA256: "PSK-AES128-CBC-SHA256"}

_CCS = const(20)
_ALERT = const(21)
_HS = const(22)
_APP = const(23)
_CID = const(25)
_CH = const(1)
_SH = const(2)
_HVR = const(3)
_SKE = const(12)
_SHD = const(14)
_CKE = const(16)
_FIN = const(20)
_EXT_CID = const(54)
_EXT_EMS = const(23)  # extended master secret (RFC 7627): tinydtls insists on it
# dropped[] indexes: bad MAC, replayed, too old, wrong epoch (or CID)
_BAD_MAC = const(0)
_REPLAYED = const(1)
_TOO_OLD = const(2)
_WRONG_EPOCH = const(3)
del const  # (MicroPython has used it up when compiling)


# -- the primitives: AES-CCM, HMAC-SHA256 and the TLS 1.2 PRF (AES-CBC:
# tls_psk_cbc). The ciphers and the hash are the platform's: `cryptography` on
# CPython (tls_psk_cpython); `cryptolib.aes` (ECB/CBC) and `hashlib.sha256` on
# MicroPython, where CCM (RFC 3610) is only the mode's protocol around the
# firmware's AES: its CBC-MAC is one CBC pass, its counter stream one ECB pass.


def random(n):
    """n bytes from the platform's CSPRNG; ENOTSUP where there is none."""
    try:
        import os

        return os.urandom(n)
    except (AttributeError, NotImplementedError, OSError):
        raise alert_error("urandom")


def equal(data, value):
    """data == value in time that depends only on the length (for tags and MACs)."""
    if len(data) != len(value):
        return False
    diff = 0
    for x, y in zip(data, value):
        diff |= x ^ y
    return diff == 0


def xor(data, key):
    """data XOR the first len(data) bytes of key, in one big-int step (no byte loop)."""
    n = len(data)
    if not n:
        return b""
    return (int.from_bytes(data, "big") ^ int.from_bytes(key[:n], "big")).to_bytes(n, "big")


def hmac(key, data):
    """HMAC-SHA256 (RFC 2104; MicroPython has no hmac)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = bytes(key) + bytes(64 - len(key))
    h = hashlib.sha256(xor(key, b"\x36" * 64))
    h.update(data)
    return hashlib.sha256(xor(key, b"\x5c" * 64) + h.digest()).digest()


def prf(key, seed, n):
    """The TLS 1.2 PRF, P_SHA256 (RFC 5246 5); `seed`: the label + the seed."""
    a = seed
    out = b""
    while len(out) < n:
        a = hmac(key, a)
        out += hmac(key, a + seed)
    return out[:n]


if sys.implementation.name != "micropython":
    from twinsock_port.tls_psk_cpython import Ccm
else:

    class Ccm:
        """AES-CCM (RFC 3610) with a `tag`-byte tag over the firmware's AES
        block cipher: encrypt/decrypt(nonce, data, aad)."""

        def __init__(self, key, tag):
            self._key = bytes(key)
            self._tag = tag
            from cryptolib import aes

            self._ecb = aes(self._key, 1)  # 1: MODE_ECB

        def decrypt(self, nonce, data, aad):
            """The plaintext, or None when the tag does not match."""
            n = len(data) - self._tag
            if n < 0:
                return None
            return self.encrypt(nonce, memoryview(data)[:n], aad, memoryview(data)[n:])

        def encrypt(self, nonce, data, aad, tag=None):
            """Ciphertext + tag; given the `tag` of ciphertext `data` (decrypt()),
            the plaintext, or None when it does not match."""
            size = 15 - len(nonce)  # L: bytes of the length field
            n = len(data)
            # counter blocks A_0 .. A_k encrypted: S_0 then the key stream
            blocks = (n + 15) // 16 + 1
            a = bytearray(16 * blocks)
            for i in range(blocks):
                at = 16 * i
                a[at] = size - 1
                a[at + 1 : at + 16 - size] = nonce
                a[at + 16 - size : at + 16] = i.to_bytes(size, "big")
            s = self._ecb.encrypt(a)
            out = xor(data, memoryview(s)[16:])
            # the CBC-MAC, over the plaintext
            flags = (64 if aad else 0) | ((self._tag - 2) // 2) << 3 | (size - 1)
            b = bytearray(b"%c" % flags)
            b += nonce
            b += n.to_bytes(size, "big")
            if aad:  # every TLS aad is shorter than 0xFF00
                b += len(aad).to_bytes(2, "big")
                b += aad
                b += bytes(-len(b) % 16)
            b += data if tag is None else out
            b += bytes(-len(b) % 16)
            from cryptolib import aes

            mac = aes(self._key, 2, bytes(16)).encrypt(b)[-16:]  # 2: MODE_CBC
            mac = xor(mac[: self._tag], s)
            if tag is None:
                return out + mac
            return out if equal(mac, tag) else None


def _vec(data, n=2):
    """`data` after its length in `n` bytes (a TLS vector)."""
    return len(data).to_bytes(n, "big") + data


def alert_error(*args):
    """tls_psk_alert.error(number, sent=False, dtls=None): the error for an
    alert or another failure, its words (and tls_rare's) loaded only then."""
    from twinsock_port.tls_psk_alert import error

    return error(*args)


def features():
    return {
        "tls": False,
        "dtls": True,
        "psk": True,
        "session_resumption": True,
        "connection_id": True,
        "dane": False,
    }


def ciphersuites():
    """The IANA ids of the suites this engine speaks, sorted."""
    return sorted(NAMES)


def Engine(
    sock,
    config,
    dtls=True,
    server_side=False,
    server_hostname=None,
    session=None,
    handshake_timeouts=None,
    mtu=1400,
    client_id=None,
    pending_datagram=None,
):
    """A DTLS 1.2 PSK session (Dtls; tls_psk_server's Server, loaded then,
    with `server_side`) over `sock`."""
    security = config.security
    if not dtls:
        raise alert_error("tls")
    if not hasattr(security, "identity"):
        raise alert_error("cert")
    if getattr(config, "version", 0) == 7:
        raise alert_error("1.3")
    cid = bool(getattr(config, "use_connection_id", False))
    cls = Dtls
    if server_side:
        from twinsock_port import tls_psk_server

        cls = tls_psk_server.CidServer if cid else tls_psk_server.Server
    elif cid:
        from twinsock_port.tls_psk_cid import CidDtls as cls
    engine = cls(
        security.identity,
        security.key,
        getattr(config, "ciphersuites", None),
        handshake_timeouts or (1000, 60000),
        mtu,
        session,
        client_id or b"",
    )
    engine._sock = sock
    try:
        if pending_datagram:
            engine.feed(bytes(pending_datagram))
    finally:
        engine._flush()
    return engine


class Dtls:
    """One DTLS 1.2 PSK session, the client's side. `session`: bytes from a
    previous session() to resume; `client_id`: the client's address, which a
    server binds its cookie to (tls_psk_server). With a Connection ID (RFC
    9146): CidDtls (tls_psk_cid)."""

    name = "twinsock-psk"
    server = False  # tls_psk_server's Server: True
    # ours: carried by the records we receive; b"" (tls_psk_cid's classes) until
    # one is negotiated: offer/accept a Connection ID
    rx_cid = None
    connection_id = None  # tls_psk_cid's classes: the method (tls.py asks every close)

    def __init__(
        self,
        identity,
        key,
        suites=None,
        timeouts=(1000, 60000),
        mtu=1400,
        session=None,
        client_id=b"",
    ):
        self._sock = None  # tls_psk's connected UDP socket; None: the caller sends `out`
        self._closed = False  # close() was called
        self._psk = (bytes(identity), bytes(key))  # dropped once the handshake is done
        # (loops, not comprehensions: on MicroPython each of those is a function)
        self.suites = []
        for s in suites or (_CCM_8, 0xC0A4, _CBC_SHA256):
            if s in NAMES:
                self.suites.append(s)
        if not self.suites:
            raise alert_error("suites", suites)
        # the retransmission timer: wait tmin, then double up to tmax; when a
        # wait of tmax has run out too, the handshake fails ETIMEDOUT
        self.tmin, self.tmax = timeouts
        self.timeout = None  # the current wait (ms); None: no flight in the air
        self.mtu = mtu
        self.out = []  # datagrams to send, oldest first
        self.app = []  # application records received, oldest first
        self.dropped = [0, 0, 0, 0]
        self.done = False
        self.closed = False  # the peer sent close_notify
        self.resumed = False
        self.suite = None
        self.tx_cid = None  # the peer's CID: carried by the records we send
        self._session = None
        if session and not self.server:
            from twinsock_port.tls_psk_rare import parse_session

            self._session = parse_session(session)
        self._sid = b""
        self._master = None
        self._ems = False  # both sides sent the extended_master_secret extension
        self._state = 0  # see _client/_server: which message comes next
        self._wseq = [0, 0]
        self._wepoch = 0
        self._next_rkeys = None  # the peer's keys, taken up at its CCS
        self._cbc = None  # tls_psk_cbc, when that suite is negotiated
        self._repoch = 0
        self._rmax = -1
        self._rbits = 0
        self._tx_msg = 0
        self._rx_msg = 0
        self._frag = None  # [message_seq, body, bytes still missing]: tls_psk_rare
        self._hs = bytearray()  # the handshake transcript
        self._flight = []  # (content type, body, epoch) of our flight in the air
        self._trigger = -1  # the peer's message_seq whose repeat means "resend"
        if not self.server:
            self._cr = random(32)
            self._client_hello(b"")

    def __getattr__(self, name):
        # the queries few sessions make (pending, cipher, record_overhead) are
        # tls_psk_rare's, put on the class at first use; any other name is an
        # AttributeError from there
        if name[:1] == "_":
            raise AttributeError(name)
        from twinsock_port import tls_psk_rare

        setattr(Dtls, name, getattr(tls_psk_rare, "dtls_" + name))
        return getattr(self, name)

    # -- records out ---------------------------------------------------------

    def _seal(self, kind, data, epoch, cid=b""):
        """A record; `cid`: the peer's Connection ID (tls_psk_cid)."""
        seq = self._wseq[epoch]
        self._wseq[epoch] = seq + 1
        es = epoch.to_bytes(2, "big") + seq.to_bytes(6, "big")
        if not epoch:
            return bytes((kind,)) + b"\xfe\xfd" + es + _vec(data)
        aad = self._aad(kind, es, cid, len(data))
        k = self._wkeys
        if self._cbc:
            body = self._cbc.encrypt(k, data, aad)
        else:
            body = es + k[0].encrypt(k[1] + es, data, aad)
        return bytes((kind,)) + b"\xfe\xfd" + es + cid + _vec(body)

    def _msg(self, kind, data):
        """A handshake message (unfragmented header), added to the transcript."""
        seq = self._tx_msg
        self._tx_msg = seq + 1
        n = len(data).to_bytes(3, "big")
        m = bytes((kind,)) + n + seq.to_bytes(2, "big") + b"\0\0\0" + n + data
        self._hs += m
        return m

    def _send_flight(self, flight=None):
        """Send `flight` (None: resend ours in the air), every record with a
        fresh sequence number, in as few datagrams as the MTU allows; a new
        flight starts the retransmission timer (the last flight's sender stops
        it: the handshake is done)."""
        if flight is not None:
            self._flight = flight
            self._trigger = self._rx_msg - 1
            self.start = clock.ticks_ms()  # when the flight was first sent
            self.timeout = self.tmin
            self.deadline = clock.ticks_add(self.start, self.tmin)
        # a record's and a message's headers, the worst protection, a CID
        room = max(self.mtu - 97, 32)
        dgram = b""
        for kind, body, epoch in self._flight:
            parts = (body,)
            if kind == _HS and len(body) - 12 > room:
                from twinsock_port.tls_psk_rare import fragments

                parts = fragments(body, room)
            for part in parts:
                record = self._seal(kind, part, epoch)
                if dgram and len(dgram) + len(record) > self.mtu:
                    self.out.append(dgram)
                    dgram = b""
                dgram += record
        if dgram:
            self.out.append(dgram)

    def dtls_timeout_ms(self):
        """ms until dtls_handle_timeout() is due (0: due now), None: no flight in the air."""
        if self.timeout is None:
            return None
        left = clock.ticks_diff(self.deadline, clock.ticks_ms())
        return left if left > 0 else 0

    def _fail(self, n, error=None):
        """Send fatal alert `n` and raise."""
        self.out.append(self._seal(_ALERT, bytes((2, n)), self._wepoch))
        self.timeout = None
        raise error or alert_error(n, True, self)

    # -- keys ----------------------------------------------------------------

    def _derive(self):
        cr, sr = self._cr, self._sr
        if self._master is None:
            psk = self._psk[1]
            n = len(psk)
            pms = n.to_bytes(2, "big") + bytes(n) + n.to_bytes(2, "big") + psk
            # RFC 7627 4: the extended one over the transcript up to ClientKeyExchange
            ems = self._ems
            label = b"extended master secret" if ems else b"master secret"
            self._master = prf(
                pms, label + (hashlib.sha256(self._hs).digest() if ems else cr + sr), 48
            )
        if self.suite == _CBC_SHA256:
            from twinsock_port import tls_psk_cbc

            self._cbc = tls_psk_cbc
            client, server = tls_psk_cbc.keys(self._master, sr, cr)
        else:
            kb = prf(self._master, b"key expansion" + sr + cr, 40)
            tag = 8 if self.suite == _CCM_8 else 16
            client = (Ccm(kb[:16], tag), kb[32:36])
            server = (Ccm(kb[16:32], tag), kb[36:40])
        self._wkeys, self._next_rkeys = (server, client) if self.server else (client, server)

    def _finished(self, server_side, data):
        label = b"server finished" if server_side else b"client finished"
        return prf(self._master, label + hashlib.sha256(data).digest(), 12)

    def _change_cipher(self, flight):
        """Append CCS + Finished (epoch 1) to `flight`."""
        flight.append((_CCS, b"\x01", 0))
        self._wepoch = 1
        fin = self._msg(_FIN, self._finished(self.server, self._hs))
        flight.append((_HS, fin, 1))
        return flight

    # -- records in ----------------------------------------------------------

    def feed(self, data):
        """Take one datagram from the peer: its records, each checked (epoch,
        replay window, MAC) before it counts. Raises TLSError on a fatal
        alert or a failed handshake."""
        pos = 0
        end = len(data)
        while pos + 13 <= end:
            kind = data[pos]
            cid = b""
            head = 13
            if kind == _CID:
                if not self.rx_cid:
                    self.dropped[_WRONG_EPOCH] += 1
                    return
                cid = self.rx_cid
                head += len(cid)
            if pos + head > end:
                return
            n = data[pos + head - 2] << 8 | data[pos + head - 1]
            nxt = pos + head + n
            if nxt > end or data[pos + 1] != 0xFE:
                return
            es = data[pos + 3 : pos + 11]
            body = data[pos + head : nxt]
            other = kind == _CID and data[pos + 11 : pos + 11 + len(cid)] != cid
            pos = nxt
            if other:  # a record of another connection (its CID is not ours)
                self.dropped[_WRONG_EPOCH] += 1
                continue
            epoch = es[0] << 8 | es[1]
            if epoch != self._repoch:
                self.dropped[_WRONG_EPOCH] += 1
                if epoch == 1 and not self.done and self._wepoch and self._flight:
                    # the peer is past the handshake: our last flight's answer,
                    # its CCS, was lost (a resumed server waiting on the client's)
                    self._send_flight()
                continue
            seq = int.from_bytes(es[2:], "big")
            off = self._rmax - seq
            if off >= 64:
                self.dropped[_TOO_OLD] += 1
                continue
            if off >= 0 and self._rbits >> off & 1:
                self.dropped[_REPLAYED] += 1
                continue
            if epoch:
                plain = self._open(kind, es, body, cid)
                if plain is None:
                    self.dropped[_BAD_MAC] += 1
                    if not self.done:
                        # our peer derived other keys: a different PSK
                        self._fail(20)
                    continue
                kind, body = plain
            if off < 0:
                self._rbits = (self._rbits << -off | 1) & 0xFFFFFFFFFFFFFFFF
                self._rmax = seq
            else:
                self._rbits |= 1 << off
            if kind == _APP:
                if self.done and len(body):
                    self.app.append(body)
            elif kind == _HS:
                self._handshake_records(body)
            elif kind == _CCS:
                if self._next_rkeys is not None and self._repoch == 0:
                    self._rkeys = self._next_rkeys
                    self._next_rkeys = None
                    self._repoch = 1
                    self._rmax = -1
                    self._rbits = 0
            elif kind == _ALERT and len(body) >= 2:
                if body[1] == 0:
                    self.closed = True
                    if not self.done:
                        raise alert_error(0)
                elif body[0] == 2 or not self.done:
                    self.timeout = None
                    raise alert_error(body[1], False, self)

    def _open(self, kind, es, data, cid):
        """(content type, plaintext) of a protected record, or None."""
        k = self._rkeys
        if self._cbc:
            plain = self._cbc.decrypt(k, data, self, kind, es, cid)
        else:
            n = len(data) - 24 + (self.suite == _CCM_8) * 8
            if n < 0:
                return None
            plain = k[0].decrypt(k[1] + data[:8], data[8:], self._aad(kind, es, cid, n))
        if plain is None:
            return None
        return kind, plain

    def _aad(self, kind, es, cid, n):
        return es + bytes((kind,)) + b"\xfe\xfd" + n.to_bytes(2, "big")

    def _handshake_records(self, data):
        pos = 0
        while pos + 12 <= len(data):
            kind = data[pos]
            length = int.from_bytes(data[pos + 1 : pos + 4], "big")
            mseq = data[pos + 4] << 8 | data[pos + 5]
            foff = int.from_bytes(data[pos + 6 : pos + 9], "big")
            flen = int.from_bytes(data[pos + 9 : pos + 12], "big")
            frag = data[pos + 12 : pos + 12 + flen]
            pos += 12 + flen
            if len(frag) != flen or foff + flen > length:
                return
            if self.server and self._state == 0 and kind == _CH:
                self._rx_msg = mseq  # stateless until the cookie matches
            if mseq < self._rx_msg:
                if mseq == self._trigger and self._flight:
                    # the peer repeats the flight ours answered: ours was lost
                    self._send_flight()
                continue
            if mseq > self._rx_msg:
                continue  # ahead of a lost message: the peer sends its flight again
            if foff == 0 and flen == length:
                message = frag
            else:
                from twinsock_port.tls_psk_rare import reassemble

                message = reassemble(self, mseq, length, foff, frag)
                if message is None:
                    continue
            self._rx_msg += 1
            n = length.to_bytes(3, "big")
            before = len(self._hs)
            self._hs += bytes((kind,)) + n + mseq.to_bytes(2, "big") + b"\0\0\0" + n + message
            try:
                self._handle(kind, bytes(message), before)
            except (IndexError, ValueError):
                self._fail(50)  # decode_error

    # -- the handshake -------------------------------------------------------

    def _client_hello(self, data):
        """Send our ClientHello, with cookie `data` from the server."""
        suites = b""
        for s in self.suites:
            suites += s.to_bytes(2, "big")
        suites += b"\x00\xff"  # + SCSV (RFC 5746)
        ext = b"\0\x17\0\0"  # extended_master_secret (RFC 7627)
        if self.rx_cid is not None:
            # connection_id (54) with an empty CID of ours: we need none, the
            # server tells sessions apart
            ext += b"\0\x36\0\x01\0"
        sid = self._session[1] if self._session else b""
        body = b"\xfe\xfd" + self._cr + _vec(sid, 1) + _vec(data, 1) + _vec(suites) + b"\x01\x00"
        body += _vec(ext)
        self._send_flight([(_HS, self._msg(_CH, body), 0)])

    def _handle(self, kind, data, before):
        """The client's side of the handshake (tls_psk_server: the server's)."""
        state = self._state
        if kind == _HVR and state == 0:
            self._hs = bytearray()  # RFC 6347 4.2.1: neither hello counts
            self._client_hello(data[3 : 3 + data[2]])
        elif kind == _SH and state == 0:
            self._sr = data[2:34]
            sid = data[35 : 35 + data[34]]
            at = 35 + data[34]
            suite = data[at] << 8 | data[at + 1]
            if suite not in self.suites:
                self._fail(47)
            self.suite = suite
            self._sid = sid
            self._extensions(data[at + 3 :])
            self._state = 1
            if self._session:
                from twinsock_port.tls_psk_rare import resume

                resume(self)
        elif kind == _SKE and state == 1:
            pass  # a PSK identity hint: we have one identity
        elif kind == _SHD and state == 1:
            flight = [(_HS, self._msg(_CKE, _vec(self._psk[0])), 0)]
            self._derive()  # after the ClientKeyExchange: EMS hashes it
            self._send_flight(self._change_cipher(flight))
            self._state = 2
        elif kind == _FIN and state == 2 and self._repoch == 1:
            if not equal(data, self._finished(True, self._hs[:before])):
                self._fail(51)
            if self.resumed:
                self._send_flight(self._change_cipher([]))
            self.done = True
            self.timeout = None  # no timer after the last flight
            # what only the handshake needed: heap, and no PSK kept past its use
            self._hs = self._frag = self._cr = self._sr = self._session = self._psk = None
        else:
            self._fail(10)

    def _extensions(self, data):
        """Take the peer's CID from its hello's extensions; True when it sent
        renegotiation_info (RFC 5746)."""
        pos = 2
        secure = False
        while pos + 4 <= len(data):
            etype = data[pos] << 8 | data[pos + 1]
            n = data[pos + 2] << 8 | data[pos + 3]
            value = data[pos + 4 : pos + 4 + n]
            pos += 4 + n
            if etype == _EXT_CID and self.rx_cid is not None and value:
                self.tx_cid = bytes(value[1 : 1 + value[0]]) or None
                if self.server:
                    self.rx_cid = random(6)
            secure |= etype == 0xFF01
            self._ems |= etype == _EXT_EMS
        return secure

    # -- the engine interface (tls.py) ----------------------------------------

    def _flush(self):
        """Send what collects in `out` on our socket (none: the caller does)."""
        out = self.out
        while out and self._sock:
            try:
                self._sock.send(out.pop(0))
            except OSError as e:
                # a non-blocking socket with nothing to do: EAGAIN (Linux, BSD),
                # EINPROGRESS (Linux, newlib); a lost datagram is resent by the timer
                if e.args[0] not in (11, 35, 115, 119):
                    raise alert_error("send", e)

    def _pump(self):
        """Take one datagram from our socket; False when none is waiting."""
        try:
            # the largest datagram read in one piece: recv allocates its size, and a
            # board's heap has no 16 KB to spare (mbedTLS's engine reads 2 KB too)
            data = self._sock.recv(2048 if sys.implementation.name == "micropython" else 16896)
        except OSError as e:
            if e.args[0] in (11, 35, 115, 119):  # as in _flush
                return False
            raise alert_error("receive", e)
        try:
            self.feed(data)
        except NetError as e:
            if getattr(e, "alert", None) != 0:
                raise
            # a close during the handshake: the fatal alert behind it says why
            raise alert_error("late", data, self)
        finally:
            self._flush()  # our answer, or the alert that ends the session
        return True

    def handshake_step(self):
        while not self.done:
            if not self._pump():
                return "read"
        return None

    def dtls_handle_timeout(self):
        """The retransmission timer ran out: resend our flight, or raise
        ETIMEDOUT after the longest wait."""
        try:
            if self.dtls_timeout_ms() != 0:
                return
            now = clock.ticks_ms()
            if self.timeout >= self.tmax:
                self.timeout = None
                raise alert_error(None, (clock.ticks_diff(now, self.start), self._wepoch > 0))
            self.timeout = min(self.timeout * 2, self.tmax)
            self.deadline = clock.ticks_add(now, self.timeout)
            self._send_flight()
        finally:
            self._flush()

    def recv_into(self, buf, nbytes=0):
        while not self.app:
            if self.closed:
                return 0
            if not self._pump():
                return None
        record = self.app.pop(0)
        n = min(nbytes or len(buf), len(record))
        buf[:n] = record[:n]
        if len(record) > n:
            from twinsock.errors import MessageTruncated

            raise MessageTruncated(n)
        return n

    def send(self, data):
        if self._closed:
            raise alert_error("closed")
        if not self.done:
            raise alert_error("early")
        if len(data) > 16384:
            raise alert_error("size", len(data))
        self.out.append(self._seal(_APP, bytes(data), 1))
        self._flush()
        return len(data)

    def close(self):
        """close_notify when the session is up; never blocks."""
        if self._closed:
            return
        self._closed = True
        if self.done and not self.closed:
            self.out.append(self._seal(_ALERT, b"\1\0", 1))  # close_notify
        self.closed = True
        try:
            self._flush()
        except NetError:
            pass

    def session(self):
        """The session for a later resumption (client), or None."""
        if not self.done or self.server or not self._sid:
            return None
        return (
            bytes((1 + self._ems,))
            + self.suite.to_bytes(2, "big")
            + _vec(self._sid, 1)
            + self._master
        )

    def session_resumed(self):
        return self.done and self.resumed
