#!/usr/bin/env python3
"""Writes the hand-made seeds of the `frames6` fuzz target into
seeds/frames6/ (Python standard library only, reproducible). Each seed is a
sequence of records FLAGS LEN FRAME (see src/frames6.rs) through the NAT64
of click-configs/nat64.click: neighbour discovery, a TCP flow and a ping
translated both ways, an ICMP error, hop-limit expiry, and malformed IPv6
(truncated, bad payload length, endless extension headers, overlapping
fragments)."""
import ipaddress
import os
import struct

V6, V4 = 0, 1
NAT6_MAC, NAT4_MAC = bytes([2, 0x64, 0, 0, 0, 1]), bytes([2, 0x64, 0, 0, 0, 2])
CLIENT_MAC, SERVER_MAC = bytes([2, 0, 0, 0, 6, 1]), bytes([2, 0, 0, 0, 4, 2])
CLIENT = ipaddress.IPv6Address("fd64::1").packed
SERVER4 = bytes([192, 0, 2, 2])
POOL = bytes([192, 0, 2, 1])
SERVER6 = ipaddress.IPv6Address("64:ff9b::192.0.2.2").packed


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip6(src, dst, nxt, l4, sum_at=None, hlim=64, plen=None):
    l4 = bytearray(l4)
    if sum_at is not None:
        ph = src + dst + struct.pack("!IxxxB", len(l4), nxt)
        l4[sum_at:sum_at + 2] = struct.pack("!H", csum(ph + bytes(l4)))
    plen = len(l4) if plen is None else plen
    return struct.pack("!IHBB", 0x60000000, plen, nxt, hlim) + src + dst + bytes(l4)


def ip4(src, dst, proto, l4, sum_at=None, pseudo=True):
    l4 = bytearray(l4)
    if sum_at is not None:
        ph = src + dst + bytes([0, proto]) + struct.pack("!H", len(l4)) if pseudo else b""
        l4[sum_at:sum_at + 2] = struct.pack("!H", csum(ph + bytes(l4)))
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, src, dst))
    h[10:12] = struct.pack("!H", csum(bytes(h)))
    return bytes(h) + bytes(l4)


def eth(dst, src, ty, payload):
    return dst + src + struct.pack("!H", ty) + payload


def rec(side, frame, flags=0):
    assert len(frame) < 256
    return bytes([side | flags, len(frame)]) + frame


def ns(target):
    group = bytes.fromhex("ff0200000000000000000001ff") + target[13:]
    m = struct.pack("!BBHI", 135, 0, 0, 0) + target + bytes([1, 1]) + CLIENT_MAC
    return eth(b"\x33\x33" + group[12:], CLIENT_MAC, 0x86DD, ip6(CLIENT, group, 58, m, 2, hlim=255))


def na(target):
    m = struct.pack("!BBHI", 136, 0, 0, 0x60000000) + target + bytes([2, 1]) + CLIENT_MAC
    return eth(NAT6_MAC, CLIENT_MAC, 0x86DD, ip6(CLIENT, ipaddress.IPv6Address("fd64::ff").packed, 58, m, 2, hlim=255))


def tcp6(sport, dport, flags, hlim=64):
    t = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, flags, 8192, 0, 0)
    return eth(NAT6_MAC, CLIENT_MAC, 0x86DD, ip6(CLIENT, SERVER6, 6, t, 16, hlim=hlim))


def tcp4(sport, dport, flags):
    t = struct.pack("!HHIIBBHHH", sport, dport, 2000, 1001, 5 << 4, flags, 8192, 0, 0)
    return eth(NAT4_MAC, SERVER_MAC, 0x0800, ip4(SERVER4, POOL, 6, t, 16))


def arp_reply():
    a = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, SERVER_MAC, SERVER4, NAT4_MAC, POOL)
    return eth(NAT4_MAC, SERVER_MAC, 0x0806, a)


def echo6(ident):
    m = struct.pack("!BBHHH", 128, 0, 0, ident, 1) + b"ping"
    return eth(NAT6_MAC, CLIENT_MAC, 0x86DD, ip6(CLIENT, SERVER6, 58, m, 2))


def echo_reply4(ident):
    m = struct.pack("!BBHHH", 0, 0, 0, ident, 1) + b"ping"
    return eth(NAT4_MAC, SERVER_MAC, 0x0800, ip4(SERVER4, POOL, 1, m, 2, pseudo=False))


def needfrag4(inner):
    m = struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + inner
    return eth(NAT4_MAC, SERVER_MAC, 0x0800, ip4(bytes([192, 0, 2, 254]), POOL, 1, m, 2, pseudo=False))


SEEDS = {
    "seed-nd": rec(V6, ns(SERVER6)) + rec(V6, ns(ipaddress.IPv6Address("fd64::ff").packed)) + rec(V6, na(CLIENT)),
    "seed-tcp": rec(V6, tcp6(40000, 80, 0x02)) + rec(V4, arp_reply()) + rec(V4, tcp4(80, 1024, 0x12))
    + rec(V6, tcp6(40000, 80, 0x10)) + rec(V6, na(CLIENT)) + rec(V4, tcp4(80, 1024, 0x11))
    + rec(V6, tcp6(40000, 80, 0x11), flags=5 << 3),
    "seed-ping": rec(V6, echo6(7)) + rec(V4, arp_reply()) + rec(V4, echo_reply4(1024))
    + rec(V4, needfrag4(ip4(POOL, SERVER4, 1, struct.pack("!BBHHH", 8, 0, 0, 1024, 1)))),
    "seed-hlim": rec(V6, tcp6(40001, 80, 0x02, hlim=1)) + rec(V6, na(CLIENT)),
    # Malformed: truncated, payload length beyond the frame, an endless
    # chain of destination options, overlapping fragments.
    "seed-malformed": rec(V6, tcp6(1, 2, 2)[:40])
    + rec(V6, eth(NAT6_MAC, CLIENT_MAC, 0x86DD, ip6(CLIENT, SERVER6, 17, b"\0" * 8, plen=900)))
    + rec(V6, eth(NAT6_MAC, CLIENT_MAC, 0x86DD, ip6(CLIENT, SERVER6, 60, bytes([60, 0] + [0] * 6) * 20)))
    + rec(V6, eth(NAT6_MAC, CLIENT_MAC, 0x86DD, ip6(CLIENT, SERVER6, 44, bytes([17, 0, 0, 1, 0, 0, 0, 9]) + b"\0" * 16)))
    + rec(V6, eth(NAT6_MAC, CLIENT_MAC, 0x86DD, ip6(CLIENT, SERVER6, 44, bytes([17, 0, 0, 8, 0, 0, 0, 9]) + b"\0" * 16)))
    + rec(V6, eth(NAT6_MAC, CLIENT_MAC, 0x86DD, ip6(CLIENT, SERVER6, 6, b"\0" * 4)), flags=2),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "frames6")
os.makedirs(out, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
