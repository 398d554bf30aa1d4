# Millisecond ticks on every runtime: MicroPython's wrapping ticks, or
# CPython's monotonic clock.
import time

try:
    ticks_ms = time.ticks_ms
    ticks_add = time.ticks_add
    ticks_diff = time.ticks_diff
except AttributeError:  # CPython

    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_add(ticks, delta):
        return ticks + delta

    def ticks_diff(end, start):
        return end - start


# One deadline per blocking call: taken when the call starts, never restarted by a
# wake-up that brings nothing (or only part of a record). None means no limit.
def deadline_after(timeout_ms):
    return None if timeout_ms is None else ticks_add(ticks_ms(), timeout_ms)


def ms_left(deadline):
    return None if deadline is None else max(0, ticks_diff(deadline, ticks_ms()))
