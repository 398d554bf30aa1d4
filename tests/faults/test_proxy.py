"""The impairment proxy (tools/proxy) does what each impairment says, reproducibly."""

import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultpeers import LOOPBACK, TcpPeer, UdpPeer, pattern, wait_for

from tools.proxy import ProxyProcess, TcpImpairment, TcpProxy, UdpImpairment, UdpProxy
from tools.proxy.udp import Decider

ROOT = Path(__file__).resolve().parent.parent.parent
BATCH = 50  # datagrams in flight at once: well under every socket buffer


def udp_client(timeout=2.0):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    return sock


def send_numbered(proxy, count, size=16):
    """Send datagrams 0..count-1 (payload: the index, zero-padded to `size`) through
    `proxy`, in batches the proxy has taken in before the next. -> the payloads."""
    sent = []
    with udp_client() as client:
        for start in range(0, count, BATCH):
            for i in range(start, min(start + BATCH, count)):
                payload = b"%0*d" % (size, i)
                client.sendto(payload, (LOOPBACK, proxy.port))
                sent.append(payload)
            n = len(sent)
            wait_for(lambda n=n: proxy.stats()["up"]["datagrams_in"] >= n, 5, "proxy intake")
    return sent


def settle(proxy, peer):
    """Wait until everything the proxy sent up has reached the peer."""
    stats = proxy.stats

    def arrived():
        s = stats()["up"]
        held = s["datagrams_in"] - s["dropped"] + s["duplicated"]
        return s["datagrams_out"] >= held and len(peer.received) >= s["datagrams_out"]

    wait_for(arrived, 5, "datagrams to reach the peer")


def run_udp(count, seed, log=None, **impairment):
    with UdpPeer() as peer, UdpProxy(
        peer.address, up=UdpImpairment(**impairment), seed=seed, log=log
    ) as proxy:
        sent = send_numbered(proxy, count)
        settle(proxy, peer)
        return sent, [d for d, _ in peer.received], proxy.stats()


# -- UDP ----------------------------------------------------------------------------------


def test_udp_loss_is_seeded_and_near_its_rate():
    sent, got, stats = run_udp(1000, seed=1, loss=0.3)
    again = run_udp(1000, seed=1, loss=0.3)[1]
    other = run_udp(1000, seed=2, loss=0.3)[1]
    assert 250 <= stats["up"]["dropped"] <= 350, stats
    assert len(got) == 1000 - stats["up"]["dropped"]
    assert got == again  # same seed, same traffic: the same datagrams survive
    assert got != other
    assert got == [p for p in sent if p in set(got)]  # loss alone keeps the order
    # the pure decision stream predicts the count exactly
    decider = Decider(1, "up")
    imp = UdpImpairment(loss=0.3)
    expected = sum(1 for p in sent if decider.decide(p, imp)["drop"])
    assert stats["up"]["dropped"] == expected


def test_udp_full_loss_and_drop_first():
    _, got, stats = run_udp(100, seed=5, loss=1.0)
    assert got == [] and stats["up"]["dropped"] == 100
    sent, got, stats = run_udp(20, seed=5, drop_first=3)
    assert got == sent[3:]
    assert stats["up"]["dropped"] == 3


def test_udp_duplication_adds_the_expected_copies():
    sent, got, stats = run_udp(400, seed=3, duplicate=0.5)
    dup = stats["up"]["duplicated"]
    assert 150 <= dup <= 250, stats
    assert len(got) == 400 + dup
    counts = {p: got.count(p) for p in sent}
    assert set(counts.values()) == {1, 2}
    assert sum(1 for c in counts.values() if c == 2) == dup


def test_udp_reorder_swaps_order_and_loses_nothing():
    sent, got, stats = run_udp(400, seed=4, reorder=0.2)
    assert sorted(got) == sorted(sent)
    assert got != sent
    inversions = sum(1 for a, b in zip(got, got[1:]) if a > b)
    moved = stats["up"]["reordered"] + stats["up"]["reorder_expired"]
    assert 40 <= stats["up"]["reordered"] <= 120, stats
    assert 0 < inversions <= moved


def test_udp_corruption_flips_the_logged_bits():
    log = io.StringIO()
    sent, got, stats = run_udp(200, seed=6, log=log, corrupt=0.25, corrupt_bits=2)
    assert len(got) == 200 and 25 <= stats["up"]["corrupted"] <= 75, stats
    records = [json.loads(line) for line in log.getvalue().splitlines()]
    flips = {r["index"]: r["flipped"] for r in records if r.get("event") == "datagram"}
    changed = 0
    for i, (s, g) in enumerate(zip(sent, got)):
        expected = bytearray(s)
        for position, bit in flips[i]:
            expected[position] ^= 1 << bit
        assert g == bytes(expected)
        changed += g != s
    assert changed == stats["up"]["corrupted"]


def test_udp_decision_log_is_reproducible():
    logs = []
    for _ in range(2):
        log = io.StringIO()
        run_udp(
            300, seed=9, log=log, loss=0.1, duplicate=0.1, reorder=0.1, corrupt=0.1, jitter_ms=2
        )
        lines = [json.loads(x) for x in log.getvalue().splitlines()]
        logs.append([{k: v for k, v in r.items() if k not in ("t", "client")} for r in lines])
    assert logs[0] == logs[1]
    assert any(r.get("drop") for r in logs[0])


def test_udp_decisions_do_not_depend_on_the_process():
    code = (
        "from tools.proxy.udp import Decider, UdpImpairment\n"
        "d, imp = Decider(4, 'down'), UdpImpairment(loss=0.3, duplicate=0.2, corrupt=0.1)\n"
        "print([(x['drop'], x['copies'], x['flipped']) for x in "
        "(d.decide(b'%03d' % i, imp) for i in range(300))])\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=str(ROOT),
            env=dict(os.environ, PYTHONHASHSEED=str(h)),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        for h in (1, 2)
    ]
    assert runs[0] == runs[1] and "loss" in runs[0]


def test_udp_delay_and_jitter_hold_datagrams_back():
    with UdpPeer(echo=True) as peer, UdpProxy(
        peer.address, down=UdpImpairment(delay_ms=80, jitter_ms=20), seed=1
    ) as proxy, udp_client() as client:
        rtts = []
        for i in range(5):
            start = time.monotonic()
            client.sendto(b"ping %d" % i, (LOOPBACK, proxy.port))
            assert client.recv(100) == b"ping %d" % i
            rtts.append(time.monotonic() - start)
    assert min(rtts) >= 0.059 and max(rtts) < 0.5, rtts
    assert max(rtts) - min(rtts) > 0.002  # jitter varies the delay


def test_udp_replies_go_back_to_each_client():
    with UdpPeer(echo=True) as peer, UdpProxy(peer.address, seed=1) as proxy:
        with udp_client() as a, udp_client() as b:
            a.sendto(b"from a", (LOOPBACK, proxy.port))
            b.sendto(b"from b", (LOOPBACK, proxy.port))
            assert a.recv(100) == b"from a"
            assert b.recv(100) == b"from b"
        assert proxy.stats()["sessions"] == 2


def test_udp_configure_at_runtime_blackholes():
    with UdpPeer(echo=True) as peer, UdpProxy(peer.address, seed=1) as proxy:
        with udp_client(timeout=0.3) as client:
            client.sendto(b"one", (LOOPBACK, proxy.port))
            assert client.recv(100) == b"one"
            proxy.configure("down", loss=1.0)
            client.sendto(b"two", (LOOPBACK, proxy.port))
            with pytest.raises(socket.timeout):
                client.recv(100)
        assert proxy.stats()["down"]["dropped"] == 1


def test_udp_rebind_gives_a_new_source_port():
    with UdpPeer(echo=True) as peer, UdpProxy(peer.address, seed=1) as proxy:
        with udp_client() as client:
            client.sendto(b"before", (LOOPBACK, proxy.port))
            assert client.recv(100) == b"before"
            proxy.rebind()
            client.sendto(b"after", (LOOPBACK, proxy.port))
            assert client.recv(100) == b"after"  # replies still reach the client
        (_, first), (_, second) = peer.received
        assert first[1] != second[1]


# -- TCP ----------------------------------------------------------------------------------


def tcp_client(proxy, timeout=5.0):
    return socket.create_connection((LOOPBACK, proxy.port), timeout=timeout)


def read_all(sock, limit=1 << 24):
    """(bytes until EOF, the error that ended it or None, arrival times per chunk)."""
    data = bytearray()
    arrivals = []
    while len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except OSError as e:
            return bytes(data), e, arrivals
        if not chunk:
            break
        data += chunk
        arrivals.append((len(data), time.monotonic()))
    return bytes(data), None, arrivals


def test_tcp_stall_pauses_at_the_offset():
    size = 200_000
    with TcpPeer("send", size) as peer, TcpProxy(
        peer.address, down=TcpImpairment(stall_at=(50_000,), stall_ms=300)
    ) as proxy, tcp_client(proxy) as client:
        data, error, arrivals = read_all(client)
    assert error is None and data == pattern(size)
    before = max(t for n, t in arrivals if n <= 50_000)
    after = min(t for n, t in arrivals if n > 50_000)
    assert after - before >= 0.28, after - before
    assert proxy.stats()["down"]["stalls"] == 1


def test_tcp_slow_reads_throttle_and_stay_exact():
    size = 150_000
    imp = TcpImpairment(
        read_size=4096, random_read_size=True, rate=300_000, stall_every=60_000, stall_ms=50
    )
    start = time.monotonic()
    with TcpPeer("send", size) as peer, TcpProxy(peer.address, down=imp, seed=2) as proxy:
        with tcp_client(proxy) as client:
            data, error, _ = read_all(client)
        stats = proxy.stats()["down"]
    took = time.monotonic() - start
    assert error is None and data == pattern(size)
    assert took >= 0.45, took  # 150 kB at 300 kB/s, plus two 50 ms stalls
    assert stats["reads"] >= size // 4096 and stats["stalls"] == 2, stats


def test_tcp_reset_reaches_a_plain_client_as_econnreset():
    with TcpPeer("send_forever") as peer, TcpProxy(
        peer.address, down=TcpImpairment(reset_after=30_000)
    ) as proxy, tcp_client(proxy) as client:
        data, error, _ = read_all(client)
        wait_for(lambda: peer.errors, 5, "the server side to see the reset")
    assert isinstance(error, ConnectionResetError), (len(data), error)
    assert data == pattern(30_000)  # delivered (drained) before the RST
    assert proxy.stats()["down"]["resets"] == 1
    assert isinstance(peer.errors[0], (ConnectionResetError, BrokenPipeError))


def test_tcp_half_close_gives_eof_after_n_bytes():
    with TcpPeer("send", 100_000) as peer, TcpProxy(
        peer.address, down=TcpImpairment(half_close_after=5_000)
    ) as proxy, tcp_client(proxy) as client:
        data, error, _ = read_all(client)
        client.sendall(b"still open upstream")  # the other direction still works
        wait_for(lambda: proxy.stats()["up"]["bytes_out"] == 19, 5, "the upstream bytes")
    assert error is None and data == pattern(5_000)
    assert proxy.stats()["down"]["half_closes"] == 1


def test_tcp_freeze_holds_everything_and_reset_all_kills():
    with TcpPeer("echo") as peer, TcpProxy(peer.address) as proxy, tcp_client(
        proxy, timeout=0.3
    ) as client:
        client.sendall(b"hello")
        assert client.recv(100) == b"hello"
        proxy.freeze()
        client.sendall(b"frozen")
        with pytest.raises(socket.timeout):
            client.recv(100)
        proxy.freeze(False)
        client.settimeout(5)
        assert client.recv(100) == b"frozen"
        proxy.reset_all()
        with pytest.raises(ConnectionResetError):
            client.recv(100)


def test_tcp_random_decisions_are_seeded():
    def reads(seed):
        log = io.StringIO()
        imp = TcpImpairment(read_size=1000, random_read_size=True, stall_chance=0.05, stall_ms=1)
        with TcpPeer("send", 60_000) as peer, TcpProxy(
            peer.address, down=imp, seed=seed, log=log
        ) as proxy, tcp_client(proxy) as client:
            data, error, _ = read_all(client)
        assert error is None and data == pattern(60_000)
        return [
            r["offset"]
            for r in map(json.loads, log.getvalue().splitlines())
            if r["event"] == "stall"
        ]

    first = reads(11)
    assert first and first == reads(11)
    assert first != reads(12)


def test_tcp_after_zero_bytes_means_at_once():
    with TcpPeer("echo") as peer, TcpProxy(peer.address, up=TcpImpairment(reset_after=0)) as proxy:
        with pytest.raises(ConnectionResetError):  # from connect() or from recv()
            with tcp_client(proxy) as client:
                data, error, _ = read_all(client)
                assert data == b""
                raise error
        assert proxy.stats()["up"]["resets"] == 1
    with TcpPeer("echo") as peer, TcpProxy(
        peer.address, down=TcpImpairment(half_close_after=0)
    ) as proxy, tcp_client(proxy) as client:
        assert read_all(client)[:2] == (b"", None)
        assert proxy.stats()["down"]["half_closes"] == 1


def test_upstream_refused_resets_the_client():
    probe = socket.socket()
    probe.bind((LOOPBACK, 0))
    dead = probe.getsockname()  # bound, never listening: connections are refused
    with TcpProxy(dead) as proxy:
        # The RST may beat the end of connect() (which then fails) or come at recv().
        with pytest.raises(ConnectionResetError):
            with tcp_client(proxy) as client:
                data, error, _ = read_all(client)
                assert data == b""
                raise error
        assert proxy.stats()["upstream_failures"] == 1
    probe.close()


# -- the command line ---------------------------------------------------------------------


def test_command_line_ready_line_relay_and_lifetime():
    with UdpPeer(echo=True) as peer:
        args = [
            "udp",
            "--upstream",
            "%s:%d" % peer.address,
            "--duplicate-down",
            "1",
            "--seed",
            "1",
            "--lifetime",
            "1.5",
        ]
        with ProxyProcess(args) as proc, udp_client() as client:
            assert proc.ready["proto"] == "udp" and proc.ready["down"]["duplicate"] == 1.0
            assert proc.ready["up"]["duplicate"] == 0.0
            client.sendto(b"twice", (LOOPBACK, proc.port))
            assert client.recv(100) == b"twice" and client.recv(100) == b"twice"
            proc.wait(10)  # exits by itself at its lifetime
            assert proc.process.returncode == 0
            assert proc.final_stats["down"]["duplicated"] == 1


def test_command_line_tcp_per_direction_options():
    with TcpPeer("send", 10_000) as peer:
        args = ["tcp", "--upstream", "%s:%d" % peer.address, "--half-close-after-down", "1000"]
        args += ["--stall-at", "10,20", "--stall-ms", "5", "--lifetime", "20"]
        with ProxyProcess(args) as proc:
            assert proc.ready["down"]["half_close_after"] == 1000
            assert proc.ready["up"]["half_close_after"] is None
            assert proc.ready["up"]["stall_at"] == [10, 20]
            with socket.create_connection((LOOPBACK, proc.port), timeout=5) as client:
                data, error, _ = read_all(client)
            assert error is None and data == pattern(1000)
        assert proc.final_stats["down"]["half_closes"] == 1


def test_command_line_control_channel():
    def ask(control, **request):
        control.sendall((json.dumps(request) + "\n").encode())
        line = b""
        while not line.endswith(b"\n"):
            chunk = control.recv(65536)
            assert chunk, "control channel closed"
            line += chunk
        return json.loads(line)

    with TcpPeer("echo") as peer:
        args = ["tcp", "--upstream", "%s:%d" % peer.address, "--control", "127.0.0.1:0"]
        with ProxyProcess(args + ["--lifetime", "20"]) as proc:
            control = socket.create_connection((LOOPBACK, proc.ready["control"]), timeout=5)
            with control, socket.create_connection((LOOPBACK, proc.port), timeout=5) as c:
                c.sendall(b"one")
                assert c.recv(100) == b"one"
                assert ask(control, cmd="freeze") == {"ok": True}
                c.sendall(b"two")
                c.settimeout(0.3)
                with pytest.raises(socket.timeout):
                    c.recv(100)
                assert ask(control, cmd="freeze", on=False) == {"ok": True}
                c.settimeout(5)
                assert c.recv(100) == b"two"
                stats = ask(control, cmd="stats")["stats"]
                assert stats["up"]["bytes_out"] == 6 and stats["connections"] == 1
                assert ask(control, cmd="configure", dir="down", stall_ms=-1)["ok"] is False
                assert ask(control, cmd="rebind")["ok"] is False  # UDP only
                assert ask(control, cmd="reset_all") == {"ok": True}
                with pytest.raises(ConnectionResetError):
                    c.recv(100)
                assert ask(control, cmd="stop") == {"ok": True}
            proc.wait(10)
        assert proc.process.returncode == 0 and proc.final_stats["connections"] == 1


def test_command_line_rejects_bad_values():
    with pytest.raises(RuntimeError, match="probability"):
        ProxyProcess(["udp", "--upstream", "127.0.0.1:9", "--loss", "1.5"], ready_timeout=10)
