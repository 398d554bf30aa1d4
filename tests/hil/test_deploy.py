"""Deploy: compile with mpy-cross, copy only what changed, import on the board."""

import pytest

from tools.hil.deploy import board_mpy, compile_file, deploy, mpy_importable
from tools.hil.errors import DeployError
from tools.hil.filelist import board_files


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "lib" / "demo").mkdir(parents=True)
    (tmp_path / "lib" / "demo" / "__init__.py").write_text("from .core import answer\n")
    (tmp_path / "lib" / "demo" / "core.py").write_text("def answer():\n    return 42\n")
    (tmp_path / "port" / "demo_port").mkdir(parents=True)
    (tmp_path / "port" / "demo_port" / "__init__.py").write_text("NAME = 'unix'\n")
    return tmp_path


def test_file_list_maps_lib_and_port_into_board_lib(tree):
    paths = [f.board_path(compiled=True) for f in board_files(str(tree))]
    assert paths == [
        "/lib/demo/__init__.mpy",
        "/lib/demo/core.mpy",
        "/lib/demo_port/__init__.mpy",
    ]


def test_deploy_copies_only_what_changed(board, tree, tmp_path_factory):
    build = str(tmp_path_factory.mktemp("build"))
    first = deploy(board, board_files(str(tree)), build)
    assert len(first.copied) == 3
    second = deploy(board, board_files(str(tree)), build)
    assert second.copied == [] and len(second.unchanged) == 3
    (tree / "lib" / "demo" / "core.py").write_text("def answer():\n    return 43\n")
    (tree / "port" / "demo_port" / "__init__.py").unlink()
    third = deploy(board, board_files(str(tree)), build)
    assert third.copied == ["/lib/demo/core.mpy"]
    assert third.removed == ["/lib/demo_port/__init__.mpy"]
    assert board.eval("__import__('demo').answer()") == 43
    assert board.eval("__import__('demo').__file__") == "/lib/demo/__init__.mpy"


def test_mpy_cross_output_is_importable_by_the_interpreter(board, tree, tmp_path_factory):
    build = str(tmp_path_factory.mktemp("build"))
    data = compile_file(board_files(str(tree))[1], build)
    assert mpy_importable(data, board_mpy(board))
    assert not mpy_importable(b"M\x05\x00\x1f", board_mpy(board))


def test_a_syntax_error_stops_the_deploy(board, tree, tmp_path_factory):
    (tree / "lib" / "demo" / "core.py").write_text("def answer(:\n")
    with pytest.raises(DeployError, match="core.py"):
        deploy(board, board_files(str(tree)), str(tmp_path_factory.mktemp("build")))


def test_a_stale_py_that_shadows_a_deployed_mpy_is_removed_and_named(board, tree, tmp_path_factory):
    build = str(tmp_path_factory.mktemp("build"))
    deploy(board, board_files(str(tree)), build)
    # an older source copy (say from `mpremote mip install` of the .py files) beside the
    # .mpy: MicroPython imports demo/core.py before demo/core.mpy
    stale = "def answer():\n    return 'stale'\n"
    board.run("open('/lib/demo/core.py', 'w').write(%r)" % stale)
    assert board.eval("__import__('demo').answer()") == "stale"
    board.run("import sys\nfor m in ('demo', 'demo.core'):\n    sys.modules.pop(m, None)")
    report = deploy(board, board_files(str(tree)), build)
    assert report.shadowing == ["/lib/demo/core.py"]
    assert report.copied == [] and report.removed == []
    assert any(
        "removed   /lib/demo/core.py: it shadowed /lib/demo/core.mpy" in line
        for line in report.lines()
    ), report.lines()
    assert "1 shadowing .py removed" in report.summary()
    assert board.eval("__import__('demo').answer()") == 42
    assert board.eval("__import__('demo.core').core.__file__") == "/lib/demo/core.mpy"


def test_a_copy_in_the_flash_root_that_shadows_lib_is_removed_and_named(
    board, tree, tmp_path_factory
):
    build = str(tmp_path_factory.mktemp("build"))
    deploy(board, board_files(str(tree)), build)
    # `mpremote cp -r demo :` puts a copy in the root, which sys.path ('') searches first
    board.run(
        "import os\nos.mkdir('/demo')\n"
        "open('/demo/__init__.py', 'w').write('def answer():\\n    return \"root\"\\n')\n"
        "open('/keep.py', 'w').write('')"
    )
    assert board.eval("__import__('demo').answer()") == "root"
    board.run("import sys\nsys.modules.pop('demo', None)")
    report = deploy(board, board_files(str(tree)), build)
    assert report.shadowing_at_root == ["/demo/"]
    assert "removed   /demo/: it shadowed /lib/demo/ (sys.path searches the flash root first)" in (
        report.lines()
    )
    assert board.eval("__import__('demo').answer()") == 42
    assert board.eval("sorted(__import__('os').listdir('/'))") == ["keep.py", "lib"]
