# Free unicode, IDNA and odd-dotted host names through every call that takes a
# host (CPython, hypothesis). Run by test_bad_input_fuzz.py inside a private
# mount namespace whose resolv.conf points DNS at 127.0.0.1, where nothing
# answers: no name leaves the machine. argv[1]: examples per property.
import sys

import twinsock
from hypothesis import given, settings, strategies as st
from mp_common import done, peer_hosts, report, usable
from oracles import Outcome, check, host_shape_ok

HOST = "127.0.0.1"
PORTS = peer_hosts()[HOST]
EXAMPLES = int(sys.argv[1]) if len(sys.argv) > 1 else 60
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
tried = {"hosts": 0}

label = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=70,
)
names = st.one_of(
    st.lists(label, min_size=1, max_size=5).map(".".join),
    st.lists(label, min_size=1, max_size=3).map(lambda parts: ".".join(parts) + ".invalid"),
    st.lists(st.from_regex(r"xn--[a-z0-9-]{1,20}", fullmatch=True), min_size=1, max_size=3).map(
        ".".join
    ),
    st.text(alphabet="0123456789.:[]%abcdef", min_size=1, max_size=40),
    st.text(min_size=1, max_size=300).filter(lambda t: "\x00" not in t),
)


def words(host):
    return ["host", "address", host.split("%")[0]]


def run(call_name, host):
    """One call with `host`; the socket it used must still echo."""
    if call_name == "resolve":
        check(Outcome(twinsock.resolve, host, PORTS["udp"]), None, words(host), may_succeed=True)
        return
    if call_name == "tls.connect":
        s = twinsock.ssl_socket(twinsock.SSLConfig(twinsock.CertInfo(server_cert_validation=False)))
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, 2000)
        try:
            # TLS against tcp_echo cannot succeed; a name must fail before or in it
            check(Outcome(s.connect, host, PORTS["tcp_echo"]), None, words(host) + ["server_name"])
        finally:
            s.cleanup()
        return
    kind = "tcp" if call_name == "tcp.connect" else "udp"
    port = PORTS["tcp_echo" if kind == "tcp" else "udp"]
    with twinsock.tcp_socket() if kind == "tcp" else twinsock.udp_socket() as s:
        if call_name.endswith("connect"):
            outcome = Outcome(s.connect, host, port)
        elif call_name == "udp.send_to":
            outcome = Outcome(s.send_to, b"x", host, port)
        else:
            outcome = Outcome(s.bind, host, 0)
        check(outcome, None, words(host), may_succeed=True)
        ok = usable(s, HOST, port, reconnect=True)
        assert ok is True, "socket not usable after %s(%r): %s" % (call_name, host, ok)


CALLS = ("udp.connect", "tcp.connect", "udp.send_to", "udp.bind", "resolve", "tls.connect")


@FUZZ
@given(host=names, call=st.sampled_from(CALLS))
def names_property(host, call):
    tried["hosts"] += 1
    assert host_shape_ok(host) or len(host) > 255
    run(call, host)


def main():
    try:
        names_property()
    except Exception as e:  # noqa: BLE001 - reported to the pytest side
        report(failure="%s: %s" % (type(e).__name__, e))
    report(tried=tried)
    done()


main()
