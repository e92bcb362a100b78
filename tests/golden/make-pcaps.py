#!/usr/bin/python3
"""Writes the input traces of the golden cases in this folder (needs
python3-scapy). Deterministic: a fixed seed, fixed timestamps.

usage: make-pcaps.py   (from anywhere; writes <case>/input.pcap)
"""
import os
import random

from scapy.all import (GRE, ICMP, IP, IPv6, TCP, UDP, Ether, ICMPv6EchoReply,
                       ICMPv6EchoRequest, ICMPv6ND_NS, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, Raw, wrpcap)

HERE = os.path.dirname(os.path.abspath(__file__))
MACS = ["00:11:22:33:44:55", "00:aa:bb:cc:dd:ee", "02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff"]
ADDRS = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.200", "10.1.2.3",
         "192.168.1.1", "192.168.7.9", "172.16.5.5", "8.8.8.8", "224.0.0.5"]
PORTS = [22, 53, 67, 68, 80, 443, 1023, 1024, 5000, 8080, 60000, 9]


def ip4_packets(rng):
    """Hand-made corner cases, then random IPv4 packets."""
    out = []
    e = lambda s=MACS[0], d=MACS[1]: Ether(src=s, dst=d)
    out.append(e() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=80, flags="S"))
    out.append(e(MACS[1], MACS[0]) / IP(src="10.0.0.2", dst="10.0.0.1") / TCP(sport=80, dport=1234, flags="SA"))
    out.append(e() / IP(src="10.0.0.1", dst="8.8.8.8") / UDP(sport=5353, dport=53) / Raw(b"q" * 20))
    out.append(e() / IP(src="10.0.0.3", dst="10.0.0.1") / ICMP(type=8) / Raw(b"ping"))
    out.append(e() / IP(src="10.0.0.1", dst="10.0.0.3") / ICMP(type=0) / Raw(b"pong"))
    out.append(e() / IP(src="10.0.0.1", dst="10.0.0.3") / ICMP(type=11, code=1))
    out.append(e() / IP(src="10.0.0.1", dst="10.0.0.3") / ICMP(type=3, code=3))
    out.append(e() / IP(src="10.0.0.1", dst="224.0.0.5", proto=2) / Raw(b"\x11\x64\xee\x9b\xe0\x00\x00\x05"))
    out.append(e() / IP(src="10.0.0.1", dst="10.0.0.2") / GRE() / Raw(b"x" * 8))
    out.append(e() / IP(src="10.0.0.1", dst="10.0.0.2", proto=50) / Raw(b"esp!" * 4))
    # Fragments: first (transport header present), middle, last.
    out.append(e() / IP(src="10.0.0.1", dst="10.0.0.2", flags="MF", frag=0, id=7) / TCP(sport=22, dport=2222) / Raw(b"a" * 16))
    out.append(e() / IP(src="10.0.0.1", dst="10.0.0.2", flags="MF", frag=3, id=7, proto=6) / Raw(b"b" * 24))
    out.append(e() / IP(src="10.0.0.1", dst="10.0.0.2", frag=6, id=7, proto=6) / Raw(b"c" * 8))
    # Don't-fragment set, offset zero: unfragmented.
    out.append(e() / IP(src="10.0.0.2", dst="10.0.0.1", flags="DF") / UDP(sport=67, dport=68))
    # IP options (hl 6), TOS/ECN values, TTLs.
    out.append(e() / IP(src="10.0.0.2", dst="10.0.0.1", options=b"\x01\x01\x01\x00") / TCP(dport=443))
    for tos in (0x01, 0x02, 0x03, 0x10, 0x28, 0xb8, 0xfc):
        out.append(e() / IP(src="10.0.0.200", dst="10.1.2.3", tos=tos) / UDP(sport=9, dport=9))
    for ttl in (1, 2, 64, 65, 128, 255):
        out.append(e() / IP(src="192.168.1.1", dst="10.0.0.2", ttl=ttl) / TCP(sport=1024, dport=1023, flags="A", window=0))
    # Truncated transport headers: 2 and 6 bytes of TCP, 3 of UDP.
    for proto, n in ((6, 2), (6, 6), (17, 3), (1, 1)):
        out.append(e() / IP(src="10.0.0.1", dst="10.0.0.2", proto=proto) / Raw(bytes(range(1, n + 1))))
    # Source and destination in the same /8 and /24.
    out.append(e() / IP(src="10.0.0.7", dst="10.0.0.9") / TCP(sport=8080, dport=8080, flags="PA", window=65535))
    # Broadcast and unusual MACs.
    out.append(e(MACS[2], MACS[3]) / IP(src="172.16.5.5", dst="255.255.255.255") / UDP(sport=68, dport=67))
    out.append(e(MACS[1], MACS[2]) / IP(src="192.168.7.9", dst="10.0.0.1", id=48879) / TCP(sport=60000, dport=22, flags="R"))
    for _ in range(160):
        proto = rng.choice([6, 6, 17, 17, 1, 47, 2])
        ip = IP(src=rng.choice(ADDRS), dst=rng.choice(ADDRS), ttl=rng.choice([1, 3, 32, 64, 200]),
                tos=rng.randrange(256), id=rng.randrange(65536),
                flags=rng.choice(["", "DF", "MF"]), frag=rng.choice([0, 0, 0, 0, 1, 185]))
        if proto == 6:
            l4 = TCP(sport=rng.choice(PORTS), dport=rng.choice(PORTS),
                     flags=rng.choice(["S", "SA", "A", "PA", "F", "FA", "R", "U", ""]),
                     window=rng.choice([0, 512, 29200, 65535]))
        elif proto == 17:
            l4 = UDP(sport=rng.choice(PORTS), dport=rng.choice(PORTS))
        elif proto == 1:
            # Fixed timestamps: scapy would put the time of day in them.
            l4 = ICMP(type=rng.choice([0, 3, 5, 8, 11, 12, 13, 14, 42]), code=rng.randrange(4),
                      ts_ori=1, ts_rx=2, ts_tx=3)
        else:
            ip.proto = proto
            l4 = Raw(bytes(rng.randrange(256) for _ in range(8)))
        pay = Raw(b"z" * rng.choice([0, 4, 30, 120, 1100]))
        out.append(Ether(src=rng.choice(MACS), dst=rng.choice(MACS)) / ip / l4 / pay)
    return out


def ip6_packets():
    """A few IPv6 frames: the IPv4 cases must send them elsewhere."""
    e = Ether(src=MACS[0], dst=MACS[1])
    return [e / IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP(dport=80, flags="S"),
            e / IPv6(src="2001:db8::2", dst="2001:db8::1") / IPv6ExtHdrHopByHop() / UDP(dport=53),
            e / IPv6(src="fe80::1", dst="ff02::1", hlim=255) / ICMPv6EchoRequest()]


def mixed_packets(rng):
    """IPv6 and IPv4 frames for an element mixing both (IPv4 headers
    without options, so fixed offsets find their transport header)."""
    e = Ether(src=MACS[0], dst=MACS[1])
    e4 = Ether(src=MACS[0], dst=MACS[1], type=0x0800)
    a, b = "2001:db8::1", "2001:db8::2"
    out = [
        e / IPv6(src=a, dst=b) / TCP(sport=40000, dport=80, flags="S"),
        e / IPv6(src=a, dst=b) / TCP(sport=40000, dport=22, flags="S"),
        e / IPv6(src=a, dst=b) / TCP(sport=40000, dport=443, flags="S"),
        e / IPv6(src=a, dst=b) / UDP(sport=5353, dport=53),
        e / IPv6(src=a, dst="2001:db8::9") / UDP(sport=5353, dport=53),
        e / IPv6(src=a, dst=b) / ICMPv6EchoRequest(),
        e / IPv6(src=b, dst=a) / ICMPv6EchoReply(),
        e / IPv6(src="fe80::1", dst="ff02::1:ff00:2", hlim=255) / ICMPv6ND_NS(tgt=b),
        e / IPv6(src=a, dst=b, hlim=1) / TCP(dport=8080),
        e / IPv6(src=a, dst=b, hlim=0) / UDP(dport=9),
        e / IPv6(src=a, dst="2001:db8::7", fl=0x12345) / UDP(dport=9),
        e / IPv6(src=a, dst="2001:db8::7", fl=0x12346, tc=0xb8) / UDP(dport=9),
        e / IPv6(src=a, dst=b) / IPv6ExtHdrHopByHop() / TCP(dport=80),
        e / IPv6(src=a, dst=b) / IPv6ExtHdrFragment(offset=0, m=1, id=5) / UDP(dport=53),
        e / IPv6(src=a, dst="2001:db8::7", nh=6) / Raw(b"\x9c\x40"),
        # Bytes at the IPv4 offsets of an IPv6 header that would match
        # IPv4 tests: source 10.0.0.1, protocol 6, port 22.
        e / IPv6(src="2001:db8:a00:1::5", dst="2001:db8::7") / UDP(sport=22, dport=22),
        e4 / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=22, flags="S"),
        e4 / IP(src="10.0.0.5", dst="10.0.0.2") / TCP(sport=1234, dport=22, flags="S"),
        e4 / IP(src="10.0.0.5", dst="10.0.0.2") / TCP(sport=1234, dport=80, flags="S"),
        e4 / IP(src="10.0.0.5", dst="10.0.0.2", flags="MF", frag=2, proto=6) / Raw(b"\x00\x00\x00\x16" * 3),
        e4 / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=53, dport=53),
        e4 / IP(src="10.0.0.5", dst="10.0.0.2", proto=6) / Raw(b"\x00"),
    ]
    v6addrs = [a, b, "fe80::1", "fe80::2", "2001:db8::7", "2001:db8:1::1", "ff02::1"]
    for _ in range(150):
        if rng.random() < 0.7:
            ip = IPv6(src=rng.choice(v6addrs), dst=rng.choice(v6addrs), hlim=rng.choice([0, 1, 2, 64, 255]),
                      fl=rng.choice([0, 0x12345, 0x54321]), tc=rng.randrange(256))
            l4 = rng.choice([TCP(sport=rng.choice(PORTS), dport=rng.choice(PORTS)),
                             UDP(sport=rng.choice(PORTS), dport=rng.choice(PORTS)),
                             ICMPv6EchoRequest(), ICMPv6EchoReply(),
                             IPv6ExtHdrHopByHop() / UDP(dport=rng.choice(PORTS))])
            out.append(e / ip / l4)
        else:
            ip = IP(src=rng.choice(ADDRS), dst=rng.choice(ADDRS), frag=rng.choice([0, 0, 0, 3]))
            l4 = rng.choice([TCP(sport=rng.choice(PORTS), dport=rng.choice(PORTS)),
                             UDP(sport=rng.choice(PORTS), dport=rng.choice(PORTS)), ICMP()])
            out.append(e4 / ip / l4)
    return out


def write(case, pkts):
    for i, p in enumerate(pkts):
        p.time = 1000000000 + i * 0.001
    wrpcap(os.path.join(HERE, case, "input.pcap"), pkts)


if __name__ == "__main__":
    rng = random.Random(20)
    pkts = ip4_packets(rng) + ip6_packets()
    write("grammar_ip4", pkts)
    write("grammar_ip6", mixed_packets(random.Random(15)))
