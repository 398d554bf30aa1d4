"""The openssl TLS peer of the robustness tests (a module of its own name, so
that tests import it without meeting another directory's conftest.py)."""

import shutil
import signal
import socket
import subprocess
import threading

OPENSSL = shutil.which("openssl")
SERVER_LIFETIME = 300  # seconds: longer than the whole suite


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    """In the child before exec: SIGKILL it when the parent dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class TlsServer:
    """`openssl s_server` on 127.0.0.1 that accepts one connection after
    another (failed handshakes included) until stopped or `limit_s` passes.
    A thread drains its output (what clients sent is printed there)."""

    def __init__(self, pki, cert="server", dtls=False, limit_s=SERVER_LIFETIME, extra=()):
        self.port = free_port(socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM)
        argv = [OPENSSL, "s_server", "-accept", "127.0.0.1:%d" % self.port]
        argv += ["-cert", pki.path(cert), "-key", pki.path(cert, ".key")]
        if dtls:
            argv.append("-dtls")
        argv += list(extra)
        self.lines = []
        self._ready = threading.Event()
        # openssl dies with this process (PR_SET_PDEATHSIG), and a timer ends
        # it after limit_s even if nobody calls stop().
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self._timer = threading.Timer(limit_s, self._kill)
        self._timer.daemon = True
        self._timer.start()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("openssl s_server never listened: %s" % self.output())

    def _drain(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            if "ACCEPT" in line:
                self._ready.set()
        self._ready.set()

    def output(self):
        return "\n".join(self.lines)

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()

    def stop(self):
        self._timer.cancel()
        self._kill()
        self.proc.wait(5)
        self._thread.join(5)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
