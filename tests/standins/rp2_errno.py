# Stand-in for the rp2 port's `errno` module, pinned to MicroPython v1.26.1.
# - the numbers are MicroPython's own, the Linux ones (ports/rp2/mpconfigport.h:129
#   MICROPY_USE_INTERNAL_ERRNO 1; py/mperrno.h:31-78), and the names the default set
#   (py/moderrno.c:38-61): exactly the unix port's errno module.
import errno as _real

for _name in dir(_real):
    if _name.startswith("E") or _name == "errorcode":
        globals()[_name] = getattr(_real, _name)
del _name
