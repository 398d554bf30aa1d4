"""Paths and script loading shared by the harness tests (imported by name: keep unique)."""

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def script(name):
    with open(os.path.join(SCRIPTS, name)) as source:
        return source.read()
