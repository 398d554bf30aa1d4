"""The host server for a HIL run: started per board (its own ports, certificates and
PSK), described to the board in a small module written onto it, stopped at the end.

The board learns everything from ``/lib/hil_env.py`` (never from a long command line:
MicroPython builds choke on them): the server address, one port per service, the CA,
the client certificate and key (DER), the PSK, and the name in the server certificate.
The check scripts in tests/board/ ``import hil_env``."""

import os
import shutil
import tempfile

from tools.hostserver import HostServerProcess
from tools.hostserver.pki import Pki

from .deploy import write_file
from .errors import HilError
from .filelist import REPO_ROOT

BOARD_ENV_PATH = "/lib/hil_env.py"
BOARD_SUPPORT_PATH = "/lib/hilcheck.py"  # tests/board/_support.py: the checks' helpers
SUPPORT_SOURCE = os.path.join(REPO_ROOT, "tests", "board", "_support.py")
FORGET_MODULES = "import sys\nfor _m in ('hil_env', 'hilcheck'):\n    sys.modules.pop(_m, None)\n"
SERVER_READY_TIMEOUT_S = 20.0


class HilServer:
    """``with HilServer("127.0.0.1", lifetime_s=600) as server: server.env_source()``"""

    def __init__(self, host="127.0.0.1", lifetime_s=900.0, log_path=None):
        self.host = host
        self.lifetime_s = lifetime_s
        self.state_dir = tempfile.mkdtemp(prefix="twinsock-hil-server-")
        self.pki_dir = os.path.join(self.state_dir, "pki")
        self.log_path = log_path or os.path.join(self.state_dir, "hostserver.jsonl")
        self.process = None

    def start(self):
        if os.path.exists(self.log_path):
            os.remove(self.log_path)  # the server appends: one run per log
        args = ["--bind", self.host, "--secure", "--pki", self.pki_dir]
        args += ["--lifetime", str(self.lifetime_s), "--log", self.log_path]
        try:
            self.process = HostServerProcess(args, ready_timeout=SERVER_READY_TIMEOUT_S)
        except (RuntimeError, OSError) as error:
            self.stop()
            raise HilError(
                "host server on %s did not start (%s): is %s an address of this host?"
                % (self.host, error, self.host)
            ) from error
        return self

    @property
    def ports(self):
        return self.process.description["hosts"][self.host]

    @property
    def psk(self):
        psk = self.process.description["psk"]
        return psk["identity"].encode(), bytes.fromhex(psk["key"])

    def env_source(self):
        """The text of hil_env.py: plain assignments of literals."""
        pki = Pki.load(self.pki_dir)
        identity, key = self.psk
        values = [
            ("SERVER_HOST", self.host),
            ("SERVER_NAME", "localhost"),  # in the server certificate besides the address
            ("PORTS", dict(sorted(self.ports.items()))),
            ("CA", pki.read("ca", ".der")),
            ("CA_PEM", pki.read("ca")),
            ("CLIENT_CERT", pki.read("client", ".der")),
            ("CLIENT_KEY", pki.read("client_key", ".der")),
            ("PSK_IDENTITY", identity),
            ("PSK_KEY", key),
        ]
        lines = ["# Written by the HIL harness (tools/hil/server.py) for this run: do not edit."]
        lines += ["%s = %r" % item for item in values]
        return "\n".join(lines) + "\n"

    def install_on(self, board):
        """hil_env.py and the checks' helper module onto the board (an earlier run's
        copies forgotten, in case the board kept them imported)."""
        write_file(board, BOARD_ENV_PATH, self.env_source().encode())
        with open(SUPPORT_SOURCE, "rb") as support:
            write_file(board, BOARD_SUPPORT_PATH, support.read())
        board.run(FORGET_MODULES, 5.0)

    def stop(self):
        if self.process is not None:
            self.process.stop()
            self.process = None
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
