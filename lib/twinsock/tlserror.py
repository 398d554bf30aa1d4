# TLSError, loaded the first time a (D)TLS failure is raised or the name is
# asked for (twinsock.TLSError, twinsock.errors.TLSError): a TLS session that
# goes well never loads it.
from twinsock.errors import EPROTO, NetError


class TLSError(NetError):
    """A (D)TLS failure: `alert` is the TLS alert number or None, `lib_code`
    the engine's own error code or None."""

    def __init__(self, message, code=EPROTO, alert=None, lib_code=None):
        super().__init__(code, message)
        self.alert = alert
        self.lib_code = lib_code
