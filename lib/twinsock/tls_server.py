# The (D)TLS calls most clients never make, loaded on first use: decorate()
# (STARTTLS), and the server side, bind() and accept(). Functions of the
# SecureSocket they are called for (lib/twinsock/tls.py).
from twinsock import platform
from twinsock.const import OPT_STATE, STATE_ACCEPTED, STATE_BOUND, STATE_CLOSED, STATE_CONNECTED
from twinsock.errors import EISCONN, NetError, invalid
from twinsock.net import TcpSocket, UdpSocket


def decorate(self, backend):
    """Take over `backend` (a UDP socket for DTLS, TCP for TLS), for
    example after a plain-text STARTTLS exchange; a connected backend
    handshakes at once."""
    self._check_alive("decorate")
    wanted = UdpSocket if self._dtls else TcpSocket
    if not isinstance(backend, wanted):
        raise invalid("decorate: a %s socket needs a %s backend" % (self.kind, wanted.kind))
    if self._engine is not None or self._backend.get_opt(OPT_STATE) != STATE_CLOSED:
        raise NetError(EISCONN, "decorate: this %s socket is already in use" % self.kind)
    self._backend.cleanup()
    self._backend = backend
    if backend.get_opt(OPT_STATE) in (STATE_CONNECTED, STATE_ACCEPTED):
        self._handshake(backend.get_remote_hostname(), False)


def bind(self, address, port):
    self._check_alive("bind")
    if self._dtls:
        # accept() re-binds this port beside the socket it hands over.
        self._backend.cleanup()
        self._backend = UdpSocket(_reusable(self._config.backend_configuration))
    self._backend.bind(address, port)


def accept(self):
    """A new socket in STATE_ACCEPTED whose server-side handshake is done.
    DTLS: the bound socket itself is connected to the first client and
    handed over, and a fresh one is bound in its place (SO_REUSEADDR)."""
    self._check_alive("accept")
    peer = type(self)(self._config, self._dtls)
    peer._backend.cleanup()
    client_id = None
    if self._dtls:
        peer._backend = _hand_over_datagrams(self)
        # HelloVerify cookies are bound to the client's address.
        client_id = (
            "%s:%d" % (peer._backend.get_remote_host(), peer._backend.get_remote_port())
        ).encode()
    else:
        peer._backend = self._backend.accept()
    peer._handshake(None, True, client_id)
    return peer


def _hand_over_datagrams(self):
    listener = self._backend
    if listener.get_opt(OPT_STATE) != STATE_BOUND:
        raise invalid("accept: socket is not bound; bind it first")
    listener._wait("accept")
    raw = listener.get_system_socket()
    try:
        host, port = platform.get().peek_sender(raw)
    except Exception as e:
        raise platform.fail(e, "accept")
    address, local_port = listener.get_local_host(), listener.get_local_port()
    listener.connect(host, port)
    listener._state = STATE_ACCEPTED
    replacement = UdpSocket(listener._config)
    replacement._timeout = listener._timeout
    replacement.bind(address, local_port)
    self._backend = replacement
    return listener


def _reusable(config):
    """A copy of backend `config` with reuse_addr on."""
    from twinsock.config import SocketConfig

    config = config or SocketConfig()
    return SocketConfig(
        config.address_family,
        config.preferred_family,
        config.forced_mtu,
        True,
        config.preferred_endpoint,
        config.dscp,
        config.priority,
        config.interface_name,
        config.transparent,
    )
