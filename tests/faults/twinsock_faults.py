# Fault scenarios run by twinsock on CPython or MicroPython, driven by
# tests/faults/test_twinsock_faults.py, which starts the peers and the impairment
# proxy first. argv[1] is a JSON job {"scenario": name, ...parameters}; the script
# prints ONE line "@@faults {json result}" (what happened, never a judgement: the
# test judges) and exits. Code here must run on MicroPython: no f-strings beyond
# what boards have, no CPython-only modules.
import json
import sys
import time

import twinsock

MARK = "@@faults "
DGRAM = "@@dgram "


def ticks_ms():
    try:
        return time.ticks_ms()
    except AttributeError:
        return int(time.monotonic() * 1000)


def elapsed_ms(start):
    try:
        return time.ticks_diff(time.ticks_ms(), start)
    except AttributeError:
        return ticks_ms() - start


def error_record(e):
    """What a caller sees of an exception: its class, errno and message."""
    return {
        "type": type(e).__name__,
        "netError": isinstance(e, twinsock.NetError),
        "errno": e.args[0] if e.args and isinstance(e.args[0], int) else None,
        "message": str(e),
    }


def traceback_of(e):
    try:
        import io

        out = io.StringIO()
        sys.print_exception(e, out)
        return out.getvalue()
    except AttributeError:  # CPython
        import traceback

        return "".join(traceback.format_exception(type(e), e, e.__traceback__))


class PatternCheck:
    """Checks a stream against the known pattern (byte i is i % 251) chunk by chunk,
    with one reference buffer allocated up front."""

    def __init__(self, chunk):
        self.reference = bytes(i % 251 for i in range(251 + chunk))
        self.offset = 0
        self.first_bad = None

    def feed(self, view):
        n = len(view)
        start = self.offset % 251
        if self.first_bad is None and bytes(view) != self.reference[start : start + n]:
            for i in range(n):
                if view[i] != (self.offset + i) % 251:
                    self.first_bad = self.offset + i
                    break
        self.offset += n


def tcp_download(job):
    """Receive until the stream ends (b"") or fails; check every byte."""
    chunk = job.get("chunk", 4096)
    buf = bytearray(chunk)
    view = memoryview(buf)
    check = PatternCheck(chunk)
    result = {"received": 0, "end": None, "error": None}
    start = ticks_ms()
    last = start
    with twinsock.tcp_socket() as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, job.get("timeout_ms", 5000))
        s.connect(job["host"], job["port"])
        timeouts = job.get("tolerate_timeouts", 0)
        use_receive = job.get("method") == "receive"
        result["timeouts"] = []
        try:
            while True:
                try:
                    if use_receive:
                        data = s.receive(chunk)
                        n = len(data)
                        buf[:n] = data
                    else:
                        n = s.receive_into(buf)
                except twinsock.NetError as e:
                    # A stall longer than the receive timeout: ETIMEDOUT, and the
                    # socket stays usable; the stream must go on where it stopped.
                    if e.args[0] != twinsock.ETIMEDOUT or len(result["timeouts"]) >= timeouts:
                        raise
                    result["timeouts"].append([check.offset, elapsed_ms(last)])
                    last = ticks_ms()
                    continue
                if n == 0:
                    result["end"] = "eof"
                    break
                check.feed(view[:n])
                last = ticks_ms()
        except Exception as e:
            result["end"] = "error"
            result["error"] = error_record(e)
            result["error_after_ms"] = elapsed_ms(last)
            if job.get("receive_again") and isinstance(e, twinsock.NetError):
                # The call after a failure: after a timeout the socket must still
                # be usable (a second wait ends the same way, no stale data); after
                # a reset it must not hang.
                again = ticks_ms()
                try:
                    n = len(s.receive(chunk)) if use_receive else s.receive_into(buf)
                    result["again"] = {"received": n}
                except Exception as e2:
                    result["again"] = error_record(e2)
                result["again"]["ms"] = elapsed_ms(again)
        if job.get("send_after") and result["end"] == "eof":
            # A half-closed stream: our direction still works.
            try:
                s.send(job["send_after"].encode())
                result["sent_after"] = True
            except Exception as e:
                result["sent_after"] = error_record(e)
            try:
                result["eof_again"] = s.receive_into(buf)
            except Exception as e:
                result["eof_again"] = error_record(e)
        result["bytes_received_opt"] = s.get_opt(twinsock.OPT_BYTES_RECEIVED)
    result["received"] = check.offset
    result["first_bad"] = check.first_bad
    result["ms"] = elapsed_ms(start)
    return result


def tcp_upload(job):
    """Send `size` pattern bytes in `chunk`-sized sends, then close (FIN)."""
    size, chunk = job["size"], job.get("chunk", 4096)
    reference = bytes(i % 251 for i in range(251 + chunk))
    result = {"sent": 0, "error": None}
    start = ticks_ms()
    with twinsock.tcp_socket() as s:
        s.connect(job["host"], job["port"])
        try:
            while result["sent"] < size:
                n = min(chunk, size - result["sent"])
                at = result["sent"] % 251
                s.send(reference[at : at + n])
                result["sent"] += n
        except Exception as e:
            result["error"] = error_record(e)
        result["bytes_sent_opt"] = s.get_opt(twinsock.OPT_BYTES_SENT)
    result["ms"] = elapsed_ms(start)
    return result


def udp_exchange(job):
    """Send `count` distinct datagrams (sizes cycle through `sizes`), taking replies
    as they come, then receive until a receive fails (times out). Every datagram
    returned is printed at once as "@@dgram index:length:same" (truncated ones add
    ":nbytes"), not collected: a board's small heap fragments under a growing list."""
    sizes = job["sizes"]
    bufsize = job["bufsize"]
    result = {"returned": 0, "truncated": 0, "errors": []}
    with twinsock.udp_socket() as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, job.get("timeout_ms", 500))
        s.connect(job["host"], job["port"])
        mode = job.get("mode", "receive")
        buf = bytearray(bufsize)
        count = job["count"]
        window = job.get("window", 8)
        seen = bytearray(count)  # seen[i]: a copy of datagram i came back
        result["seen"] = seen
        for i in range(count):
            s.send(datagram(i, sizes))
            # At most `window` datagrams unanswered, so the receive buffer never
            # overflows (that loss would be the kernel's, not the layer's); after the
            # last one, receive until a receive fails (times out).
            while not result["errors"] and (
                i == count - 1 or i + 1 - sum(seen) >= window or twinsock.poll([s], 0)
            ):
                receive_one(s, mode, buf, bufsize, sizes, result)
            if result["errors"]:
                result["failed_after_send"] = i
                break
    del result["seen"]
    return result


def datagram(i, sizes):
    """Datagram i of an exchange: "iiiii:" then "x"s, `sizes[i % len(sizes)]` long."""
    head = b"%05d:" % i
    size = sizes[i % len(sizes)]
    return (head + b"x" * size)[: max(size, len(head))]


def describe_datagram(data, sizes, seen):
    """Returns "index:length:same", where same is 1 when `data` is the start of
    datagram `index` as sent, else 0; marks `index` seen."""
    try:
        i = int(data[:5])
    except ValueError:
        return "-1:%d:0" % len(data)
    if 0 <= i < len(seen):
        seen[i] = 1
    sent = datagram(i, sizes)
    return "%d:%d:%d" % (i, len(data), 1 if sent[: len(data)] == data else 0)


def receive_one(s, mode, buf, bufsize, sizes, result):
    """One receive (`mode`: the method's name), printed as a datagram line, with
    "|host|port" for receive_from*, or recorded in `result` (an error)."""
    sender = ""
    try:
        if mode == "receive_into":
            n = s.receive_into(buf)
            data = bytes(buf[:n])
        elif mode == "receive_from":
            data, host, port = s.receive_from(bufsize)
            sender = "|%s|%d" % (host, port)
        elif mode == "receive_from_into":
            n, host, port = s.receive_from_into(buf)
            data = bytes(buf[:n])
            sender = "|%s|%d" % (host, port)
        else:
            data = s.receive(bufsize)
        line = describe_datagram(data, sizes, result["seen"]) + sender
        sys.stdout.write(DGRAM + line + "\n")
        result["returned"] += 1
    except twinsock.MessageTruncated as e:
        data = e.data if e.data is not None else bytes(buf[: e.nbytes])
        if mode.startswith("receive_from"):
            sender = "|%s|%s" % (e.host, e.port)
        line = describe_datagram(data, sizes, result["seen"]) + ":%d" % e.nbytes + sender
        sys.stdout.write(DGRAM + line + "\n")
        result["truncated"] += 1
    except Exception as e:
        result["errors"].append(error_record(e))


def udp_until_failure(job):
    """Request/response with an echo peer until a call fails (the peer dies)."""
    result = {"answered": 0, "error": None}
    timeout = job.get("timeout_ms", 500)
    with twinsock.udp_socket() as s:
        s.set_opt(twinsock.OPT_RECV_TIMEOUT, timeout)
        s.connect(job["host"], job["port"])
        sent_at = ticks_ms()
        for i in range(job.get("limit", 100000)):
            try:
                payload = b"ping %d" % i
                sent_at = ticks_ms()
                s.send(payload)
                while True:
                    reply = s.receive(64)
                    if reply == payload:
                        break
                result["answered"] += 1
            except Exception as e:
                result["error"] = error_record(e)
                result["error_after_ms"] = elapsed_ms(sent_at)
                break
    return result


SCENARIOS = {
    "tcp_download": tcp_download,
    "tcp_upload": tcp_upload,
    "udp_exchange": udp_exchange,
    "udp_until_failure": udp_until_failure,
}


def main():
    job = json.loads(sys.argv[1])
    try:
        result = SCENARIOS[job["scenario"]](job)
    except Exception as e:  # setup failed (connect...): reported, not hidden
        result = {"setup_error": error_record(e), "traceback": traceback_of(e)}
    result["runtime"] = sys.implementation.name
    sys.stdout.write(MARK + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
