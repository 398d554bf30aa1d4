# Stand-in for the rp2 port's `errno` module. ports/rp2 builds with
# MICROPY_USE_INTERNAL_ERRNO, so its numbers are MicroPython's own (the Linux ones)
# and its names the standard set: exactly the unix port's errno module.
import errno as _real

for _name in dir(_real):
    if _name.startswith("E") or _name == "errorcode":
        globals()[_name] = getattr(_real, _name)
del _name
