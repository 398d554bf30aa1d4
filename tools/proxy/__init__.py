"""twinsock impairment proxy: a userspace UDP/TCP relay that misbehaves on purpose.

No root, no netem, stdlib only: it works on this machine (whose kernel has no netem) and
on a real bench between a board and the host server (bind it to the bench's address).

UDP: loss, delay, jitter, reordering, duplication, corruption, "drop the first N", and
a 100% loss blackhole. TCP: stalls (at offsets, every N bytes, or at random), slow
reads (small or random read sizes, a byte rate), mid-stream reset (RST) and half-close
(FIN) after N bytes, freezing (a peer that vanished) and reset-all (a peer that died).
Every random decision comes from a stream seeded by `seed` and the direction (and TCP
connection number): the same seed and the same traffic give the same decisions.

In a test::

    from tools.proxy import UdpProxy, UdpImpairment
    with UdpProxy(("127.0.0.1", server_port), down=UdpImpairment(duplicate=0.5),
                  seed=3) as proxy:
        ... talk to ("127.0.0.1", proxy.port) ...
        proxy.stats()["down"]["duplicated"]

or as a process (`ProxyProcess`, or `python -m tools.proxy --help`).
"""

import json
import os
import selectors
import subprocess
import sys
import time

from tools.proxy.common import format_address, parse_address
from tools.proxy.tcp import TcpImpairment, TcpProxy
from tools.proxy.udp import UdpImpairment, UdpProxy

__all__ = [
    "ProxyProcess",
    "TcpImpairment",
    "TcpProxy",
    "UdpImpairment",
    "UdpProxy",
    "format_address",
    "parse_address",
]

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ProxyProcess:
    """`python -m tools.proxy ...` as a subprocess: started, ready line read (within
    `ready_timeout` s), stopped by `stop()` or a `with` block. `args` are the command
    line after `python -m tools.proxy`, e.g. ["udp", "--upstream", "127.0.0.1:5683"]."""

    def __init__(self, args, ready_timeout=10.0):
        self.args = list(args)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tools.proxy", *self.args],
            cwd=_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.ready = self._read_line(ready_timeout)
        if not self.ready or not self.ready.get("ready"):
            err = self.stop()
            raise RuntimeError("proxy not ready: %r %s" % (self.ready, err))
        self.port = self.ready["port"]
        self.final_stats = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if sel.select(deadline - time.monotonic()):
                    line = self.process.stdout.readline()
                    return json.loads(line) if line else None
        return None

    def wait(self, timeout):
        """Wait for the process to exit by itself; return its final statistics."""
        self.process.wait(timeout)
        return self._finish()

    def stop(self, timeout=5.0):
        """Terminate (if still running) and return stderr's text."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self._finish()

    def _finish(self):
        if self.process.stdout.closed:
            return ""
        rest = self.process.stdout.read()
        for line in rest.splitlines():
            record = json.loads(line)
            if "stats" in record:
                self.final_stats = record["stats"]
        err = self.process.stderr.read()
        self.process.stdout.close()
        self.process.stderr.close()
        return err
