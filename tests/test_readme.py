"""The README's feature table says what twinsock.features() reports, on each runtime."""

import json
import os
import re
import subprocess
import sys

import pytest
from runtimes import MICROPYTHON_HEAP, ROOT, STANDIN_HEAP, STANDINS, micropython_binary

COLUMNS = ("cpython", "unix", "esp32", "rp2")
FEATURES_SCRIPT = """
import sys, json
board = sys.argv[1] if len(sys.argv) > 1 else ""
if board:
    import standin_common
    standin_common.install(board)
import twinsock
if board:
    import twinsock_port
    twinsock.use_platform(twinsock_port.load(board))
print(json.dumps(twinsock.features()))
"""


def readme_table():
    """{column: {feature: bool}} from the first table under '## Platforms'."""
    text = (ROOT / "README.md").read_text()
    lines = text.split("## Platforms", 1)[1].splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[first + 2 :]:  # past the header and its rule
        if not line.startswith("|"):
            break  # the end of the first table
        rows.append(line)
    table = {column: {} for column in COLUMNS}
    for line in rows:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        for column, cell in zip(COLUMNS, cells[1:]):
            word = re.match(r"(yes|no)\b", cell)
            assert word, "README cell %r for %s does not start with yes/no" % (cell, cells[0])
            table[column][cells[0]] = word.group(1) == "yes"
    return table


def micropython_features(board=None, tmp_path=None):
    script = tmp_path / "features.py"
    script.write_text(FEATURES_SCRIPT)
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join(
        [".frozen", str(ROOT / "lib"), str(ROOT / "port"), str(STANDINS)]
    )
    heap = STANDIN_HEAP if board else MICROPYTHON_HEAP
    argv = [micropython_binary(), "-X", "heapsize=" + heap, str(script)] + (
        [board] if board else []
    )
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("column", COLUMNS)
def test_readme_feature_table_matches_features(column, tmp_path):
    claimed = readme_table()[column]
    if column == "cpython":
        import twinsock

        actual = twinsock.features()
    else:
        actual = micropython_features(None if column == "unix" else column, tmp_path)
    assert set(claimed) == set(actual), "README rows differ from the features() keys"
    assert claimed == actual, "README says %r, features() says %r" % (claimed, actual)


def test_readme_table_is_read():
    table = readme_table()
    assert all(len(table[column]) == 11 for column in COLUMNS)
    assert sys.implementation.name == "cpython"
