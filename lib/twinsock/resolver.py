# Resolution and the resolved endpoint that carries IP stickiness from one
# connect to the next. Loaded on first use (twinsock.resolve,
# twinsock.ResolvedEndpoint).
from twinsock import net
from twinsock.checks import check_host, check_port
from twinsock.errors import invalid
from twinsock.net import resolve_entries


class ResolvedEndpoint:
    """One resolved address (avs_net_resolved_endpoint_t): opaque, mutable."""

    def __init__(self):
        self._entry = None  # (family, numeric host, port, platform address)

    def get_host_port(self):
        if self._entry is None:
            raise invalid("ResolvedEndpoint is empty: nothing was resolved into it")
        from twinsock.extras import unmap

        return unmap(self._entry[1]), self._entry[2]

    def __repr__(self):
        return "ResolvedEndpoint(%r)" % (None if self._entry is None else self._entry[1:3],)


def _endpoint(entry):
    ep = ResolvedEndpoint()
    ep._entry = entry
    return ep


def _v4mapped(entry):
    family, host, port, addr = entry
    if family != 1:  # AF_INET4
        return entry
    mapped = net.get().resolve("::ffff:" + host, port, 2, "udp", False)
    return mapped[0] if mapped else entry


def resolve(
    host,
    port,
    family=0,
    socktype="udp",
    passive=False,
    v4mapped=False,
    preferred_endpoint=None,
):
    from twinsock.config import check_family
    from twinsock.extras import prefer

    check_host(host)
    port = check_port(port)
    check_family(family, "family")
    if socktype not in ("udp", "tcp"):
        raise invalid("socktype must be 'udp' or 'tcp', not %r" % (socktype,))
    if preferred_endpoint is not None and not isinstance(preferred_endpoint, ResolvedEndpoint):
        raise invalid("preferred_endpoint must be a ResolvedEndpoint or None")
    mapped = v4mapped and family == 2  # AF_INET6
    entries = resolve_entries(host, port, 0 if mapped else family, socktype, 0, passive)
    if mapped:
        entries = [_v4mapped(e) for e in entries]
    entries = prefer(entries, preferred_endpoint)
    return [_endpoint(e) for e in entries]
