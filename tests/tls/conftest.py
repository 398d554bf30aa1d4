"""pytest wiring for tests/tls: the fixtures live in tlspeers.py (a name of
its own, so `from tlspeers import ...` never meets tests/conftest.py)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
for _path in (str(ROOT / "port"), str(ROOT / "lib"), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from tlspeers import (  # noqa: E402, F401  (fixtures)
    engine_server,
    micropython,
    pki,
    processes,
    s_client,
    s_server,
    udp_relay,
)
