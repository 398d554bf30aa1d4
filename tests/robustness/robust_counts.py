"""How much the robustness suite does; environment variables scale it.

TWINSOCK_CYCLES: open/connect/close cycles per socket kind (UDP, TCP) on each
runtime (default 5000, the issue's figure). TWINSOCK_TLS_CYCLES: the
same for TLS (default 1000). TWINSOCK_EXAMPLES: hypothesis examples per property
(default 60)."""

import os

CYCLES = int(os.environ.get("TWINSOCK_CYCLES", "5000"))
TLS_CYCLES = int(os.environ.get("TWINSOCK_TLS_CYCLES", "1000"))
EXAMPLES = int(os.environ.get("TWINSOCK_EXAMPLES", "60"))
