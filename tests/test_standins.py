"""The esp32/rp2 stand-ins (tests/standins) show what MicroPython v1.26.1's board
sockets do (ports/esp32/modsocket.c, extmod/modlwip.c), checked on the real
MicroPython interpreter, which is where they run; and every rule they imitate
cites the v1.26.1 source file and line."""

import json
import os
import re
import subprocess
from pathlib import Path

import private_resolver
import pytest

ROOT = Path(__file__).resolve().parent.parent
STANDINS = ROOT / "tests" / "standins"

# Runs on MicroPython with a board's stand-ins installed; prints one JSON object of
# {check name: observed value}. Helper peers use the REAL socket module.
SCRIPT = r"""
import json, sys, time
import standin_common
board = standin_common.install(sys.argv[1])
import socket, errno, select
out = {}

def code(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.args[0]
    except Exception as e:
        return type(e).__name__
    return None

probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
probe.bind(("127.0.0.1", 0))
# getattr, not errno.ETIMEDOUT: MicroPython's compiler folds `errno.NAME` into the
# interpreter's own constant at compile time, whatever sys.modules holds.
out["errno"] = [getattr(errno, n) for n in ("ETIMEDOUT", "EINPROGRESS", "ENOTCONN", "ECONNRESET")]
out["gai_numeric"] = socket.getaddrinfo("127.0.0.1", 80)
out["gai_name"] = socket.getaddrinfo("localhost", 80)
out["gai_ipv6"] = code(socket.getaddrinfo, "::1", 80) or socket.getaddrinfo("::1", 80)
out["gai_dns_failure"] = code(socket.getaddrinfo, "no-such-host.invalid", 80)
out["gai_str_port"] = code(socket.getaddrinfo, "127.0.0.1", "80")
out["keyword_ctor"] = code(lambda: socket.socket(type=socket.SOCK_DGRAM))
four = [None]
out["four_args_ctor"] = code(lambda: four.append(socket.socket(2, 1, 0, 0)))
for x in four[1:]:
    x.close()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
out["missing"] = [n for n in ("getsockname", "getpeername", "shutdown", "recv_into",
    "recvfrom_into", "gettimeout", "getsockopt", "fileno") if not hasattr(s, n)]
target = ("127.0.0.1", 1)  # nothing listens on port 1 here
out["refused"] = [code(s.connect, target), code(s.connect, target)]
s.close()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
out["connect_name"] = code(s.connect, ("localhost", 1))
s.close()
out["sendto_name"] = code(probe.sendto, b"x", ("localhost", 9))

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
u.settimeout(0)
out["timeout_0"] = code(u.recv, 10)
u.settimeout(0.05)
out["timeout_50ms"] = code(u.recv, 10)
u.settimeout(0.3)
t0 = time.ticks_ms()
out["timeout_300ms"] = code(u.recvfrom, 10)
out["timeout_300ms_took"] = time.ticks_diff(time.ticks_ms(), t0)
poller = select.poll()
poller.register(u, select.POLLIN)
out["poll_idle"] = len(poller.poll(0))
u.close()
# a datagram to a stand-in socket bound on a port found free: poll names the same
# object, recvfrom gives (bytes, (ip, port))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in range(47000, 47200):
    if code(u.bind, ("127.0.0.1", port)) is None:
        break
poller = select.poll()
poller.register(u, select.POLLIN)
probe.sendto(b"ping", ("127.0.0.1", port))
ready = poller.poll(2000)
out["poll_same_object"] = len(ready) == 1 and ready[0][0] is u
data, sender = u.recvfrom(10)
out["recvfrom"] = [data.decode(), type(sender).__name__, sender[0], type(sender[1]).__name__]
u.close()

# pcb limits: open sockets until the board says ENOMEM (stop at 12)
for kind, name in ((socket.SOCK_DGRAM, "udp_limit"), (socket.SOCK_STREAM, "tcp_limit")):
    opened = []
    err = None
    while len(opened) < 12:
        try:
            opened.append(socket.socket(socket.AF_INET, kind))
        except OSError as e:
            err = e.args[0]
            break
    out[name] = [len(opened), err]
    for x in opened:
        x.close()

# v1.26+: recv/recvfrom flags. A peeked datagram stays queued; MSG_DONTWAIT on a
# blocking socket with nothing queued is EAGAIN at once.
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in range(47200, 47400):
    if code(u.bind, ("127.0.0.1", port)) is None:
        break
probe.sendto(b"peek", ("127.0.0.1", port))
u.settimeout(2)
peeked = u.recvfrom(10, socket.MSG_PEEK)
taken = u.recvfrom(10)
out["peek"] = [peeked[0].decode(), taken[0].decode()]
t0 = time.ticks_ms()
got = code(u.recv, 10, socket.MSG_DONTWAIT)
out["dontwait"] = [got, time.ticks_diff(time.ticks_ms(), t0) < 500]
u.close()
# setsockopt options the board takes reach the socket (no "not implemented" warning)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
out["sockopts"] = [opt for _, opt, _ in s._options]
print("@@ before")
s.setsockopt(socket.SOL_SOCKET, 9999, 1)  # an option no board has: a printed warning
print("@@ after")
s.close()
# getaddrinfo with family and type
out["gai_dgram"] = socket.getaddrinfo("127.0.0.1", 80, socket.AF_INET, socket.SOCK_DGRAM)
out["gai_af_inet6"] = code(socket.getaddrinfo, "localhost", 80, socket.AF_INET6) or [
    [e[0], e[-1]] for e in socket.getaddrinfo("localhost", 80, socket.AF_INET6)]
# what twinsock makes of it: TCP_NODELAY set for TLS, DTLS server sockets possible
import twinsock, twinsock_port
platform = twinsock_port.load(sys.argv[1])
twinsock.use_platform(platform)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
platform.no_delay(s)
out["no_delay"] = [(level, opt) for level, opt, _ in s._options]
s.close()
out["dtls_server"] = twinsock.features()["dtls_server"]
probe.close()
print(json.dumps(out))
"""


def run_board(board, tmp_path):
    script = tmp_path / ("facts_%s.py" % board)
    script.write_text(SCRIPT)
    path = [".frozen", str(STANDINS), str(ROOT / "lib"), str(ROOT / "port")]
    env = dict(os.environ, MICROPYPATH=os.pathsep.join(path))
    binary = ROOT / ".venv" / "bin" / "micropython"
    # "no-such-host.invalid" fails in a private namespace whose DNS is 127.0.0.1
    names = private_resolver.prefix(tmp_path / "names")
    result = subprocess.run(
        names + [str(binary if binary.exists() else "micropython"), str(script), board],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    printed = result.stdout.split("@@ before\n", 1)[1].split("@@ after\n", 1)[0]
    facts["setsockopt_unknown_prints"] = printed.strip()
    return facts


@pytest.fixture(scope="module")
def esp32(tmp_path_factory):
    return run_board("esp32", tmp_path_factory.mktemp("esp32"))


@pytest.fixture(scope="module")
def rp2(tmp_path_factory):
    return run_board("rp2", tmp_path_factory.mktemp("rp2"))


def test_esp32_errno_uses_newlib_numbers(esp32):
    assert esp32["errno"] == [116, 119, 128, 104]


def test_rp2_errno_uses_linux_numbers(rp2):
    assert rp2["errno"] == [110, 115, 107, 104]


def test_esp32_getaddrinfo_gives_ipv4_tuples(esp32):
    # proto 0 unless asked for: lwIP copies the hints
    assert esp32["gai_numeric"] == [[2, 1, 0, "127.0.0.1", ["127.0.0.1", 80]]]
    assert esp32["gai_name"] == [[2, 1, 0, "localhost", ["127.0.0.1", 80]]]
    assert esp32["gai_ipv6"] == [[10, 1, 0, "::1", None]]  # IPv6: no address


def test_rp2_getaddrinfo_gives_one_entry_labelled_af_inet(rp2):
    assert rp2["gai_numeric"] == [[2, 1, 0, "", ["127.0.0.1", 80]]]
    assert rp2["gai_name"] == [[2, 1, 0, "", ["127.0.0.1", 80]]]
    assert rp2["gai_ipv6"] == [[2, 1, 0, "", ["::1", 80]]]
    assert rp2["gai_str_port"] == "TypeError"


def test_dns_failure_codes(esp32, rp2):
    assert esp32["gai_dns_failure"] == -202
    assert rp2["gai_dns_failure"] == -2


def test_constructor_takes_positional_arguments_only(esp32, rp2):
    assert esp32["keyword_ctor"] == "TypeError"
    assert rp2["keyword_ctor"] == "TypeError"
    assert esp32["four_args_ctor"] == "TypeError"  # 0-3 arguments
    assert rp2["four_args_ctor"] is None  # 0-4 arguments


def test_missing_socket_methods(esp32, rp2):
    common = ["getsockname", "getpeername", "shutdown", "recv_into", "recvfrom_into"]
    common += ["gettimeout", "getsockopt"]
    assert esp32["missing"] == common
    assert rp2["missing"] == common + ["fileno"]


def test_refusal_is_econnreset_and_the_socket_cannot_connect_again(esp32, rp2):
    assert esp32["refused"] == [104, 104]
    assert rp2["refused"] == [104, 9]  # the pcb is gone: EBADF


def test_numeric_addresses_required(esp32, rp2):
    assert rp2["connect_name"] == "ValueError"
    assert esp32["sendto_name"] == "ValueError"
    assert rp2["sendto_name"] == "ValueError"
    assert esp32["connect_name"] == 104  # esp32 resolves in connect; port 1 refuses


def test_timeouts(esp32, rp2):
    assert rp2["timeout_0"] == 11
    assert rp2["timeout_50ms"] == 110
    assert rp2["timeout_300ms"] == 110
    assert 250 <= rp2["timeout_300ms_took"] <= 450
    assert esp32["timeout_0"] == 11
    assert esp32["timeout_50ms"] == 11  # under 0.1 s: EAGAIN
    assert esp32["timeout_300ms"] == 116
    assert 350 <= esp32["timeout_300ms_took"] <= 550  # (300 // 100 + 1) polls of 100 ms


def test_poll_takes_standin_objects_and_returns_them(esp32, rp2):
    for board in (esp32, rp2):
        assert board["poll_idle"] == 0
        assert board["poll_same_object"] is True


def test_recvfrom_gives_a_tuple_address(esp32, rp2):
    for board in (esp32, rp2):
        assert board["recvfrom"] == ["ping", "tuple", "127.0.0.1", "int"]


def test_rp2_pcb_limits(rp2, esp32):
    # one UDP pcb is mDNS's; the probe socket holds another
    assert rp2["udp_limit"] == [2, 12]
    assert rp2["tcp_limit"] == [5, 12]
    assert esp32["udp_limit"] == [9, 23]  # about 10 sockets in all; the probe is one


def test_recv_flags_since_v1_26(esp32, rp2):
    for board in (esp32, rp2):
        assert board["peek"] == ["peek", "peek"]
        assert board["dontwait"] == [11, True]  # EAGAIN (11 in newlib and Linux), at once


def test_setsockopt_options(esp32, rp2):
    # esp32 since v1.23: TCP_NODELAY (1) and SO_BROADCAST (Linux 6 here)
    assert esp32["sockopts"] == [1, 6]
    assert rp2["sockopts"] == [1, 6]
    assert esp32["setsockopt_unknown_prints"] == (
        "Warning: lwip.setsockopt() option not implemented"
    )
    assert rp2["setsockopt_unknown_prints"] == "Warning: lwip.setsockopt() not implemented"


def test_esp32_getaddrinfo_honours_family_and_type(esp32, rp2):
    assert esp32["gai_dgram"] == [[2, 2, 0, "127.0.0.1", ["127.0.0.1", 80]]]
    assert esp32["gai_af_inet6"] == [[10, None]]  # IPv4-only lwIP: no address
    assert rp2["gai_dgram"] == [[2, 1, 0, "", ["127.0.0.1", 80]]]


def test_rp2_getaddrinfo_ignores_the_family_in_v1_26(rp2):
    assert rp2["gai_af_inet6"] == [[2, ["127.0.0.1", 80]]]  # the A record all the same


def test_twinsock_uses_what_the_boards_have(esp32, rp2):
    for board in (esp32, rp2):
        assert board["no_delay"] == [[6, 1]]  # IPPROTO_TCP, TCP_NODELAY
        assert board["dtls_server"] is True  # MSG_PEEK: DTLS server sockets work


# -- every rule cites the source it imitates -----------------------------------------

STANDIN_FILES = ("standin_common", "esp32_socket", "rp2_socket", "esp32_errno", "rp2_errno")
PIN = "MicroPython v1.26.1"
CITATION = re.compile(r"[\w/.-]+\.(?:c|h|md|base):\d+")


def header_rules(path):
    """The rules of a stand-in's header comment: its "# - " items, joined lines."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].strip())
    rules, current = [], None
    for line in lines:
        if line.startswith("- "):
            current = [line[2:]]
            rules.append(current)
        elif current is not None and line and not line.startswith("Not imitated"):
            current.append(line)
        else:
            current = None
    return "\n".join(lines), [" ".join(rule) for rule in rules]


@pytest.mark.parametrize("name", STANDIN_FILES)
def test_every_standin_rule_cites_a_source_line(name):
    header, rules = header_rules(STANDINS / (name + ".py"))
    assert PIN in header, "%s.py does not say which firmware it is pinned to" % name
    assert rules, "%s.py lists no rules" % name
    uncited = [rule for rule in rules if not CITATION.search(rule)]
    assert not uncited, "rules with no file:line citation in %s.py: %s" % (name, uncited)


def test_the_citation_check_finds_an_uncited_rule(tmp_path):
    standin = tmp_path / "board_socket.py"
    standin.write_text(
        "# Pinned to %s.\n# - cited (extmod/modlwip.c:12)\n# - not cited\nx = 1\n" % PIN
    )
    _, rules = header_rules(standin)
    assert [bool(CITATION.search(rule)) for rule in rules] == [True, False]
