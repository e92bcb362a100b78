#!/usr/bin/env python3
"""Writes the hand-made seeds of the `frames` fuzz target into
seeds/frames/ (Python standard library only, reproducible). Each seed is a
sequence of records FLAGS LEN FRAME (see common/gateway.rs): a client and a
server talking through the gateway, one seed per conversation."""
import os
import struct

IN_MAC, OUT_MAC = bytes([2, 0, 10, 1, 0, 1]), bytes([2, 0, 10, 2, 0, 1])
CLIENT_MAC, SERVER_MAC = bytes([2, 0, 0, 0, 1, 2]), bytes([2, 0, 0, 0, 2, 2])
IN_IP, PUBLIC_IP = bytes([10, 1, 0, 1]), bytes([10, 2, 0, 1])
CLIENT, SERVER = bytes([10, 1, 0, 2]), bytes([10, 2, 0, 2])
INSIDE, OUTSIDE = 0, 1


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip(src, dst, proto, l4, sum_at=None, pseudo=True):
    l4 = bytearray(l4)
    if sum_at is not None:
        ph = src + dst + bytes([0, proto]) + struct.pack("!H", len(l4)) if pseudo else b""
        l4[sum_at:sum_at + 2] = struct.pack("!H", csum(ph + bytes(l4)))
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0x1234, 0x4000, 64, proto, 0, src, dst))
    h[10:12] = struct.pack("!H", csum(bytes(h)))
    return bytes(h) + bytes(l4)


def tcp(src, sport, dst, dport, flags):
    t = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, flags, 8192, 0, 0)
    return ip(src, dst, 6, t, 16)


def udp(src, sport, dst, dport, payload):
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return ip(src, dst, 17, u, 6)


def icmp(src, dst, ty, code, rest):
    return ip(src, dst, 1, bytes([ty, code, 0, 0]) + rest, 2, pseudo=False)


def ether(dst, src, ty, payload):
    return dst + src + struct.pack("!H", ty) + payload


def arp(op, sha, spa, tha, tpa):
    a = struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa
    return ether(b"\xff" * 6 if op == 1 else tha, sha, 0x0806, a)


def rec(side, frame, flags=0):
    assert len(frame) < 256
    return bytes([side | flags, len(frame)]) + frame


def to_in(pkt):
    return ether(IN_MAC, CLIENT_MAC, 0x0800, pkt)


def to_out(pkt):
    return ether(OUT_MAC, SERVER_MAC, 0x0800, pkt)


resolve = (rec(INSIDE, arp(1, CLIENT_MAC, CLIENT, bytes(6), IN_IP))
           + rec(OUTSIDE, arp(2, SERVER_MAC, SERVER, OUT_MAC, PUBLIC_IP))
           + rec(INSIDE, arp(2, CLIENT_MAC, CLIENT, IN_MAC, IN_IP)))
syn = tcp(CLIENT, 40000, SERVER, 80, 0x02)
synack = tcp(SERVER, 80, PUBLIC_IP, 40000, 0x12)
back = tcp(SERVER, 80, CLIENT, 40000, 0x12)  # as the client receives it
seeds = {
    "seed-web": resolve + rec(INSIDE, to_in(syn)) + rec(OUTSIDE, to_out(synack))
    + rec(INSIDE, to_in(tcp(CLIENT, 40000, SERVER, 80, 0x10)))
    + rec(OUTSIDE, to_out(tcp(SERVER, 80, PUBLIC_IP, 40000, 0x11)), 4 << 3),
    "seed-dns": resolve + rec(INSIDE, to_in(udp(CLIENT, 5353, SERVER, 53, b"\x12\x34query")))
    + rec(OUTSIDE, to_out(udp(SERVER, 53, PUBLIC_IP, 5353, b"\x12\x34answer"))),
    "seed-ping": resolve + rec(INSIDE, to_in(icmp(CLIENT, SERVER, 8, 0, b"\x10\x00\x00\x01ping")))
    + rec(OUTSIDE, to_out(icmp(SERVER, PUBLIC_IP, 0, 0, b"\x10\x00\x00\x01ping"))),
    "seed-reject": resolve + rec(INSIDE, to_in(tcp(CLIENT, 40001, SERVER, 8080, 0x02)))
    + rec(OUTSIDE, to_out(icmp(SERVER, CLIENT, 8, 0, b"\x00\x01\x00\x01"))),
    "seed-icmp-errors": resolve + rec(INSIDE, to_in(syn)) + rec(OUTSIDE, to_out(synack))
    + rec(INSIDE, to_in(icmp(CLIENT, SERVER, 3, 3, bytes(4) + back[:28])))
    + rec(INSIDE, to_in(icmp(bytes([10, 1, 0, 254]), SERVER, 11, 0, bytes(4) + back[:28])))
    + rec(OUTSIDE, to_out(icmp(bytes([10, 2, 0, 254]), PUBLIC_IP, 3, 1, bytes(4) + tcp(PUBLIC_IP, 40000, SERVER, 80, 0x02)[:28]))),
    "seed-ttl": resolve + rec(INSIDE, to_in(bytearray(syn[:8]) + b"\x01" + syn[9:]), 4),
    "seed-arp-timeout": rec(INSIDE, to_in(syn)) + rec(INSIDE, to_in(syn), 3 << 3)
    + rec(INSIDE, to_in(syn), 5 << 3),
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "frames")
os.makedirs(out, exist_ok=True)
for name, data in sorted(seeds.items()):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
