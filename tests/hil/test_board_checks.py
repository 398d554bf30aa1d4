"""The on-board checks (tests/board/) driven piece by piece: each skips exactly what
twinsock.features() says the board lacks, and runs everything else."""

import os

import pytest
from hil_support import REPO_ROOT, start_emulated

from tools.hil import checks
from tools.hil.deploy import deploy
from tools.hil.server import HilServer

BOARD_CHECKS = os.path.join(REPO_ROOT, "tests", "board")
SECURE_CHECKS = ("tls_cert", "tls_psk", "tls_bad_ca", "dtls_cert", "dtls_psk")

# Put in front of a check: this board pretends to lack some features.
LACKING = """
import twinsock
_real_features = twinsock.features
def _features():
    have = _real_features()
    for name in %r:
        have[name] = False
    return have
twinsock.features = _features
"""


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """One emulated board with twinsock deployed and a host server described on it."""
    from tools.hil.board import Board

    emulated = start_emulated()
    board = Board.open(emulated.port, "unix", hard_reset=emulated.press_reset)
    build = str(tmp_path_factory.mktemp("mpy"))
    try:
        deploy(board, build_dir=build)
        with HilServer("127.0.0.1", lifetime_s=120) as server:
            server.install_on(board)
            yield board
    finally:
        board.close()
        emulated.stop()


def run(board, name, lacking=()):
    check = checks.Check.from_file(os.path.join(BOARD_CHECKS, name + ".py"), 30.0)
    prelude = LACKING % (tuple(lacking),) if lacking else ""
    # the patch must not outlive the check: the board keeps twinsock imported
    epilogue = "\ntwinsock.features = _real_features\n" if lacking else ""
    check.source = prelude + check.source + epilogue
    return checks.run_check(board, check)


@pytest.mark.parametrize(
    "lacking, skipped",
    [
        (("dtls",), {"dtls_cert", "dtls_psk"}),
        (("psk",), {"tls_psk", "dtls_psk"}),
        (("tls",), {"tls_cert", "tls_psk", "tls_bad_ca"}),
        ((), set()),
    ],
)
def test_checks_skip_only_what_the_board_lacks(prepared, lacking, skipped):
    results = {name: run(prepared, name, lacking) for name in SECURE_CHECKS}
    outcome = {name: result.result for name, result in results.items()}
    assert outcome == {
        name: checks.SKIP if name in skipped else checks.PASS for name in SECURE_CHECKS
    }, {name: result.detail for name, result in results.items()}
    for name in skipped:
        assert "board lacks" in results[name].detail


def test_a_closed_tls_socket_gives_its_heap_back(prepared):
    result = run(prepared, "heap_report")
    assert result.result == checks.PASS, result.detail
    assert b"HIL heap_per_tls_connection" in result.transcript
