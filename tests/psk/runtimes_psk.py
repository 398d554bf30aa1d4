"""Where the MicroPython interpreter is and the path it loads twinsock from."""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def mp_binary():
    path = ROOT / ".venv" / "bin" / "micropython"
    if not path.exists():
        raise RuntimeError("micropython is not in .venv: run `make venv`")
    return str(path)


def mp_env(*extra):
    env = dict(os.environ)
    env["MICROPYPATH"] = ":".join([str(ROOT / "lib"), str(ROOT / "port"), str(HERE), *extra])
    return env
