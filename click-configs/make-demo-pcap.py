#!/usr/bin/env python3
"""Writes demo.pcap: a short, hand-made office trace for firewall.click.

Inside network 10.0.0.0/24 (gateway 10.0.0.254), outside hosts in
198.51.100.0/24 and 203.0.113.0/24. The trace mixes traffic the firewall
allows (web, DNS, ping, inside SSH), traffic it denies (outside SSH,
telnet, SMB, an unsolicited UDP scan), frames it drops early (broken IP
headers, IPv6, LLDP) and ARP it passes. Python 3 standard library only;
the output is byte-for-byte reproducible.

usage: make-demo-pcap.py [OUTPUT]   (default: demo.pcap next to this script)
"""
import os
import struct
import sys

GW_MAC = bytes.fromhex("020000000001")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def eth(dst, src, etype, payload):
    return dst + src + struct.pack("!H", etype) + payload


def ipv4(src, dst, proto, payload, ttl=64, ident=1, frag=0, bad_csum=False, version=4):
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | 5, 0, 20 + len(payload), ident,
                      frag, ttl, proto, 0, ip4(src), ip4(dst))
    c = csum(hdr) ^ (0x1234 if bad_csum else 0)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def tcp(src, dst, sport, dport, flags="S", seq=1000, data=b""):
    bits = sum({"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}[f] for f in flags)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, bits, 8192, 0, 0)
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(hdr) + len(data))
    c = csum(pseudo + hdr + data)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + data


def udp(src, dst, sport, dport, data=b""):
    hdr = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, len(hdr) + len(data))
    c = csum(pseudo + hdr + data) or 0xFFFF
    return hdr[:6] + struct.pack("!H", c) + data


def icmp_echo(kind, ident, seq):
    body = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + b"demo-ping-payload"
    return body[:2] + struct.pack("!H", csum(body)) + body[4:]


def frame_ip(src, dst, proto, payload, inside_src=True, **kw):
    host = int(src.split(".")[-1]) if inside_src else int(dst.split(".")[-1])
    mac = bytes.fromhex("0200000000%02x" % (host % 256))
    d, s = (GW_MAC, mac) if inside_src else (mac, GW_MAC)
    return eth(d, s, 0x0800, ipv4(src, dst, proto, payload, **kw))


def frames():
    out = []
    web = "198.51.100.80"
    # Allowed: web browsing from the inside.
    for i, host in enumerate(["10.0.0.11", "10.0.0.12", "10.0.0.13"]):
        out.append(frame_ip(host, web, 6, tcp(host, web, 40000 + i, 80, "S")))
        out.append(frame_ip(host, web, 6, tcp(host, web, 40000 + i, 80, "PA", data=b"GET / HTTP/1.1\r\n\r\n")))
        out.append(frame_ip(host, "203.0.113.43", 6, tcp(host, "203.0.113.43", 41000 + i, 443, "S")))
    # Allowed: DNS queries.
    for i in range(4):
        h = "10.0.0.%d" % (20 + i)
        out.append(frame_ip(h, "203.0.113.53", 17, udp(h, "203.0.113.53", 53000 + i, 53, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04demo\x03org\x00\x00\x01\x00\x01")))
    # Allowed: ping out, and the replies.
    for seq in range(3):
        out.append(frame_ip("10.0.0.30", "198.51.100.1", 1, icmp_echo(8, 7, seq)))
        out.append(frame_ip("198.51.100.1", "10.0.0.30", 1, icmp_echo(0, 7, seq), inside_src=False))
    # Allowed: SSH between inside hosts; denied: SSH from outside.
    out.append(frame_ip("10.0.0.40", "10.0.0.41", 6, tcp("10.0.0.40", "10.0.0.41", 50022, 22, "S")))
    for i in range(3):
        s = "203.0.113.%d" % (100 + i)
        out.append(frame_ip(s, "10.0.0.41", 6, tcp(s, "10.0.0.41", 33000 + i, 22, "S"), inside_src=False))
    # Denied: telnet, SMB, a UDP scan from outside.
    out.append(frame_ip("198.51.100.66", "10.0.0.50", 6, tcp("198.51.100.66", "10.0.0.50", 44000, 23, "S"), inside_src=False))
    out.append(frame_ip("198.51.100.66", "10.0.0.50", 6, tcp("198.51.100.66", "10.0.0.50", 44001, 445, "S"), inside_src=False))
    for port in (161, 1900, 5060, 11211):
        out.append(frame_ip("203.0.113.9", "10.0.0.60", 17, udp("203.0.113.9", "10.0.0.60", 6000, port), inside_src=False))
    # Dropped before filtering: a bad checksum, IP version 5, a spoofed
    # source from our own subnet's broadcast address.
    out.append(frame_ip("10.0.0.70", web, 6, tcp("10.0.0.70", web, 40100, 80), bad_csum=True))
    out.append(frame_ip("10.0.0.71", web, 6, tcp("10.0.0.71", web, 40101, 80), version=5))
    out.append(frame_ip("10.0.0.255", web, 6, tcp("10.0.0.255", web, 40102, 80)))
    # ARP request and reply: passed.
    arp_req = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, bytes.fromhex("02000000000b"),
                          ip4("10.0.0.11"), b"\0" * 6, ip4("10.0.0.254"))
    out.append(eth(b"\xff" * 6, bytes.fromhex("02000000000b"), 0x0806, arp_req + b"\0" * 18))
    arp_rep = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, GW_MAC, ip4("10.0.0.254"),
                          bytes.fromhex("02000000000b"), ip4("10.0.0.11"))
    out.append(eth(bytes.fromhex("02000000000b"), GW_MAC, 0x0806, arp_rep + b"\0" * 18))
    # Not IPv4: an IPv6 neighbour solicitation and an LLDP frame.
    out.append(eth(bytes.fromhex("3333ff000001"), bytes.fromhex("02000000000c"), 0x86DD, b"\x60" + b"\0" * 39 + b"\x87" * 24))
    out.append(eth(bytes.fromhex("0180c200000e"), bytes.fromhex("02000000000d"), 0x88CC, b"\x02\x07\x04" + b"\0" * 43))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "demo.pcap")
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames()):
            if len(fr) < 60:
                fr += b"\0" * (60 - len(fr))
            usec = (i + 1) * 12500
            sec, usec = 1700000000 + usec // 1000000, usec % 1000000
            f.write(struct.pack("<IIII", sec, usec, len(fr), len(fr)))
            f.write(fr)
    print("wrote %s" % path)


if __name__ == "__main__":
    main()
