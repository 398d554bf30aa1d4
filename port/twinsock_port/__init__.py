# Chooses the platform shim once: by name, or from the running interpreter.
#
# Names: "cpython", "unix" (MicroPython unix port), "esp32", "rp2".
import sys


def detect():
    if sys.implementation.name != "micropython":
        return "cpython"
    if sys.platform in ("esp32", "rp2"):
        return sys.platform
    return "unix"


def load(name=None):
    """Return a fresh platform object for `name` (default: the running one)."""
    name = name or detect()
    if name == "cpython":
        from twinsock_port.cpython import CPythonPlatform

        return CPythonPlatform()
    if name not in ("unix", "esp32", "rp2"):
        raise ValueError("unknown twinsock platform %r" % name)
    from twinsock_port.micropython import MicroPythonPlatform

    __import__("twinsock_port." + name)
    return MicroPythonPlatform(name, sys.modules["twinsock_port." + name])
