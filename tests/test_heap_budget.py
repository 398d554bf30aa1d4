"""The heap guard: every figure of tools/bench/heap.py BUDGETS, measured as `make bench`
measures it (MicroPython unix port, .mpy from mpy-cross, -X heapsize=192K, each probe a
fresh interpreter), must stay within its budget. The budgets live only in BUDGETS; this
test reads them from there, the TLS ones (TLS_FIGURES) included."""

import pytest

from tools.bench import heap

# Loading code interns its names into MicroPython's qstr pool, which grows in whole
# pools: a change of a few names can move a code figure by one pool step (a few
# hundred bytes) either way. The code figures get that much margin; the per-socket
# and per-call figures are exact.
QSTR_POOL_STEP = 512
CODE_FIGURES = ("core_ready", "import_udp_tcp", "tls_code", "dtls_code")


@pytest.fixture(scope="module")
def figures():
    return heap.measure()


@pytest.mark.parametrize("name", list(heap.BUDGETS))
def test_within_budget(figures, name):
    value = figures[name]
    assert isinstance(value, (int, float)), "%s could not be measured: %s" % (name, value)
    limit = heap.BUDGETS[name] + (QSTR_POOL_STEP if name in CODE_FIGURES else 0)
    owner = " (TLS figure: lib/twinsock/tls.py, port tls_*.py)" if name in heap.TLS_FIGURES else ""
    assert value <= limit, "%s takes %s B, budget %d B%s" % (name, value, heap.BUDGETS[name], owner)
