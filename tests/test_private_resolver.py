"""Name look-ups in tests stay on this machine (tests/private_resolver.py): inside
the private namespace the resolver files are ours, a name that does not exist
fails at once on CPython and on MicroPython, and their queries go to 127.0.0.1
only; in the pytest process a non-local look-up is refused before it is sent."""

import socket
import subprocess
import sys

import private_resolver
import pytest
from runtimes import micropython_binary

NAMES = {"a.twinsock.test": ["127.0.0.7"]}
LIMIT = 30  # seconds for one namespaced command


def in_namespace(tmp_path, argv, network=False, hosts=None):
    done = subprocess.run(
        private_resolver.prefix(tmp_path / "ns", hosts=hosts, network=network) + argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        timeout=LIMIT,
    )
    output = done.stdout.decode(errors="replace")
    assert done.returncode == 0, "%s failed (%d):\n%s" % (argv, done.returncode, output)
    return output


def test_the_resolver_files_in_the_namespace_are_ours(tmp_path):
    shown = in_namespace(
        tmp_path,
        ["sh", "-c", "cat /etc/resolv.conf; echo @@; cat /etc/nsswitch.conf; echo @@; "
         "cat /etc/hosts; echo @@; getent hosts a.twinsock.test"],
        hosts=NAMES,
    )  # fmt: skip
    resolv, nsswitch, hosts, answer = shown.split("@@\n")
    assert resolv == private_resolver.RESOLV_CONF
    nameservers = [line.split()[1] for line in resolv.splitlines() if line.startswith("nameserver")]
    assert nameservers == ["127.0.0.1"]
    hosts_lines = [line for line in nsswitch.splitlines() if line.startswith("hosts:")]
    assert hosts_lines == ["hosts: files dns"]
    assert hosts == private_resolver.hosts_file(NAMES)
    assert answer.split() == ["127.0.0.7", "a.twinsock.test"]
    # outside, the machine's files are untouched
    with open("/etc/resolv.conf") as f:
        assert "twinsock tests" not in f.read()


def test_a_command_whose_resolver_is_not_ours_does_not_run(tmp_path):
    argv = private_resolver.prefix(tmp_path / "ns")
    script = argv.index("-c") + 1
    argv[script] = argv[script].replace("mount --bind", "true")  # the mounts do nothing
    done = subprocess.run(argv + ["echo", "ran"], capture_output=True, timeout=LIMIT)
    assert done.returncode == 97, done
    assert b"/etc/resolv.conf is not ours" in done.stderr
    assert b"ran" not in done.stdout


LOOKUP_CPYTHON = """
import socket, time
started = time.monotonic()
try:
    socket.getaddrinfo("no-such-host.invalid", 80)
    print("resolved")
except socket.gaierror as e:
    print("failed", e.errno, round(time.monotonic() - started, 3))
"""
LOOKUP_MICROPYTHON = """
import socket, time
started = time.ticks_ms()
try:
    socket.getaddrinfo("no-such-host.invalid", 80)
    print("resolved")
except OSError as e:  # the unix port: OSError("[addrinfo error -3]")
    code = str(e.args[0]).split()[-1].strip("]")
    print("failed", code, time.ticks_diff(time.ticks_ms(), started) / 1000)
"""


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_a_name_that_does_not_exist_fails_at_once(runtime, tmp_path):
    if runtime == "cpython":
        argv = [sys.executable, "-c", LOOKUP_CPYTHON]
    else:
        argv = [micropython_binary(), "-c", LOOKUP_MICROPYTHON]
    words = in_namespace(tmp_path, argv).split()
    assert words[0] == "failed", words
    assert float(words[2]) < 3.0, "the look-up took %s s: it waited for a DNS server" % words[2]


# A DNS stub on 127.0.0.1:53 that answers every query "no such name" and keeps the
# names asked; it runs the look-ups given as argv (fields joined by \x1f).
STUB_AND_LOOKUPS = """
import socket, subprocess, sys, threading
stub = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
stub.bind(("127.0.0.1", 53))
stub.settimeout(10)
asked = []
def serve():
    while True:
        try:
            query, peer = stub.recvfrom(512)
        except OSError:
            return
        name, i = [], 12
        while query[i]:
            name.append(query[i + 1 : i + 1 + query[i]].decode())
            i += 1 + query[i]
        asked.append(".".join(name))
        flags = (0x8180 | 3).to_bytes(2, "big")  # response, recursion, NXDOMAIN
        stub.sendto(query[:2] + flags + query[4:6] + bytes(6) + query[12 : i + 5], peer)
threading.Thread(target=serve, daemon=True).start()
for argv in sys.argv[1:]:
    out = subprocess.run(argv.split("\\x1f"), capture_output=True, text=True, timeout=20)
    print("LOOKUP", out.stdout.strip(), out.stderr.strip()[-200:])
print("ASKED", " ".join(asked))
"""


def test_queries_go_to_127_0_0_1_only(tmp_path):
    """In a namespace with its own loopback-only network, a DNS stub on
    127.0.0.1:53 sees both runtimes' queries and answers them: the resolver
    files in force send every query there."""
    lookups = [
        [sys.executable, "-c", LOOKUP_CPYTHON.replace("no-such-host", "cpython-probe")],
        [micropython_binary(), "-c", LOOKUP_MICROPYTHON.replace("no-such-host", "mpy-probe")],
    ]
    argv = [sys.executable, "-c", STUB_AND_LOOKUPS] + ["\x1f".join(a) for a in lookups]
    output = in_namespace(tmp_path, argv, network=True)
    asked = [line for line in output.splitlines() if line.startswith("ASKED")][0].split()[1:]
    assert "cpython-probe.invalid" in asked, output
    assert "mpy-probe.invalid" in asked, output
    assert set(asked) <= {"cpython-probe.invalid", "mpy-probe.invalid"}, output
    results = [line.split()[1:3] for line in output.splitlines() if line.startswith("LOOKUP")]
    # both failed with the stub's answer: "no such name" (EAI_NONAME, -2)
    assert results == [["failed", "-2"], ["failed", "-2"]], output


def test_a_non_local_look_up_in_the_test_process_is_refused():
    with pytest.raises(private_resolver.LookupLeaves):
        socket.getaddrinfo("no-such-host.invalid", 80)
    with pytest.raises(private_resolver.LookupLeaves):
        socket.gethostbyname("example.invalid")
    import twinsock

    # twinsock passes it on as a NetError that says why
    with pytest.raises(twinsock.NetError, match="would ask the machine's DNS server"):
        twinsock.resolve("no-such-host.invalid", 80)
    # local names and numeric hosts resolve as before
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("127.0.0.1", 80)
    assert twinsock.resolve("127.1", 80)[0].get_host_port() == ("127.0.0.1", 80)


def test_what_never_reaches_a_resolver_is_let_through():
    known = {"localhost", "vm"}
    for host in (None, "", "127.0.0.1", "::1", "fe80::1%lo", "0x7f.0.0.1", "localhost",
                 "LOCALHOST.", "vm", "a\x00b", "x" * 300, b"\xff"):  # fmt: skip
        assert not private_resolver.needs_dns(host, known), host
    for host in ("no-such-host.invalid", "example.com", b"example.com", "v.m"):
        assert private_resolver.needs_dns(host, known), host
