"""Every way a board loads twinsock, on the emulated board through stock mpremote: mip
from a checkout (a port's own files), mip of the precompiled .mpy form, a ROMFS image
mounted at /rom, each followed by a UDP/TCP exchange (and the HIL suite for the .mpy
form and ROMFS); and the freeze manifests stay valid."""

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from tools.hil import packaging, romfs
from tools.hil.filelist import REPO_ROOT, board_files

MPREMOTE_TIMEOUT_S = 120
SERVER_LIFETIME_S = 60


def mpremote(port, *args, cwd=REPO_ROOT):
    command = [sys.executable, "-m", "mpremote", "connect", port] + list(args)
    ran = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=MPREMOTE_TIMEOUT_S
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return ran.stdout


class EchoServers:
    """A UDP and a TCP echo on 127.0.0.1, each with a time limit, stopped on exit."""

    def __init__(self):
        self.stop = threading.Event()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        for s in (self.udp, self.tcp):
            s.bind(("127.0.0.1", 0))
            s.settimeout(0.2)
        self.tcp.listen(1)
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._udp, self._tcp)]

    def _udp(self):
        while not self.stop.wait(0):
            try:
                data, peer = self.udp.recvfrom(2048)
            except socket.timeout:
                continue
            self.udp.sendto(data, peer)

    def _tcp(self):
        while not self.stop.wait(0):
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(SERVER_LIFETIME_S)
                data = conn.recv(2048)
                conn.sendall(data)

    def __enter__(self):
        for t in self.threads:
            t.start()
        self.timer = threading.Timer(SERVER_LIFETIME_S, self.stop.set)
        self.timer.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.timer.cancel()
        for t in self.threads:
            t.join(timeout=5)
        self.udp.close()
        self.tcp.close()

    @property
    def ports(self):
        return self.udp.getsockname()[1], self.tcp.getsockname()[1]


SMOKE = """
import twinsock
print(twinsock.__file__)
u = twinsock.udp_socket()
u.connect("127.0.0.1", %d)
u.send(b"udp-ping")
print(u.receive(64))
u.cleanup()
t = twinsock.tcp_socket()
t.connect("127.0.0.1", %d)
t.send(b"tcp-ping")
print(t.receive(64))
t.cleanup()
"""


def smoke(port):
    """A UDP and a TCP exchange on the board: returns the file twinsock came from."""
    with EchoServers() as servers:
        lines = mpremote(port, "exec", SMOKE % servers.ports).split()
    assert lines[1:] == ["b'udp-ping'", "b'tcp-ping'"], lines
    return lines[0]


def run_suite(port):
    """The HIL suite (tests/board and the built-in checks) on the board as it is, with
    the host server; no deploy, so twinsock runs from where the form under test put it."""
    command = [sys.executable, "-m", "tools.hil", "run", "--board", "unix", "--port", port]
    ran = subprocess.run(
        command + ["--no-deploy"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    assert " 0 failed" in ran.stdout
    return ran.stdout


def lib_tree(flash_dir):
    lib = os.path.join(flash_dir, "lib")
    found = set()
    for directory, _, names in os.walk(lib):
        for name in names:
            found.add(os.path.relpath(os.path.join(directory, name), lib).replace(os.sep, "/"))
    return found


# -- the files, without a board -----------------------------------------------------


def test_port_package_files_are_current_and_board_sized():
    files = board_files()
    for port in packaging.PORTS:
        with open(packaging.port_package_json(port)) as committed:
            listed = json.load(committed)
        mine = packaging.files_for_port(files, port)
        assert listed == json.loads(packaging.render_package_json(mine)), "run `make package`"
        names = {target for target, _ in listed["urls"]}
        assert "twinsock_port/%s.py" % port in names
        others = {"twinsock_port/%s.py" % p for p in packaging.PORTS if p != port}
        assert not names & others, "another port's profile in package-%s.json" % port
        assert "twinsock/__init__.py" in names and "twinsock/tls.py" in names


def run_manifest(path):
    """Execute a manifest.py as MicroPython's makemanifest does (include, package,
    module; paths relative to the manifest's folder): {frozen path: source file}."""
    here = os.path.dirname(path)
    frozen = {}

    def package(name, files=None, base_path=".", opt=None):
        for f in files:
            frozen[name + "/" + f] = os.path.normpath(os.path.join(here, base_path, name, f))

    def module(name, base_path=".", opt=None):
        frozen[name] = os.path.normpath(os.path.join(here, base_path, name))

    includes = []
    with open(path) as f:
        code = compile(f.read(), path, "exec")
    exec(code, {"package": package, "module": module, "include": includes.append})
    assert includes == ["$(BOARD_DIR)/manifest.py"]  # the board's own frozen modules
    return frozen


@pytest.mark.parametrize("board_name", packaging.MANIFEST_BOARDS)
def test_freeze_manifest_is_valid_and_compiles(board_name, tmp_path):
    port = packaging.BOARD_PORTS[board_name]
    frozen = run_manifest(packaging.manifest_path(board_name))
    expected = {f.relative: f.source for f in packaging.files_for_port(board_files(), port)}
    assert frozen == expected
    for relative, source in frozen.items():
        out = tmp_path / (relative.replace("/", "_") + ".mpy")
        compiled = subprocess.run(
            [packaging.mpy_cross(), "-o", str(out), "-s", relative, source],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert compiled.returncode == 0 and out.stat().st_size > 0, compiled.stderr


# -- on the emulated board ----------------------------------------------------------


def test_mip_from_a_checkout_gives_the_board_its_own_ports_files(emulated):
    out = mpremote(emulated.port, "mip", "install", "./package-unix.json")
    assert "Installing:" in out
    expected = {f.relative for f in packaging.files_for_port(board_files(), "unix")}
    assert lib_tree(emulated.flash_dir) == expected
    assert "twinsock_port/rp2.py" not in expected and "twinsock_port/unix.py" in expected
    assert smoke(emulated.port) == "/lib/twinsock/__init__.py"


def test_mip_of_the_precompiled_form_installs_mpy_only(emulated, tmp_path):
    index = tmp_path / "mip"
    written = packaging.build_mpy_index(str(index))
    assert str(index / "package-unix.json") in written
    mpremote(emulated.port, "mip", "install", str(index / "package-unix.json"))
    expected = {f.relative[:-3] + ".mpy" for f in packaging.files_for_port(board_files(), "unix")}
    assert lib_tree(emulated.flash_dir) == expected
    assert smoke(emulated.port) == "/lib/twinsock/__init__.mpy"
    assert "dtls_psk" in run_suite(emulated.port)


def test_romfs_image_is_mounted_at_rom_and_runs_in_place(emulated, tmp_path):
    image = romfs.build_image(str(tmp_path / "twinsock.romfs"))
    with open(image, "rb") as built:
        data = built.read()
    assert b"twinsock/net.py" in data and b"/tmp" not in data  # sources named as on a board
    said = romfs.deploy(emulated.port, image)
    assert "emulated ROM partition" in said
    assert lib_tree(emulated.flash_dir) == set()  # nothing of twinsock in /lib
    paths = mpremote(emulated.port, "exec", "import sys; print(sys.path)")
    assert paths.strip() == "['', '.frozen', '/rom', '/rom/lib', '/lib']"
    listing = mpremote(emulated.port, "fs", "ls", ":/rom/lib/twinsock")
    assert "net.mpy" in listing and "net.py" not in listing
    assert smoke(emulated.port) == "/rom/lib/twinsock/__init__.mpy"
    assert "dtls_psk" in run_suite(emulated.port)


def test_romfs_deploy_without_a_port_uses_a_throwaway_emulated_board(tmp_path):
    """`make deploy ROMFS=1` without PORT: builds, deploys, imports from /rom, says so."""
    image = tmp_path / "twinsock.romfs"
    ran = subprocess.run(
        [sys.executable, "-m", "tools.hil.romfs", "deploy", "--output", str(image)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=MPREMOTE_TIMEOUT_S,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("%d-byte ROMFS image deployed" % image.stat().st_size)
    assert lines[1].startswith("twinsock imports from /rom/lib/twinsock/__init__.mpy")
    assert lines[-1] == "(no PORT given: that was a throwaway emulated board, now stopped)"
