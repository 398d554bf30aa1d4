# Connection ID (RFC 9146) for the PSK engine (tls_psk): loaded only when a
# session is configured with use_connection_id, so other sessions never hold
# this code. Cid goes before Dtls (or tls_psk_server's Server) in a class's
# bases: it wraps the records that carry a CID and gives the engine calls that
# only a CID session has (connection_id, adopt).
from twinsock_port.tls_psk import Dtls

_CID = 25  # tls12_cid, the content type of a record with a CID


class Cid:
    rx_cid = b""  # ours: none until negotiated (tls_psk.Dtls)

    def _seal(self, kind, data, epoch, cid=b""):
        cid = self.tx_cid
        if epoch and cid:  # RFC 9146: the real type inside, a placeholder-led aad
            return Dtls._seal(self, _CID, data + bytes((kind,)), epoch, cid)
        return Dtls._seal(self, kind, data, epoch)

    def _aad(self, kind, es, cid, n):
        if kind == _CID:
            # RFC 9146 section 5: placeholder, tls12_cid, cid_length, tls12_cid, ...
            return (
                b"\xff" * 8
                + bytes((_CID, len(cid), _CID))
                + b"\xfe\xfd"
                + es
                + cid
                + n.to_bytes(2, "big")
            )
        return Dtls._aad(self, kind, es, cid, n)

    def _open(self, kind, es, data, cid):
        plain = Dtls._open(self, kind, es, data, cid)
        if plain is None or kind != _CID:
            return plain
        # the inner plaintext: content, the real type, zeros
        inner = bytes(plain[1]).rstrip(b"\0")
        if not inner:
            return None
        return inner[-1], inner[:-1]

    def connection_id(self):
        """The CID the peer gave us, when one was negotiated."""
        return self.tx_cid if self.done else None

    def adopt(self, sock):
        """Carry on the session over `sock` (a new socket, maybe a new source
        port): the peer finds it by its Connection ID."""
        self._sock = sock
        self._closed = False


class CidDtls(Cid, Dtls):
    pass
