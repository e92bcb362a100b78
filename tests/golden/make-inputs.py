#!/usr/bin/python3
"""Writes the input traces of the golden cases (input.pcap in each case
folder), deterministically: fixed timestamps, addresses and payloads.
The expected/ outputs were made by running real Click 2.1 on them."""
import os
from scapy.all import Ether, IP, UDP, TCP, ICMP, Dot1Q, Raw, wrpcap
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest, ICMPv6DestUnreach, ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr

HERE = os.path.dirname(os.path.abspath(__file__))
A = "02:00:00:00:00:01"
B = "02:00:00:00:00:02"


def stamp(pkts, t0=1000000000.0):
    for i, p in enumerate(pkts):
        p.time = t0 + i * 0.25
    return pkts


def write(case, pkts):
    os.makedirs(os.path.join(HERE, case), exist_ok=True)
    wrpcap(os.path.join(HERE, case, "input.pcap"), stamp(pkts))


def ip_mix():
    return [
        Ether(src=A, dst=B) / IP(src="10.0.0.1", dst="192.168.1.7", id=1) / UDP(sport=1234, dport=53) / Raw(b"q" * 20),
        Ether(src=A, dst=B) / IP(src="10.0.0.2", dst="10.1.2.3", id=2, ttl=3) / TCP(sport=4000, dport=80, flags="S", seq=1000),
        Ether(src=A, dst=B) / IP(src="10.0.0.3", dst="8.8.8.8", id=3) / ICMP(type=8, id=7, seq=1) / Raw(b"ping"),
        Ether(src=A, dst=B) / IP(src="10.0.0.4", dst="172.16.5.5", id=4, tos=0x10) / UDP(sport=5, dport=6) / Raw(b"x" * 1400),
        Ether(src=A, dst=B) / IP(src="10.0.0.5", dst="192.168.2.1", id=5, flags="DF") / TCP(sport=4001, dport=443, flags="PA", seq=7, ack=9) / Raw(b"data"),
        Ether(src=A, dst=B) / IP(src="10.0.0.6", dst="10.1.200.9", id=6) / ICMP(type=3, code=1) / IP(src="10.1.200.9", dst="10.0.0.6") / UDP(sport=9, dport=10),
    ]


def main():
    write("vlan", [
        Ether(src=A, dst=B) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2) / Raw(b"a" * 10),
        Ether(src=A, dst=B) / Dot1Q(vlan=7, prio=3) / IP(src="10.0.0.3", dst="10.0.0.4") / UDP(sport=3, dport=4),
        Ether(src=A, dst=B, type=0x0806) / Raw(b"\x00" * 28),
        Ether(src=A, dst=B) / Dot1Q(vlan=4094) / Raw(b"\x08\x00" + b"z" * 30),
    ])
    write("print", ip_mix())
    write("routes", ip_mix())
    write("fragment", ip_mix())
    # Inside hosts' flows, then ICMP errors from outside quoting the
    # packets IPRewriter sent. (Left out, as Click 2.1 differs from its
    # own documentation there: errors about unmapped flows, which it drops
    # where ICMPRewriter's second output should take them, and errors
    # quoting IPAddrRewriter's packets, whose quoted destination it zeroes.)
    inside = [
        Ether(src=A, dst=B) / IP(src="10.0.0.5", dst="8.8.8.8", id=11) / UDP(sport=1000, dport=53) / Raw(b"dns?"),
        Ether(src=A, dst=B) / IP(src="10.0.0.6", dst="9.9.9.9", id=12) / TCP(sport=2000, dport=80, flags="S", seq=5),
        Ether(src=A, dst=B) / IP(src="10.0.0.7", dst="8.8.4.4", id=13, proto=47) / Raw(b"gre-ish payload"),
    ]
    errors = [
        # Port unreachable quoting the mapped UDP packet.
        Ether(src=B, dst=A) / IP(src="8.8.8.8", dst="1.1.1.1", id=21) / ICMP(type=3, code=3)
        / IP(src="1.1.1.1", dst="8.8.8.8", id=11) / UDP(sport=20000, dport=53, len=12, chksum=0),
        # Time exceeded quoting the mapped TCP SYN, from a router on the way.
        Ether(src=B, dst=A) / IP(src="7.7.7.7", dst="1.1.1.1", id=22) / ICMP(type=11, code=0)
        / IP(src="1.1.1.1", dst="9.9.9.9", id=12, ttl=1) / TCP(sport=20001, dport=80, flags="S", seq=5),
    ]
    write("rewrite", inside + errors)
    write("ip6", ip6_mix())
    write("nd6", nd6_mix())


def ip6_mix():
    """IPv6 packets for the header, error, route and translation elements."""
    def e():
        return Ether(src=A, dst=B)
    bad_version = bytes(e() / IPv6(src="fd00::7", dst="fd00::8") / UDP(sport=1, dport=2))
    bad_version = bad_version[:14] + bytes([0x40 | (bad_version[14] & 0x0F)]) + bad_version[15:]
    long_plen = bytes(e() / IPv6(src="fd00::7", dst="fd00::8", plen=200) / UDP(sport=1, dport=2))
    return [
        e() / IPv6(src="fd00::1", dst="fd00:1::5", hlim=64) / UDP(sport=1000, dport=53) / Raw(b"v6 dns?"),
        e() / IPv6(src="fd00::2", dst="2001:db8::7", hlim=1, tc=0x28) / TCP(sport=2000, dport=80, flags="S", seq=5),
        e() / IPv6(src="fd00::3", dst="fd00:2::9", fl=0x12345) / ICMPv6EchoRequest(id=7, seq=1, data=b"ping6"),
        # An ICMPv6 error: never answered with another.
        e() / IPv6(src="fd00::4", dst="fd00::1") / ICMPv6DestUnreach(code=4)
        / IPv6(src="fd00::1", dst="fd00::4") / UDP(sport=53, dport=1000),
        e() / IPv6(src="::ffff:10.0.0.1", dst="::ffff:10.0.0.2", hlim=33) / UDP(sport=7, dport=9) / Raw(b"mapped udp"),
        e() / IPv6(src="::ffff:10.0.0.3", dst="::ffff:192.168.1.1") / TCP(sport=3000, dport=443, flags="PA", seq=9, ack=1) / Raw(b"mapped tcp"),
        e() / IPv6(src="::ffff:10.0.0.5", dst="::ffff:10.0.0.6") / ICMPv6EchoRequest(id=3, seq=4, data=b"mapped ping"),
        # To a multicast group: no error about it.
        e() / IPv6(src="fd00::5", dst="ff02::1") / UDP(sport=5, dport=6),
        # Bad: version 4, payload length past the frame, a bad source, tiny.
        Ether(bad_version),
        Ether(long_plen),
        e() / IPv6(src="fd00::bad", dst="fd00::1") / UDP(sport=1, dport=2),
        Ether(bytes(e() / IPv6(src="fd00::7", dst="fd00::8"))[:40]),
    ]


def nd6_mix():
    """Neighbour solicitations for IP6NDAdvertiser, and IPv6 packets and
    advertisements for IP6NDSolicitor."""
    me, peer = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
    return [
        # Solicitations: for a proxied address, for the exact one, for an
        # address nobody answers. (Not duplicate address detection, which
        # Click 2.1 ignores and this engine answers to all nodes.)
        Ether(src=peer, dst="33:33:ff:00:00:01") / IPv6(src="fd00::b", dst="ff02::1:ff00:1", hlim=255)
        / ICMPv6ND_NS(tgt="fd00::1") / ICMPv6NDOptSrcLLAddr(lladdr=peer),
        Ether(src=peer, dst="33:33:ff:00:00:77") / IPv6(src="fd00::b", dst="ff02::1:ff00:77", hlim=255)
        / ICMPv6ND_NS(tgt="fd01::77") / ICMPv6NDOptSrcLLAddr(lladdr=peer),
        Ether(src=peer, dst="33:33:ff:00:00:99") / IPv6(src="fd00::b", dst="ff02::1:ff00:99", hlim=255)
        / ICMPv6ND_NS(tgt="fd09::99") / ICMPv6NDOptSrcLLAddr(lladdr=peer),
        # A solicitation with a bad hop limit: dropped.
        Ether(src=peer, dst="33:33:ff:00:00:01") / IPv6(src="fd00::b", dst="ff02::1:ff00:1", hlim=64)
        / ICMPv6ND_NS(tgt="fd00::1") / ICMPv6NDOptSrcLLAddr(lladdr=peer),
        # For the solicitor: a packet to fd00::b, its advertisement, a
        # second packet (now resolved).
        Ether(src=peer, dst=me) / IPv6(src="fd00::c", dst="fd00::b") / UDP(sport=11, dport=12) / Raw(b"first"),
        Ether(src=peer, dst=me) / IPv6(src="fd00::b", dst="fd00::1", hlim=255)
        / ICMPv6ND_NA(tgt="fd00::b", R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=peer),
        Ether(src=peer, dst=me) / IPv6(src="fd00::c", dst="fd00::b") / UDP(sport=13, dport=14) / Raw(b"second"),
    ]


if __name__ == "__main__":
    main()
