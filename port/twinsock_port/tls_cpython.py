# The CPython TLS/DTLS engine: pyOpenSSL (OpenSSL bundled with `cryptography`).
#
# One engine covers TLS and DTLS, certificates, CRLs, PSK, session resumption,
# minimum version and ciphersuites on CPython 3.10-3.13. pyOpenSSL has no PSK
# API, but the OpenSSL binding it ships with (OpenSSL._util.lib) declares the
# PSK callbacks; `_install_psk` sets them, as the pyopenssl-psk package does.
#
# TLS runs OpenSSL directly on the (non-blocking, connected) TCP socket. DTLS
# runs on memory BIOs: every datagram in and out passes through this engine,
# which is what lets tls_common.Flight renumber and resend its flights:
# OpenSSL's timer always starts at 1 s and cannot be changed from Python.
import errno as _errno

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto
from OpenSSL._util import ffi as _ffi, lib as _lib
from twinsock.errors import MessageTruncated, NetError, TLSError, unsupported

from twinsock_port import tls_common as common

_TLS1_2 = 0x0303
_TLS1_3 = 0x0304
_DTLS1_2 = 0xFEFD
_TLS_DEFAULT = 0
_VERSION_TLSv1_2 = 6
_VERSION_TLSv1_3 = 7

# OpenSSL X509_V_ERR_* -> the reason words tls_common.verify_error knows
_VERIFY_REASONS = {
    9: "not_yet_valid",
    10: "expired",
    18: "unknown_ca",
    19: "unknown_ca",
    20: "unknown_ca",
    21: "unknown_ca",
    23: "revoked",
    62: "hostname",
    64: "hostname",
}

_MAX_DATAGRAM = 16384 + 2048


_available = None


def available_suites():
    """The OpenSSL names of every suite this OpenSSL build has."""
    global _available
    if _available is None:
        ctx = SSL.Context(SSL.TLS_METHOD)
        ctx.set_cipher_list(b"ALL:@SECLEVEL=0")
        _available = SSL.Connection(ctx, None).get_cipher_list()
    return _available


def ciphersuites():
    """The IANA ids of the table's suites this engine can negotiate."""
    from twinsock_port.tls_suites import SUITES

    have = available_suites()
    return sorted(i for i in SUITES if SUITES[i][1] in have)


def features():
    return {
        "tls": True,
        "dtls": True,
        "psk": hasattr(_lib, "SSL_CTX_set_psk_client_callback"),
        "session_resumption": True,
        "connection_id": False,
        "dane": False,
    }


def _pem_or_der_list(blobs, pem_loader, der_loader):
    if blobs is None:
        return []
    if isinstance(blobs, (bytes, bytearray, memoryview)):
        blobs = (blobs,)
    out = []
    for blob in blobs:
        blob = bytes(blob)
        if b"-----BEGIN" in blob:
            out.extend(pem_loader(blob))
        else:
            out.append(der_loader(blob))
    return out


def _load_certs(blobs):
    return _pem_or_der_list(blobs, x509.load_pem_x509_certificates, x509.load_der_x509_certificate)


def _load_crls(blobs):
    def pem_crls(blob):
        parts = blob.split(b"-----END X509 CRL-----")
        return [
            x509.load_pem_x509_crl(p + b"-----END X509 CRL-----\n") for p in parts if b"BEGIN" in p
        ]

    return _pem_or_der_list(blobs, pem_crls, x509.load_der_x509_crl)


def _load_key(blob):
    blob = bytes(blob)
    if b"-----BEGIN" in blob:
        return serialization.load_pem_private_key(blob, None)
    return serialization.load_der_private_key(blob, None)


def _reason_words(error):
    """The OpenSSL reason strings of an SSL.Error, lower case."""
    words = []
    for item in error.args[0] if error.args and isinstance(error.args[0], list) else ():
        if isinstance(item, tuple) and item:
            words.append(str(item[-1]).lower())
    return words


class OpenSSLEngine:
    """A (D)TLS session over a connected, non-blocking socket. See
    docs/TLS_ENGINES.md for the contract."""

    name = "openssl"

    def __init__(
        self,
        sock,
        config,
        dtls=False,
        server_side=False,
        server_hostname=None,
        session=None,
        handshake_timeouts=None,
        mtu=1400,
        client_id=None,
        pending_datagram=None,
    ):
        self._sock = sock
        self._config = config
        self._dtls = dtls
        self._server_side = server_side
        self._hostname = server_hostname
        self._mtu = mtu
        self._psk = hasattr(config.security, "identity")
        self._psk_callback = None  # keeps the cffi callback alive
        self._done = False
        self._closed = False
        self._broken = None  # the error that ended the connection, raised again after
        self._flight = common.Flight(handshake_timeouts)
        self._alert = None  # a fatal alert the peer sent during the handshake
        self._rbuf = bytearray(_MAX_DATAGRAM)
        context = self._make_context()
        if dtls:
            self._conn = SSL.Connection(context, None)
            _lib.SSL_set_options(self._conn._ssl, _lib.SSL_OP_NO_QUERY_MTU)
            self._conn.set_ciphertext_mtu(mtu)
        else:
            self._conn = SSL.Connection(context, sock)
        if pending_datagram:
            self._conn.bio_write(bytes(pending_datagram))
        if server_side:
            self._conn.set_accept_state()
        else:
            self._conn.set_connect_state()
            self._set_peer_name()
            if session:
                self._set_session(session)

    # ---- configuration -------------------------------------------------

    def _make_context(self):
        config = self._config
        if self._dtls:
            method = SSL.DTLS_SERVER_METHOD if self._server_side else SSL.DTLS_CLIENT_METHOD
        else:
            method = SSL.TLS_SERVER_METHOD if self._server_side else SSL.TLS_CLIENT_METHOD
        ctx = SSL.Context(method)
        version = getattr(config, "version", _TLS_DEFAULT)
        if self._dtls:
            if version == _VERSION_TLSv1_3:
                raise unsupported("DTLS 1.3 is not available in the OpenSSL engine")
            ctx.set_min_proto_version(_DTLS1_2)
        elif version == _VERSION_TLSv1_3:
            ctx.set_min_proto_version(_TLS1_3)
        else:
            ctx.set_min_proto_version(_TLS1_2)
        ctx.set_session_cache_mode(SSL.SESS_CACHE_CLIENT if not self._server_side else 0x2)
        security = config.security
        if self._psk:
            self._install_psk(ctx, security.identity, security.key)
        else:
            self._install_certs(ctx, security)
        self._install_ciphersuites(ctx, getattr(config, "ciphersuites", None))
        return ctx

    def _install_psk(self, ctx, identity, key):
        identity = bytes(identity)
        key = bytes(key)
        if self._server_side:

            def server_cb(ssl, peer_identity, psk_out, max_len):
                if peer_identity == _ffi.NULL or _ffi.string(peer_identity) != identity:
                    return 0
                if len(key) > max_len:
                    return 0
                _ffi.memmove(psk_out, key, len(key))
                return len(key)

            self._psk_callback = _ffi.callback(
                "unsigned int(SSL *, char *, unsigned char *, unsigned int)", server_cb
            )
            _lib.SSL_CTX_set_psk_server_callback(ctx._context, self._psk_callback)
            # TLS 1.3 PSK through the legacy callbacks needs a session cb;
            # keep PSK on TLS 1.2, as the LwM2M peers use it.
            ctx.set_max_proto_version(_DTLS1_2 if self._dtls else _TLS1_2)
        else:

            def client_cb(ssl, hint, identity_out, max_identity, psk_out, max_psk):
                if len(identity) + 1 > max_identity or len(key) > max_psk:
                    return 0
                _ffi.memmove(identity_out, identity + b"\0", len(identity) + 1)
                _ffi.memmove(psk_out, key, len(key))
                return len(key)

            self._psk_callback = _ffi.callback(
                "unsigned int(SSL *, char *, char *, unsigned int, unsigned char *, unsigned int)",
                client_cb,
            )
            _lib.SSL_CTX_set_psk_client_callback(ctx._context, self._psk_callback)
            ctx.set_max_proto_version(_DTLS1_2 if self._dtls else _TLS1_2)
        ctx.set_cipher_list(b"PSK")
        ctx.set_verify(SSL.VERIFY_NONE, None)

    def _install_certs(self, ctx, info):
        trusted = _load_certs(getattr(info, "trusted_certs", ()))
        store = ctx.get_cert_store()
        for cert in trusted:
            store.add_cert(crypto.X509.from_cryptography(cert))
        crls = _load_crls(getattr(info, "crls", ()))
        for crl in crls:
            store.add_crl(crl)
        if crls:
            store.set_flags(crypto.X509StoreFlags.CRL_CHECK)
        own_cert = getattr(info, "client_cert", None)
        own_key = getattr(info, "client_key", None)
        if own_cert is not None:
            chain = _load_certs(own_cert)
            ctx.use_certificate(chain[0])
            for extra in chain[1:]:
                ctx.add_extra_chain_cert(crypto.X509.from_cryptography(extra))
            if own_key is None:
                raise TLSError("CertInfo.client_cert given without client_key")
            ctx.use_privatekey(_load_key(own_key))
        validate = getattr(info, "server_cert_validation", True)
        if self._server_side:
            # A server asks for a client certificate when it has CAs to check it.
            if validate and trusted:
                ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, None)
            else:
                ctx.set_verify(SSL.VERIFY_NONE, None)
        elif validate:
            if not trusted:
                raise TLSError(
                    "certificate validation is on but CertInfo.trusted_certs is empty; "
                    "give the CA, or server_cert_validation=False"
                )
            ctx.set_verify(SSL.VERIFY_PEER, None)
        else:
            ctx.set_verify(SSL.VERIFY_NONE, None)

    def _install_ciphersuites(self, ctx, ids):
        if not ids:
            return
        from twinsock_port.tls_suites import pick_suites

        names = pick_suites(ids, 1, available_suites(), "OpenSSL")
        tls12 = [n for n in names if not n.startswith("TLS_")]
        tls13 = [n for n in names if n.startswith("TLS_")]
        try:
            if tls12:
                # suites asked for by id are wanted even where OpenSSL's
                # default security level disables them (CCM_8: 64-bit tags,
                # the LwM2M mandatory suite)
                ctx.set_cipher_list((":".join(tls12) + ":@SECLEVEL=0").encode())
            else:
                ctx.set_cipher_list(b"PSK" if self._psk else b"DEFAULT")
            if tls13:
                _lib.SSL_CTX_set_ciphersuites(ctx._context, ":".join(tls13).encode())
            elif not self._dtls:
                ctx.set_max_proto_version(_TLS1_2)  # TLS 1.3 would pick its own suites
        except SSL.Error:
            raise unsupported("OpenSSL rejected the ciphersuite list %s" % names)

    def _set_peer_name(self):
        name = self._hostname
        if not name:
            return
        param = _lib.SSL_get0_param(self._conn._ssl)
        if common.is_ip_literal(name):
            import ipaddress

            packed = ipaddress.ip_address(name).packed
            _lib.X509_VERIFY_PARAM_set1_ip(param, packed, len(packed))
        else:
            self._conn.set_tlsext_host_name(name.encode("idna"))
            encoded = name.encode()
            _lib.X509_VERIFY_PARAM_set1_host(param, encoded, len(encoded))

    def _set_session(self, blob):
        blob = bytes(blob)
        buf = _ffi.new("unsigned char[]", blob)
        pointer = _ffi.new("unsigned char **", buf)
        sess = _lib.d2i_SSL_SESSION(_ffi.NULL, pointer, len(blob))
        if sess == _ffi.NULL:
            return  # a stale or foreign blob: do a full handshake
        _lib.SSL_set_session(self._conn._ssl, sess)
        _lib.SSL_SESSION_free(sess)

    # ---- handshake -----------------------------------------------------

    def handshake_step(self):
        """Advance the handshake: None when done, else "read"/"write": wait
        until the socket is readable/writable (or dtls_timeout_ms passed)."""
        if self._done:
            return None
        conn = self._conn
        while True:
            try:
                conn.do_handshake()
            except SSL.WantReadError:
                if self._dtls:
                    self._send_flight()
                    if not self._feed_datagram():
                        return "read"
                    continue
                return "read"
            except SSL.WantWriteError:
                return "write"
            except SSL.Error as error:
                raise self._handshake_error(error)
            if self._dtls:
                self._send_flight()
                self._flight.stop()
            self._done = True
            return None

    def dtls_timeout_ms(self):
        """Milliseconds until dtls_handle_timeout() is due, 0 if due, None
        when no DTLS flight waits for an answer."""
        if self._done:
            return None
        ours = self._flight.remaining_ms()
        library = self._library_timeout_ms()
        if library is not None and (ours is None or library < ours):
            return library
        return ours

    def _library_timeout_ms(self):
        # In an encrypted flight OpenSSL's own resends matter (see
        # _send_flight): wake up for its timer too.
        if not self._dtls or not self._flight.epoch:
            return None
        left = self._conn.DTLSv1_get_timeout()
        return None if left is None else int(left * 1000)

    def dtls_handle_timeout(self):
        """Resend the flight in the air if its timer ran out; raise
        TLSError(ETIMEDOUT) after the longest wait."""
        if self._done:
            return
        if self._library_timeout_ms() == 0:
            try:
                self._conn.DTLSv1_handle_timeout()
            except SSL.Error as error:
                raise self._handshake_error(error)
            self._send_flight()
        if self._flight.remaining_ms() != 0:
            return
        for datagram in self._flight.expire(self._psk):
            self._send_datagram(datagram)

    def _feed_datagram(self):
        try:
            n = self._sock.recv_into(self._rbuf)
        except BlockingIOError:
            return False
        except OSError as e:
            raise NetError(e.errno or _errno.EIO, "DTLS backend receive failed: %s" % e)
        data = bytes(memoryview(self._rbuf)[:n])
        if not self._done:
            self._alert = common.fatal_alert(data) or self._alert
        self._conn.bio_write(data)
        return True

    def _take_output(self):
        out = b""
        while True:
            try:
                out += self._conn.bio_read(_MAX_DATAGRAM)
            except SSL.WantReadError:
                return out

    def _send_datagram(self, datagram):
        try:
            self._sock.send(datagram)
        except BlockingIOError:
            pass  # a full send queue is a lost datagram: the timer resends it
        except OSError as e:
            raise NetError(e.errno or _errno.EIO, "DTLS backend send failed: %s" % e)

    def _send_flight(self):
        """Send what OpenSSL wrote: during the handshake through the flight
        keeping of tls_common.Flight (renumbered, new flight or resend)."""
        out = self._take_output()
        if not out:
            return
        flight = self._flight
        flight.mode = 0
        for datagram in common.pack(out, self._mtu):
            if self._done:
                flight._number(datagram)  # a late resend of our last flight
                self._send_datagram(datagram)
            elif flight.take(datagram):
                self._send_datagram(datagram)

    def _flush_alert(self):
        if self._dtls:
            try:
                out = self._take_output()
            except SSL.Error:
                return
            for datagram in common.pack(out, self._mtu):
                self._flight._number(datagram)
                try:
                    self._sock.send(datagram)
                except OSError:
                    pass

    def _handshake_error(self, error):
        self._flush_alert()
        if self._dtls:
            alert = self._alert
            if isinstance(error, (SSL.ZeroReturnError, SSL.SysCallError)):
                alert = common.rare().late_alert(self._sock, alert)
            if alert is not None:
                # a client that has sent no ChangeCipherSpec has not used its key yet
                hello = not self._server_side and not self._flight.ccs
                return common.rare().alert_error(alert, psk=self._psk, hello=hello)
        if isinstance(error, SSL.ZeroReturnError):
            return common.rare().closed_error()
        if isinstance(error, SSL.SysCallError):
            code = error.args[0] if error.args else None
            if code in (-1, 0) or code == _errno.ECONNRESET:
                return common.rare().closed_error(lib_code=code)
            if isinstance(code, int) and code > 0:
                return TLSError(
                    "handshake failed: %s" % (error.args[1] if len(error.args) > 1 else code),
                    code=code,
                    lib_code=code,
                )
            return common.rare().closed_error(lib_code=code)
        words = _reason_words(error)
        text = "; ".join(words)
        verify = _lib.SSL_get_verify_result(self._conn._ssl)
        if verify != 0 and any("certificate verify failed" in w for w in words):
            reason = _VERIFY_REASONS.get(verify)
            if reason is None:
                reason = _ffi.string(_lib.X509_verify_cert_error_string(verify)).decode()
            return common.rare().verify_error(reason, self._hostname, lib_code=verify)
        for word in words:
            if " alert " in " %s " % word and "alert" in word:
                name = word.split("alert", 1)[1].strip().replace(" ", "_")
                from twinsock_port.tls_suites import ALERTS

                for number in ALERTS:
                    if ALERTS[number] == name:
                        return common.rare().alert_error(number, psk=self._psk)
        for word in words:
            if (
                "wrong version number" in word
                or "packet length too long" in word
                or "record layer failure" in word
                or "http request" in word
                or "unknown protocol" in word
                or "record length mismatch" in word
            ):
                return common.rare().not_tls_error()
            if "unexpected eof" in word:
                return common.rare().closed_error()
            if "unsupported protocol" in word or "version too low" in word:
                return TLSError(
                    "TLS version too low: the peer offers only versions below the "
                    "configured minimum (%s)" % word
                )
            if "no shared cipher" in word or "no ciphers available" in word:
                return TLSError("handshake failed: no ciphersuite shared with the peer (%s)" % word)
            if self._psk and ("psk identity not found" in word or "bad decrypt" in word):
                return TLSError("PSK identity rejected (%s)" % word)
            if self._psk and ("decryption failed" in word or "digest check failed" in word):
                return TLSError("PSK identity rejected: wrong identity or key (%s)" % word)
        return TLSError("handshake failed: %s" % (text or error))

    # ---- data ----------------------------------------------------------

    def recv_into(self, buf, nbytes=0):
        """Decrypted bytes into `buf`: n, 0 when the peer closed cleanly, None
        when it would block. DTLS: one record; raises MessageTruncated (after
        filling buf) when the record was larger."""
        if self._broken is not None:  # OpenSSL has no words for it a second time
            raise self._broken
        size = nbytes or len(buf)
        conn = self._conn
        while True:
            try:
                n = conn.recv_into(buf, size)
            except SSL.WantReadError:
                if self._dtls:
                    self._send_flight()
                    if self._feed_datagram():
                        continue
                return None
            except SSL.WantWriteError:
                return None
            except SSL.ZeroReturnError:
                return 0
            except SSL.SysCallError as error:
                code = error.args[0] if error.args else -1
                if code in (-1, 0):
                    return 0  # EOF without close_notify: the peer is gone
                self._broken = NetError(code, "TLS receive failed: %s" % (error,))
                raise self._broken
            except SSL.Error as error:
                raise TLSError("TLS receive failed: %s" % "; ".join(_reason_words(error)))
            if self._dtls:
                self._send_flight()
                left = conn.pending()
                if left:
                    while conn.pending():
                        conn.recv(conn.pending())
                    raise MessageTruncated(n)
            return n

    def send(self, data):
        """Encrypt and send: n bytes taken, or None when it would block.
        DTLS: one record, one datagram."""
        if not len(data):
            return 0  # SSL_write of 0 bytes is an error in OpenSSL
        if self._broken is not None:
            raise self._broken
        try:
            n = self._conn.send(data)
        except (SSL.WantWriteError, SSL.WantReadError):
            return None
        except SSL.SysCallError as error:
            code = error.args[0] if error.args else -1
            if code in (-1, 0):
                code = _errno.EPIPE
            raise NetError(code, "TLS send failed: %s" % (error,))
        except SSL.Error as error:
            raise TLSError("TLS send failed: %s" % "; ".join(_reason_words(error)))
        if self._dtls:
            out = self._take_output()
            for datagram in common.pack(out, 1 << 20):
                self._send_datagram(datagram)
        return n

    def pending(self):
        return self._conn.pending()

    # ---- session facts -------------------------------------------------

    def session(self):
        """The session as bytes for a later resumption, or None."""
        if not self._done:
            return None
        if not self._dtls and not self._server_side:
            # TLS 1.3 tickets come after the handshake: let OpenSSL read any
            # that arrived (a peek keeps application data where it is)
            try:
                self._conn.recv(1, 2)  # MSG_PEEK
            except (SSL.Error, OSError):
                pass
        sess = _lib.SSL_get1_session(self._conn._ssl)
        if sess == _ffi.NULL:
            return None
        try:
            length = _lib.i2d_SSL_SESSION(sess, _ffi.NULL)
            if length <= 0:
                return None
            buf = _ffi.new("unsigned char[]", length)
            pointer = _ffi.new("unsigned char **", buf)
            _lib.i2d_SSL_SESSION(sess, pointer)
            return _ffi.buffer(buf, length)[:]
        finally:
            _lib.SSL_SESSION_free(sess)

    def session_resumed(self):
        return bool(self._done and _lib.SSL_session_reused(self._conn._ssl))

    def cipher(self):
        return self._conn.get_cipher_name()

    def version(self):
        return self._conn.get_protocol_version_name()

    def record_overhead(self):
        if not self._done:
            return None
        if self._conn.get_protocol_version_name() in ("TLSv1.3", "DTLSv1.3"):
            return (13 if self._dtls else 5) + 16 + 1
        return common.rare().record_overhead(self.cipher(), self._dtls)

    def close(self):
        """Send close_notify when the handshake completed; never blocks."""
        if self._closed:
            return
        self._closed = True
        if self._done:
            try:
                self._conn.shutdown()
            except (SSL.Error, OSError):
                pass
            if self._dtls:
                try:
                    for datagram in common.pack(self._take_output(), 1 << 20):
                        self._sock.send(datagram)
                except (SSL.Error, OSError):
                    pass


Engine = OpenSSLEngine
