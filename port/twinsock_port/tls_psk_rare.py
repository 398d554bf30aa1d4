# The rarely used parts of the PSK engine (tls_psk), loaded on first use:
# a session to resume, a handshake message too big for one datagram, and the
# queries (Dtls.pending/cipher/record_overhead, served by Dtls.__getattr__).


def parse_session(blob):
    """(suite, session id, master secret, extended master secret) or None.
    Layout: 1 (2 with EMS), suite, session id<1>, master secret (48)."""
    if not blob or blob[0] not in (1, 2) or len(blob) < 5:
        return None
    n = blob[3]
    if len(blob) != 4 + n + 48:
        return None
    return (blob[1] << 8 | blob[2], bytes(blob[4 : 4 + n]), bytes(blob[4 + n :]), blob[0] == 2)


def resume(dtls):
    """After the ServerHello: when the server took up our session, its keys,
    and its CCS + Finished come next (state 2)."""
    s = dtls._session
    if dtls._sid and s[1] == dtls._sid and s[0] == dtls.suite:
        if s[3] != dtls._ems:  # RFC 7627 5.3: the same session, the same secret
            dtls._fail(40)
        dtls._master = s[2]
        dtls.resumed = True
        dtls._derive()
        dtls._state = 2


def reassemble(dtls, mseq, length, foff, frag):
    """The whole message once every fragment of `mseq` is in, else None."""
    f = dtls._frag
    if f is None or f[0] != mseq:
        # the still-missing ranges as one bytearray of flags per byte
        f = dtls._frag = [mseq, bytearray(length), bytearray(b"\1" * length)]
    f[1][foff : foff + len(frag)] = frag
    f[2][foff : foff + len(frag)] = bytes(len(frag))
    if any(f[2]):
        return None
    dtls._frag = None
    return f[1]


def fragments(message, room):
    """Handshake `message` as fragments of at most `room` body bytes each."""
    whole = message[12:]
    parts = []
    for off in range(0, len(whole), room):
        piece = whole[off : off + room]
        head = off.to_bytes(3, "big") + len(piece).to_bytes(3, "big")
        parts.append(message[:6] + head + piece)
    return parts


# -- the queries: Dtls methods, put on the class at their first use


def dtls_pending(dtls):
    return len(dtls.app[0]) if dtls.app else 0


def dtls_cipher(dtls):
    from twinsock_port.tls_psk import NAMES

    return NAMES.get(dtls.suite) if dtls.done else None


def dtls_record_overhead(dtls):
    """Bytes a record adds to its payload (worst case); None before the handshake."""
    if dtls.done:
        # header (+ CID and its type byte); CBC: IV, MAC, padding; CCM:
        # explicit nonce and a 16- or 8-byte tag
        cid = dtls.tx_cid
        return (
            13
            + (len(cid) + 1 if cid else 0)
            + (64 if dtls._cbc else 24 - 8 * (dtls.suite == 0xC0A8))
        )
    return None
