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
    from twinsock_port.micropython import MicroPythonPlatform

    if name == "unix":
        from twinsock_port import unix as profile
    elif name == "esp32":
        from twinsock_port import esp32 as profile
    elif name == "rp2":
        from twinsock_port import rp2 as profile
    else:
        raise ValueError("unknown twinsock platform %r" % name)
    return MicroPythonPlatform(name, profile)
