#!/usr/bin/python3
"""Writes the input traces of the golden cases (input.pcap in each case
folder), deterministically: fixed timestamps, addresses and payloads.
The expected/ outputs were made by running real Click 2.1 on them."""
import os
from scapy.all import Ether, IP, UDP, TCP, ICMP, Dot1Q, Raw, wrpcap

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


if __name__ == "__main__":
    main()
