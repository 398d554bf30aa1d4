"""The PSK engine's records as Wireshark's DTLS dissector reads them (tshark,
Debian): a Connection ID negotiated with extension 54 and carried in tls12_cid
(25) records, and CCM-8 named as the suite. The datagrams of one in-memory
session are written into a pcap (raw IPv4/UDP), which tshark decodes."""

import shutil
import struct
import subprocess

import psk_core_cases as cases

CLIENT = (bytes([127, 0, 0, 1]), 50000)
SERVER = (bytes([127, 0, 0, 1]), 5684)


def _ipv4_udp(src, dst, payload):
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src[0], dst[0])
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    header = header[:10] + struct.pack("!H", ~total & 0xFFFF) + header[12:]
    return header + udp


def write_pcap(path, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
        for i, (src, dst, payload) in enumerate(packets):
            frame = _ipv4_udp(src, dst, payload)
            f.write(struct.pack("<IIII", 1000 + i, 0, len(frame), len(frame)))
            f.write(frame)


def session_datagrams():
    client, server = cases.endpoints(cases.CCM_8, cid=True)
    packets = []
    for _ in range(6):
        for d in client.out:
            packets.append((CLIENT, SERVER, d))
        cases.deliver(client, server)
        for d in server.out:
            packets.append((SERVER, CLIENT, d))
        cases.deliver(server, client)
        if client.done and server.done:
            break
    client.send(b"ping")
    packets.append((CLIENT, SERVER, client.out[0]))
    server.feed(client.out.pop())
    assert server.app == [b"ping"]
    return server.rx_cid, packets


def tshark_fields(pcap, *fields):
    tshark = shutil.which("tshark")
    assert tshark, "tshark is needed: apt-get install tshark"
    argv = [tshark, "-r", str(pcap), "-d", "udp.port==5684,dtls", "-T", "fields"]
    for field in fields:
        argv += ["-e", field]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [line.split("\t") for line in out.stdout.splitlines()]


def test_tshark_reads_cid_negotiation_and_tls12_cid_records(tmp_path):
    cid, packets = session_datagrams()
    pcap = tmp_path / "cid.pcap"
    write_pcap(pcap, packets)
    rows = tshark_fields(
        pcap,
        "dtls.record.special_type",
        "dtls.handshake.extension.type",
        "dtls.handshake.ciphersuite",
        "dtls.record.connection_id",
    )
    assert len(rows) == len(packets)
    # the ClientHello (with cookie) and the ServerHello both carry extension 54
    hellos = [r for r in rows if "54" in r[1].split(",")]
    assert len(hellos) >= 2, rows
    assert any(r[2] == "0xc0a8" for r in rows), rows  # TLS_PSK_WITH_AES_128_CCM_8
    # the client's Finished and its application data: tls12_cid with the server's CID
    cid_rows = [r for r in rows if r[0] == "25"]
    assert len(cid_rows) == 2 and cid_rows[-1] is rows[-1], rows
    for row in cid_rows:
        assert row[3].replace(":", "") == cid.hex(), (row, cid.hex())
