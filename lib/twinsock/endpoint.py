# Addresses: argument checks, resolution, and the resolved endpoint that
# carries IP stickiness from one connect to the next.
from twinsock import platform
from twinsock.config import check_family
from twinsock.const import AF_INET4, AF_INET6, AF_UNSPEC
from twinsock.errors import EADDRNOTAVAIL, NetError, invalid

_KINDS = ("udp", "tcp")


def check_host(host, what="host"):
    if type(host) is not str or not host:
        raise invalid(
            "%s must be a non-empty str (a name or numeric address), not %r" % (what, host)
        )
    if "\x00" in host or len(host) > 253 + 2:
        raise invalid("%s is not a valid name: %r" % (what, host))
    return host


def check_port(port, what="port"):
    """An int 0..65535 or a numeric string; anything else is EINVAL."""
    if type(port) is str and 0 < len(port) <= 5 and all("0" <= c <= "9" for c in port):
        port = int(port)  # ASCII digits only: int() takes other scripts' digits too
    if type(port) is not int or not 0 <= port <= 65535:
        raise invalid("%s must be an int 0..65535 or a numeric string, not %r" % (what, port))
    return port


def unmap(host):
    """'::ffff:1.2.3.4' -> '1.2.3.4'; other hosts unchanged."""
    if host[:7].lower() == "::ffff:" and "." in host:
        return host[7:]
    return host


class ResolvedEndpoint:
    """One resolved address (avs_net_resolved_endpoint_t): opaque, mutable."""

    def __init__(self):
        self._entry = None  # (family, numeric host, port, platform address)

    def get_host_port(self):
        if self._entry is None:
            raise invalid("ResolvedEndpoint is empty: nothing was resolved into it")
        return unmap(self._entry[1]), self._entry[2]

    def __repr__(self):
        return "ResolvedEndpoint(%r)" % (None if self._entry is None else self._entry[1:3],)


def _endpoint(entry):
    ep = ResolvedEndpoint()
    ep._entry = entry
    return ep


def _v4mapped(entry):
    family, host, port, addr = entry
    if family != AF_INET4:
        return entry
    mapped = platform.get().resolve("::ffff:" + host, port, AF_INET6, "udp", False)
    return mapped[0] if mapped else entry


def resolve_entries(host, port, family, kind, passive=False, preferred_family=AF_UNSPEC):
    """Platform entries for host:port, preferred family first."""
    try:
        entries = platform.get().resolve(host, port, family, kind, passive)
    except Exception as e:  # noqa: BLE001 - every platform failure becomes a NetError
        error = platform.fail(e, "resolve %r" % host)
        if error.errno == EADDRNOTAVAIL:
            error = NetError(EADDRNOTAVAIL, "cannot resolve %r: no such name, or no address" % host)
        raise error
    if not entries:
        raise NetError(EADDRNOTAVAIL, "cannot resolve %r: no address of the wanted family" % host)
    if preferred_family:
        entries = [e for e in entries if e[0] == preferred_family] + [
            e for e in entries if e[0] != preferred_family
        ]
    return entries


def resolve(
    host,
    port,
    family=AF_UNSPEC,
    socktype="udp",
    passive=False,
    v4mapped=False,
    preferred_endpoint=None,
):
    check_host(host)
    port = check_port(port)
    check_family(family, "family")
    if socktype not in _KINDS:
        raise invalid("socktype must be 'udp' or 'tcp', not %r" % (socktype,))
    if preferred_endpoint is not None and not isinstance(preferred_endpoint, ResolvedEndpoint):
        raise invalid("preferred_endpoint must be a ResolvedEndpoint or None")
    query = AF_UNSPEC if v4mapped and family == AF_INET6 else family
    entries = resolve_entries(host, port, query, socktype, passive)
    if v4mapped and family == AF_INET6:
        entries = [_v4mapped(e) for e in entries]
    entries = prefer(entries, preferred_endpoint)
    return [_endpoint(e) for e in entries]


def prefer(entries, preferred_endpoint):
    """Move the entry equal to the sticky endpoint to the front."""
    if preferred_endpoint is None or preferred_endpoint._entry is None:
        return entries
    want = preferred_endpoint._entry[1:3]
    first = [e for e in entries if e[1:3] == want]
    return first + [e for e in entries if e[1:3] != want]


def remember(preferred_endpoint, entry):
    if preferred_endpoint is not None:
        preferred_endpoint._entry = entry
