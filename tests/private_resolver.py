"""Name resolution that stays on this machine, for tests that look up names that
must fail (``no-such-host.invalid``) or names of their own.

`prefix(directory, hosts)` is a command prefix: the command runs in a private
mount namespace (``unshare -m``; ``-rm`` when not root) whose /etc/resolv.conf,
/etc/nsswitch.conf and, given `hosts`, /etc/hosts are files of ours, bind-mounted
over the real ones (which are never touched):

- resolv.conf names one DNS server, 127.0.0.1, where nothing answers: the query
  is refused on the loopback interface and the look-up fails at once;
- nsswitch.conf is the machine's with its ``hosts:`` line replaced by
  ``files dns``: no other name service (systemd-resolved, mDNS) is asked;
- a running nscd is hidden (its socket directory covered by an empty tmpfs).

The prefix checks, inside the namespace, that the files in force are ours before
it runs the command, and stops otherwise (exit 97); where namespaces are not
allowed the command fails with unshare's or our message (never a silent run
against the machine's resolver).

`guard_this_process()` covers what a test looks up in the pytest process itself:
a name that is neither numeric, nor "localhost", nor in the machine's /etc/hosts
raises `LookupLeaves` instead of asking the machine's DNS."""

import ipaddress
import os
import shutil
import socket
import sys
from pathlib import Path

DNS_SERVER = "127.0.0.1"
RESOLV_CONF = (
    "# twinsock tests: DNS only on the loopback interface, where nothing answers\n"
    "nameserver %s\noptions timeout:1 attempts:1\n" % DNS_SERVER
)
NSCD_DIRS = ("/run/nscd", "/var/run/nscd")
# Said when the namespace cannot be made (no unshare, no user namespaces).
NO_NAMESPACE = (
    "tests that resolve names need a private mount namespace (util-linux unshare; "
    "as a non-root user, user namespaces: sysctl kernel.unprivileged_userns_clone=1)"
)


def nsswitch_conf(real="/etc/nsswitch.conf"):
    """The machine's nsswitch.conf with hosts looked up in files, then DNS only."""
    try:
        lines = Path(real).read_text().splitlines()
    except OSError:
        lines = []
    lines = [line for line in lines if not line.split(":")[0].strip() == "hosts"]
    return "\n".join(lines + ["hosts: files dns"]) + "\n"


def hosts_file(hosts, real="/etc/hosts"):
    """The machine's /etc/hosts (so "localhost" means what it means outside) with
    `hosts` ({name: [address, ...]}) added."""
    try:
        lines = Path(real).read_text().splitlines()
    except OSError:
        lines = ["127.0.0.1 localhost"]
    for name, addresses in hosts.items():
        lines += ["%s %s" % (address, name) for address in addresses]
    return "\n".join(lines) + "\n"


def prefix(directory, hosts=None, network=False):
    """argv prefix running a command with a private resolver (see the module doc).
    `directory` receives our files; `hosts` ({name: [address, ...]}) are added
    to /etc/hosts; `network=True` also gives the command its own network namespace
    with only a loopback interface (used to watch where queries go)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {"/etc/resolv.conf": RESOLV_CONF, "/etc/nsswitch.conf": nsswitch_conf()}
    if hosts is not None:
        files["/etc/hosts"] = hosts_file(hosts)
    steps = []
    for target, text in files.items():
        ours = directory / Path(target).name
        fresh = directory / (ours.name + ".new")
        fresh.write_text(text)
        os.replace(fresh, ours)  # a namespace starting now never sees half a file
        steps.append('mount --bind "%s" %s' % (ours, target))
        steps.append(
            'cmp -s "%s" %s || { echo "%s is not ours" >&2; exit 97; }' % (ours, target, target)
        )
    for nscd in NSCD_DIRS:
        steps.append("if [ -d %s ]; then mount -t tmpfs none %s; fi" % (nscd, nscd))
    if network:
        steps.append("ip link set lo up")
    unshare = shutil.which("unshare")
    if unshare is None:
        return ["sh", "-c", 'echo "%s" >&2; exit 97' % NO_NAMESPACE, "private-resolver"]
    flags = ("-m" if os.geteuid() == 0 else "-rm") + ("n" if network else "")
    script = 'set -e; %s; exec "$@"' % "; ".join(steps)
    return [unshare, flags, "sh", "-c", script, "private-resolver"]


class LookupLeaves(RuntimeError):
    """A test in the pytest process looked up a name the machine's DNS would get."""


def _numeric(host):
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(host)  # "127.1", "0x7f.0.0.1": inet_aton forms, no DNS
        return True
    except (OSError, ValueError):
        return False


def local_names(path="/etc/hosts"):
    names = {"localhost"}
    try:
        for line in Path(path).read_text().splitlines():
            names.update(line.split("#", 1)[0].split()[1:])
    except OSError:
        pass
    return names


def needs_dns(host, known):
    """True when getaddrinfo(host) would send a query to the machine's DNS."""
    if host is None:
        return False
    if isinstance(host, (bytes, bytearray)):
        try:
            host = bytes(host).decode("ascii")
        except UnicodeError:
            return False  # never reaches the resolver
    if not isinstance(host, str) or not host or "\x00" in host:
        return False
    try:
        host.encode("idna")
    except UnicodeError:
        return False  # CPython refuses it before any look-up
    return not _numeric(host) and host.rstrip(".").lower() not in known


_guarded = False
LOOKUPS = ("socket.getaddrinfo", "socket.gethostbyname")  # audit events (_ex too)


def guard_this_process(also=()):
    """From now on a look-up of a non-local name in this process raises
    LookupLeaves (an audit hook on socket.getaddrinfo; it cannot be removed).
    `also`: names the user gave on purpose (a board bench's server)."""
    global _guarded
    if _guarded:
        return
    known = {name.lower() for name in local_names()}
    known.update(name.lower() for name in also if name)

    def hook(event, args):
        if event in LOOKUPS and needs_dns(args[0], known):
            raise LookupLeaves(
                "looking up %r here would ask the machine's DNS server; tests resolve "
                "such names in a private namespace (tests/private_resolver.py; behaviour "
                "files: declare HOSTS)" % (args[0],)
            )

    sys.addaudithook(hook)
    _guarded = True
