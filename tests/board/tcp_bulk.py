# TCP: 256 KB up and back through the echo service, and 256 KB down from the
# control service, both checked byte for byte (and by SHA-256 where the board has it).
import hil_env
import twinsock
from hilcheck import elapsed_ms, ensure, pattern_at, report, ticks_ms

TOTAL = 256 * 1024
CHUNK = 4096

try:
    from hashlib import sha256
except ImportError:
    sha256 = None


def receive_exactly(sock, view, n):
    got = 0
    while got < n:
        count = sock.receive_into(view[got:n])
        ensure(count > 0, "EOF after %d of %d bytes" % (got, n))
        got += count


def echo_upload(host):
    out = bytearray(CHUNK)
    back = bytearray(CHUNK)
    view = memoryview(back)
    sent_hash = sha256() if sha256 else None
    back_hash = sha256() if sha256 else None
    start = ticks_ms()
    with twinsock.tcp_socket() as sock:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 10000)
        sock.connect(host, hil_env.PORTS["tcp_echo"])
        for offset in range(0, TOTAL, CHUNK):
            for i in range(0, CHUNK, 256):  # vary the content per chunk
                out[i] = (offset // CHUNK + i) & 0xFF
            sock.send(out)
            receive_exactly(sock, view, CHUNK)
            ensure(back == out, "echo differs in the chunk at %d" % offset)
            if sent_hash:
                sent_hash.update(out)
                back_hash.update(back)
        ensure(sock.get_opt(twinsock.OPT_BYTES_SENT) == TOTAL, "OPT_BYTES_SENT")
        ensure(sock.get_opt(twinsock.OPT_BYTES_RECEIVED) == TOTAL, "OPT_BYTES_RECEIVED")
    if sent_hash:
        ensure(sent_hash.digest() == back_hash.digest(), "SHA-256 of the echo differs")
    ms = max(1, elapsed_ms(start))
    report("tcp_echo_kbps", TOTAL * 2 * 1000 // 1024 // ms)


def download(host):
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    start = ticks_ms()
    with twinsock.tcp_socket() as sock:
        sock.set_opt(twinsock.OPT_RECV_TIMEOUT, 10000)
        sock.connect(host, hil_env.PORTS["tcp_control"])
        sock.send(b"SEND %d\n" % TOTAL)
        offset = 0
        while True:
            n = sock.receive_into(view)
            if n == 0:
                break
            ensure(view[:n] == pattern_at(offset, n), "download differs at %d" % offset)
            offset += n
        ensure(offset == TOTAL, "download ended after %d of %d bytes" % (offset, TOTAL))
    report("tcp_download_kbps", TOTAL * 1000 // 1024 // max(1, elapsed_ms(start)))


echo_upload(hil_env.SERVER_HOST)
download(hil_env.SERVER_HOST)
