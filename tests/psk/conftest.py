"""pytest wiring for tests/psk: twinsock's own DTLS 1.2 PSK engine
(port/twinsock_port/tls_psk*.py). Fixtures live in pskpeers.py."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
for _path in (
    str(ROOT / "tests"),
    str(ROOT / "tests" / "tls"),
    str(ROOT / "port"),
    str(ROOT / "lib"),
    str(HERE),
):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from pskpeers import (  # noqa: E402, F401  (fixtures)
    board_code,
    core_server,
    lossy_relay,
    mbedtls_server,
    port_changing_relay,
    psk_peer,
    psk_s_server,
)
from tlspeers import processes  # noqa: E402, F401  (fixture)
