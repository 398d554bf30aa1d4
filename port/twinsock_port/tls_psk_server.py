# The server side of twinsock's DTLS-PSK engine (tls_psk), for tests and host
# use: loaded only when a server session starts, so a device's client never
# pays for it. A stateless HelloVerifyRequest cookie first, then the full or
# (from a session id it keeps) abbreviated handshake. CidServer: with a
# Connection ID (RFC 9146).
from twinsock_port.tls_psk import Dtls, _vec, equal, hmac, random
from twinsock_port.tls_psk_cid import Cid

# as in tls_psk (its const() names are no module attributes on MicroPython)
_HS, _CH, _SH, _HVR, _SHD, _CKE, _FIN = 22, 1, 2, 3, 14, 16, 20

_CACHE = {}  # session id -> (suite, master secret), the last few


class Server(Dtls):
    server = True

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
        super().__init__(identity, key, suites, timeouts, mtu)
        self._client_id = client_id  # the client's address: what its cookie is bound to
        self._secret = random(16)

    def _cookie(self, client_random):
        return hmac(self._secret, self._client_id + client_random)[:16]

    def _handle(self, kind, data, before):
        state = self._state
        if kind == _CH and state == 0:
            cr = data[2:34]
            at = 34
            sid = data[at + 1 : at + 1 + data[at]]
            at += 1 + data[at]
            cookie = data[at + 1 : at + 1 + data[at]]
            at += 1 + data[at]
            n = data[at] << 8 | data[at + 1]
            offered = [data[i] << 8 | data[i + 1] for i in range(at + 2, at + 2 + n, 2)]
            at += 2 + n
            at += 1 + data[at]
            self._tx_msg = self._rx_msg - 1  # RFC 6347 4.2.2: answer in step
            if not equal(cookie, self._cookie(cr)):
                hvr = self._msg(_HVR, b"\xfe\xfd" + _vec(self._cookie(cr), 1))
                self._hs = bytearray()  # RFC 6347 4.2.1: neither hello counts
                self.out.append(self._seal(_HS, hvr, 0))
                return
            suite = None
            for s in offered:
                if s in self.suites:
                    suite = s
                    break
            if suite is None:
                self._fail(40)
            self.suite = suite
            self._cr = cr
            self._sr = random(32)
            ext = b""
            if self._extensions(data[at:]) or 0x00FF in offered:
                ext = b"\xff\x01\x00\x01\x00"  # an empty renegotiation_info (RFC 5746)
            if self._ems:
                ext += b"\0\x17\0\0"  # extended_master_secret (RFC 7627)
            if self.rx_cid:
                ext += b"\0\x36" + _vec(_vec(self.rx_cid, 1))
            if ext:
                ext = _vec(ext)
            cached = _CACHE.get(bytes(sid)) if sid else None
            if cached and cached[0] == suite and cached[2] == self._ems:
                self._sid = bytes(sid)
                self._master = cached[1]
                self.resumed = True
            else:
                self._sid = random(32)
            sh = (
                b"\xfe\xfd" + self._sr + _vec(self._sid, 1) + suite.to_bytes(2, "big") + b"\0" + ext
            )
            flight = [(_HS, self._msg(_SH, sh), 0)]
            if self.resumed:
                self._derive()
                self._send_flight(self._change_cipher(flight))
                self._state = 3
            else:
                flight.append((_HS, self._msg(_SHD, b""), 0))
                self._send_flight(flight)
                self._state = 1
        elif kind == _CKE and state == 1:
            identity = data[2 : 2 + (data[0] << 8 | data[1])]
            if not equal(identity, self._psk[0]):
                self._fail(115)
            self._derive()
            self._state = 2
        elif kind == _FIN and state in (2, 3) and self._repoch == 1:
            if not equal(data, self._finished(False, self._hs[:before])):
                self._fail(51)
            if state == 2:
                self._send_flight(self._change_cipher([]))
                if len(_CACHE) >= 4:
                    _CACHE.pop(next(iter(_CACHE)))
                _CACHE[self._sid] = (self.suite, self._master, self._ems)
            self.done = True  # as the client's Dtls._handle
            self.timeout = None  # no timer after the last flight
            self._hs = self._frag = self._cr = self._sr = self._session = self._psk = None
        else:
            self._fail(10)


class CidServer(Cid, Server):
    pass
