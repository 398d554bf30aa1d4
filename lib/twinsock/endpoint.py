# Where twinsock.tls takes check_host and check_port from (twinsock/checks.py
# holds them). ResolvedEndpoint and resolve() live in twinsock/resolver.py and
# load from here on first use, so importing the checks costs no more.
from twinsock.checks import check_host, check_port  # noqa: F401


def __getattr__(name):
    from twinsock import resolver

    return getattr(resolver, name)
