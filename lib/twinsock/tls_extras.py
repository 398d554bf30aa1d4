# The (D)TLS socket calls most clients never make, loaded on first use:
# address queries, send_to/receive_from*, shutdown, the rarer options, a send
# the peer is slow to take, and the caller's session resumption buffer.
# SecureSocket (lib/twinsock/tls.py) takes each the first time it is asked
# for. The server side is in twinsock/tls_server.py.
import sys

from twinsock import net
from twinsock.clock import deadline_after, ms_left
from twinsock.const import SEND_TIMEOUT_MS
from twinsock.errors import (
    EBADF,
    ENOMEM,
    EPIPE,
    ETIMEDOUT,
    NetError,
    TLSError,
    invalid,
    unsupported,
)

# DTLS 1.2 record header plus the largest AEAD/CBC expansion: what OPT_INNER_MTU
# subtracts before a handshake has chosen the suite.
_WORST_DTLS_OVERHEAD = 13 + 16 + 48 + 16
_MAX_RECORD_PLAINTEXT = 16384
# get_opt keys the backend answers; set_opt keys it takes
_FORWARDED = (0, 1, 2, 3, 12, 13)  # RECV_TIMEOUT STATE ADDR_FAMILY MTU PREFERRED/FORCED_ADDR_FAMILY
_SETTABLE = (0, 12, 13)  # RECV_TIMEOUT PREFERRED_ADDR_FAMILY FORCED_ADDR_FAMILY
_READ_ONLY = (1, 2, 3, 4, 6, 7, 9, 5, 11)  # STATE ... CONNECTION_ID_RESUMED


def __getattr__(name):
    # the server side, for SecureSocket's hook: loaded only by a server
    if name in ("decorate", "bind", "accept"):
        return getattr(net.load_or_enomem("twinsock.tls_server"), name)
    raise AttributeError(name)


kind = property(lambda self: "dtls" if self._dtls else "tls")


def shutdown(self):
    self._check_alive("shutdown")
    if self._engine is not None:
        self._engine.close()
    self._backend.shutdown()
    self._shut_down = True


def _failed(self, exc, what):
    self._check_alive(what)
    if self._engine is None:
        return NetError(EBADF, "%s: socket is not connected" % what)
    if self._shut_down:
        return NetError(EPIPE, "%s: socket was shut down" % what)
    if isinstance(exc, NetError):
        return exc
    if isinstance(exc, MemoryError):
        return TLSError("%s: out of memory" % what, ENOMEM)
    return net.fail(exc, what)


def _handshake_failed(self, e):
    """The error for what a handshake raised (not a NetError)."""
    if isinstance(e, MemoryError):
        return TLSError("handshake: out of memory", ENOMEM)
    return net.fail(e, "%s handshake" % self.kind)


def _handshake_timeout(self, ms):
    if self._dtls:
        return TLSError("DTLS handshake: nothing from the peer in %d ms" % ms, ETIMEDOUT)
    return TLSError("TLS handshake: no answer from the peer in %d ms" % ms, ETIMEDOUT)


def _cid_continue(self, raw, server_side):
    """True when a Connection ID session close() kept carries on over `raw`
    without a handshake (the peer knows it by its Connection ID, whatever
    our new address: RFC 9146); a server side drops it."""
    kept = self._cid_engine
    if self._cid_resumed:
        self._cid_resumed = False
    if kept is None:
        return False
    self._cid_engine = None
    if not server_side:
        kept.adopt(raw)
        self._engine = kept
        self._cid_resumed = True
        return True
    kept.close()
    return False


def _send_rest(self, data, sent):
    view = memoryview(data)
    deadline = deadline_after(SEND_TIMEOUT_MS)
    while sent < len(view):
        if not _wait_writable(self, deadline):
            raise NetError(ETIMEDOUT, "send: peer took no data for %d ms" % SEND_TIMEOUT_MS)
        try:
            sent += self._engine.send(view[sent:]) or 0
        except Exception as e:
            raise self._failed(e, "send")
    return sent


def _wait_writable(self, deadline):
    """True once the backend can take bytes, False at `deadline`."""
    return net.get().waiter(self._backend.get_system_socket(), True)(ms_left(deadline))


def _stored_session(self):
    """The session bytes kept in the caller's resumption buffer, or None.
    Layout: 2-byte big-endian length, then the engine's session bytes."""
    buf = self._config.session_resumption_buffer
    if not buf or len(buf) < 2:
        return None
    size = buf[0] << 8 | buf[1]
    if not size or size > len(buf) - 2:
        return None
    return bytes(buf[2 : 2 + size])


def _store_session(self, session):
    """Keep `session` in the caller's resumption buffer (layout: _stored_session)."""
    buf = self._config.session_resumption_buffer
    if len(session) > len(buf) - 2:
        return
    buf[0] = len(session) >> 8
    buf[1] = len(session) & 0xFF
    buf[2 : 2 + len(session)] = session


def send_to(self, data, host, port):
    self._check_alive("send_to")
    raise unsupported("send_to: %s sockets are connected; use send" % self.kind)


def receive_from(self, bufsize):
    self._check_alive("receive_from")
    raise unsupported("receive_from: %s sockets are connected; use receive" % self.kind)


def receive_from_into(self, buf):
    self._check_alive("receive_from_into")
    raise unsupported("receive_from_into: %s sockets are connected; use receive_into" % self.kind)


# -- queries, forwarded to the backend -------------------------------------


def _forward(name):
    def query(self):
        self._check_alive(name)
        return getattr(self._backend, name)()

    return query


get_system_socket = _forward("get_system_socket")
get_interface_name = _forward("get_interface_name")
get_remote_host = _forward("get_remote_host")
get_remote_hostname = _forward("get_remote_hostname")
get_remote_port = _forward("get_remote_port")
get_local_host = _forward("get_local_host")
get_local_port = _forward("get_local_port")


# -- options ----------------------------------------------------------------


def _feature(self, name, what):
    if not self._engines.features().get(name):
        raise unsupported("%s is not available on %s" % (what, net.get().name))


def _has_buffered_data(self):
    return self._engine is not None and self._engine.pending() > 0


def _get_opt(self, key):
    self._check_alive("get_opt")
    net.check_key(key, "get_opt")
    if key in _FORWARDED:
        return self._backend.get_opt(key)
    if key == 4:  # OPT_INNER_MTU
        if not self._dtls:
            raise unsupported("get_opt: OPT_INNER_MTU applies to datagram sockets")
        overhead = self._engine.record_overhead() if self._engine is not None else None
        inner = self._backend.get_opt(4) - (overhead or _WORST_DTLS_OVERHEAD)
        # one record carries at most 2^14 plaintext bytes (RFC 6347 4.1)
        return min(inner, _MAX_RECORD_PLAINTEXT)
    if key == 6:  # OPT_BYTES_SENT
        return self._sent
    if key == 7:  # OPT_BYTES_RECEIVED
        return self._received
    if key == 9:  # OPT_HAS_BUFFERED_DATA
        return self._has_buffered_data()
    if key == 5:  # OPT_SESSION_RESUMED
        return self._resumed  # False where the engine cannot resume
    if key == 11:  # OPT_CONNECTION_ID_RESUMED
        return self._cid_resumed  # False where the engine has no Connection ID
    if key == 10:  # OPT_DTLS_HANDSHAKE_TIMEOUTS
        return self._timeouts or self._config.dtls_handshake_timeouts
    if key == 8:  # OPT_DANE_TLSA_ARRAY
        raise invalid("get_opt: OPT_DANE_TLSA_ARRAY is write-only")
    raise invalid("get_opt: unknown option key %s" % net.option_name(key))


def _set_opt(self, key, value):
    self._check_alive("set_opt")
    net.check_key(key, "set_opt")
    if key in _SETTABLE:
        self._backend.set_opt(key, value)
    elif key == 10:  # OPT_DTLS_HANDSHAKE_TIMEOUTS
        from twinsock.tlsoptions import check_handshake_timeouts

        self._timeouts = check_handshake_timeouts(value, "OPT_DTLS_HANDSHAKE_TIMEOUTS")
    elif key == 8:  # OPT_DANE_TLSA_ARRAY
        self._feature("dane", "OPT_DANE_TLSA_ARRAY (DANE)")
    elif key in _READ_ONLY:
        raise invalid("set_opt: %s is read-only" % net.option_name(key))
    else:
        raise invalid("set_opt: unknown option key %s" % net.option_name(key))


def ciphersuites():
    """The IANA ids of the ciphersuites the running TLS engine can negotiate
    (for SSLConfig.ciphersuites), sorted; [] without an engine. Unless the
    application registered an engine, this includes the suites twinsock's own
    DTLS-PSK engine brings to DTLS with PSK where it can run."""
    from twinsock import tls

    engine = tls._tls_engine()
    have = engine.ciphersuites() if engine is not None else []
    registry = sys.modules.get("twinsock.platform")
    if registry is not None and registry.tls_engine_registered():
        return have
    try:
        from twinsock_port import tls_psk_select
    except ImportError:  # a port without twinsock's own engine
        return have
    if not tls_psk_select.own_engine_runs():
        return have
    own = net.load_or_enomem("twinsock_port.tls_psk").ciphersuites()
    return sorted(set(have) | set(own))


# -- readiness, for poll() ----------------------------------------------------


def _poll_socket(self):
    return self._backend._poll_socket()


def _timer_ms(self):
    """ms until the engine's DTLS retransmission is due (0: now), None when no
    flight is in the air: poll() wakes for it, then _on_timer()."""
    engine = self._engine
    return engine.dtls_timeout_ms() if self._dtls and engine is not None else None


def _on_timer(self):
    self._engine.dtls_handle_timeout()


def missing(dtls, psk, have):
    """The ENOTSUP for a (D)TLS socket its engine (features `have`) cannot make."""
    p = net.get()
    what = "DTLS" if dtls else "TLS"
    if have.get("dtls" if dtls else "tls"):
        what += " with PSK"
    return unsupported("%s is not available on %s: %s" % (what, p.name, p.tls_missing(dtls)))
