#!/usr/bin/env python3
"""Whole-process benchmark of `mbctl run` beside Click's user-level driver.

Generates a trace of 64-byte frames over 65,536 flows (TCP, UDP and some
ICMP; half the flows built to hit one of the IPFilter rules), then runs
each benchmark configuration with Click and with `mbctl run`, alternating
(Click, ours, Click, ours, ...), N times each, and prints the medians of
wall time, user and system time and peak RSS (rusage of the
whole process), and Click's figure divided by ours. Then, unless
--no-callgrind, the instructions per packet of each path under
`valgrind --tool=callgrind`: the difference between a run on a large and
a small trace divided by the difference in packets, so startup is left
out.

Both programs read the same configuration file; each run's `-h d.count`
(packets that reached the final Discard) must agree, or the script fails.

Click is not fetched or built here. To build Click 2.1's user-level
driver from a source snapshot:

    ./configure --disable-linuxmodule --enable-userlevel --disable-dynamic-linking
    make -j2            # the binary is userlevel/click

Usage: tests/bench/bench-click.py --click /path/to/click [--runs 5]
(`make bench-click CLICK=/path/to/click` builds the release mbctl first).
"""

import argparse
import os
import re
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

FLOWS = 65536
RULES = 100
SEED = 0x9E3779B97F4A7C15


class Rng:
    """xorshift64: the same trace on every machine."""

    def __init__(self, seed):
        self.s = seed

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFFFFFFFFFF
        s ^= s >> 7
        s ^= (s << 17) & 0xFFFFFFFFFFFFFFFF
        self.s = s
        return s

    def below(self, n):
        return self.next() % n


def addr(r):
    return [10 + r.below(4), r.below(256), r.below(256), 1 + r.below(254)]


def dotted(a):
    return ".".join(str(x) for x in a)


def make_rules(r):
    """RULES - 1 rules of five shapes and the flow each one matches, then
    a default. Shapes: source /24, TCP and a destination port; UDP to a
    host and port; a TCP source port and a destination /16; ICMP echo from
    a host; UDP from a /16 to a host within a port range."""
    rules, hits = [], []
    for _ in range(RULES - 1):
        act = ("allow", "deny")[r.below(2)]
        s, d = addr(r), addr(r)
        port = 1 + r.below(60000)
        h = {"proto": 6, "src": s, "dst": d, "sport": 1024 + r.below(60000), "dport": port}
        shape = r.below(5)
        if shape == 0:
            text = f"{act} src net {s[0]}.{s[1]}.{s[2]}.0/24 && tcp && dst port {port}"
        elif shape == 1:
            h["proto"] = 17
            text = f"{act} dst host {dotted(d)} && udp dst port {port}"
        elif shape == 2:
            text = f"{act} tcp src port {h['sport']} && dst net {d[0]}.{d[1]}.0.0/16"
        elif shape == 3:
            h["proto"] = 1
            text = f"{act} icmp type echo && src host {dotted(s)}"
        else:
            h["proto"] = 17
            h["dport"] = 5000 + r.below(100)
            text = (
                f"{act} udp && src net {s[0]}.{s[1]}.0.0/16 && dst host {dotted(d)}"
                " && dst port >= 5000 && dst port < 5100"
            )
        rules.append(text)
        hits.append(h)
    rules.append("allow all")
    return rules, hits


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def frame(f):
    """An Ethernet/IPv4 frame of 64 bytes for flow `f`, IP checksum valid."""
    proto = f["proto"]
    if proto == 1:
        l4 = struct.pack("!BBHHH", 8, 0, 0, f["sport"], 1) + bytes(22)
        l4 = l4[:2] + struct.pack("!H", checksum(l4)) + l4[4:]
    elif proto == 6:
        l4 = struct.pack("!HHIIBBHHH", f["sport"], f["dport"], 1, 0, 0x50, 0x10, 8192, 0, 0) + bytes(10)
    else:
        l4 = struct.pack("!HHHH", f["sport"], f["dport"], 30, 0) + bytes(22)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0,
                     bytes(f["src"]), bytes(f["dst"]))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    eth = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0])
    fr = eth + ip + l4
    assert len(fr) == 64, len(fr)
    return fr


def make_flows(r, hits):
    """FLOWS flows: even ones take a random rule's tested fields (the
    rest random), odd ones are random TCP or UDP."""
    flows = []
    for i in range(FLOWS):
        f = {"proto": (6, 17)[r.below(2)], "src": addr(r), "dst": addr(r),
             "sport": 1024 + r.below(64512), "dport": 1 + r.below(65535)}
        if i % 2 == 0:
            h = hits[r.below(len(hits))]
            f["proto"] = h["proto"]
            f["src"], f["dst"] = list(h["src"]), list(h["dst"])
            f["src"][3] = 1 + r.below(254) if h["proto"] == 6 and r.below(2) else f["src"][3]
            f["sport"], f["dport"] = h["sport"], h["dport"]
        flows.append(frame(f))
    return flows


def write_trace(path, frames, flows):
    """A pcap (microsecond, Ethernet) of `frames` packets; packet i is of
    flow (i * 40503) mod FLOWS, which interleaves every flow's packets."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        chunk = []
        for i in range(frames):
            chunk.append(struct.pack("<IIII", 1_000_000 + i // 100_000, (i % 100_000) * 10, 64, 64))
            chunk.append(flows[(i * 40503) % FLOWS])
            if len(chunk) >= 16384:
                out.write(b"".join(chunk))
                chunk.clear()
        out.write(b"".join(chunk))
    os.replace(tmp, path)


HEAD = "FromDump({trace}, STOP true)"
CHECK = "-> cl :: Classifier(12/0800, -) -> Strip(14) -> CheckIPHeader"


def configs(rules):
    """(name, config with {trace} to fill) of every benchmarked path."""
    filt = "IPFilter(" + ",\n    ".join(rules) + ")"
    return [
        ("FromDump -> Discard", f"{HEAD} -> d :: Discard;\n"),
        ("Classifier -> Strip -> CheckIPHeader",
         f"{HEAD}\n  {CHECK} -> d :: Discard;\ncl[1] -> Discard;\n"),
        ("... -> IPFilter (100 rules)",
         f"{HEAD}\n  {CHECK}\n  -> {filt}\n  -> d :: Discard;\ncl[1] -> Discard;\n"),
        ("... -> IPRewriter (NAPT, 65,536 flows)",
         f"{HEAD}\n  {CHECK}\n"
         "  -> rw :: IPRewriter(pattern 192.0.2.1 1024-65535 - - 0 0)\n"
         f"  -> d :: Discard;\ncl[1] -> Discard;\n"),
    ]


def run_once(argv, workdir):
    """Runs argv; (wall s, user s, sys s, peak RSS KiB, stdout). The
    program runs under /usr/bin/time, which reports its peak RSS: a child
    forked from this script would inherit the script's own peak."""
    rss_file = os.path.join(workdir, "rss")
    t = time.monotonic()
    p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file] + argv,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    wall = time.monotonic() - t
    # communicate() reaped the process; its children's CPU time is in
    # this process's RUSAGE_CHILDREN, by difference.
    if p.returncode != 0:
        sys.exit(f"{' '.join(argv)}: exit {p.returncode}\n{err.decode(errors='replace')}")
    with open(rss_file) as f:
        rss = int(f.read().split()[-1])
    return wall, rss, out.decode()


def timed(argv, workdir):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, rss, out = run_once(argv, workdir)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, rss, out)


def count(out):
    m = re.search(r"(\d+)\s*$", out)
    if not m:
        sys.exit(f"no d.count in output: {out!r}")
    return int(m.group(1))


def commands(click, mbctl, conf):
    return {
        "click": [click, "-h", "d.count", conf],
        "ours": [mbctl, "run", conf, "-h", "d.count"],
    }


def callgrind_instructions(argv, workdir):
    out = os.path.join(workdir, "cg.out")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + argv,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    sys.exit(f"no totals in {out}")


def fmt_ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--click", required=True, help="Click's user-level driver (userlevel/click)")
    ap.add_argument("--mbctl", default="target/release/mbctl")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--frames", type=int, default=2_000_000)
    ap.add_argument("--dir", default="target/bench-click", help="trace and configs go here")
    ap.add_argument("--only", help="run only paths whose name contains this")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--cg-frames", type=int, default=100_000,
                    help="trace size for callgrind (a tenth of it is the baseline run)")
    a = ap.parse_args()
    for prog in (a.click, a.mbctl):
        if not (os.path.isfile(prog) and os.access(prog, os.X_OK)):
            sys.exit(f"{prog}: not an executable (see the top of {sys.argv[0]} for how to build Click)")
    os.makedirs(a.dir, exist_ok=True)

    r = Rng(SEED)
    rules, hits = make_rules(r)
    flows = make_flows(r, hits)
    traces = {}
    sizes = [a.frames] + ([] if a.no_callgrind else [a.cg_frames, a.cg_frames // 10])
    for n in sizes:
        path = os.path.abspath(os.path.join(a.dir, f"trace-{n}.pcap"))
        if not (os.path.exists(path) and os.path.getsize(path) == 24 + 80 * n):
            print(f"writing {path}", file=sys.stderr)
            write_trace(path, n, flows)
        traces[n] = path

    paths = [(n, c) for n, c in configs(rules) if not a.only or a.only in n]
    conf_files = {}
    for i, (name, text) in enumerate(paths):
        for n, t in traces.items():
            p = os.path.join(a.dir, f"path{i}-{n}.click")
            with open(p, "w") as f:
                f.write(text.format(trace=t))
            conf_files[(name, n)] = p

    load = os.getloadavg()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"bench-click: {a.frames} frames of 64 bytes, {FLOWS} flows; {a.runs} runs each, alternating")
    print(f"CPU: {cpu}, {os.cpu_count()} cores; load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"Click: {a.click}; ours: {a.mbctl} run")
    print()
    print("| path | wall Click | wall ours | **Click/ours wall** | user Click / ours | sys Click / ours | peak RSS Click / ours (MiB) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, _ in paths if a.runs > 0 else []:
        cmds = commands(a.click, a.mbctl, conf_files[(name, a.frames)])
        res = {"click": [], "ours": []}
        for i in range(a.runs):
            # Alternate, and alternate who goes first, so drifting load
            # falls on both.
            order = ("click", "ours") if i % 2 == 0 else ("ours", "click")
            for who in order:
                res[who].append(timed(cmds[who], a.dir))
        counts = {who: {count(x[4]) for x in res[who]} for who in res}
        if counts["click"] != counts["ours"] or len(counts["ours"]) != 1:
            sys.exit(f"{name}: d.count differs: Click {counts['click']}, ours {counts['ours']}")
        med = {who: [statistics.median(x[k] for x in res[who]) for k in range(4)] for who in res}
        c, o = med["click"], med["ours"]
        print(f"| {name} | {c[0]:.3f} s | {o[0]:.3f} s | **{fmt_ratio(c[0], o[0])}** "
              f"| {c[1]:.3f} / {o[1]:.3f} s | {c[2]:.3f} / {o[2]:.3f} s "
              f"| {c[3] / 1024:.1f} / {o[3] / 1024:.1f} |", flush=True)
    load = os.getloadavg()
    print(f"\nload average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    if a.no_callgrind:
        return
    if not shutil.which("valgrind"):
        print("valgrind not found: no instruction counts (apt-get install valgrind)")
        return
    big, small = a.cg_frames, a.cg_frames // 10
    print(f"\nInstructions per packet (callgrind; runs on {big} and {small} frames, "
          f"difference / {big - small} packets: startup left out)\n")
    print("| path | Click | ours | Click/ours |")
    print("| --- | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for name, _ in paths:
            per = {}
            for who in ("click", "ours"):
                hi = callgrind_instructions(commands(a.click, a.mbctl, conf_files[(name, big)])[who], tmp)
                lo = callgrind_instructions(commands(a.click, a.mbctl, conf_files[(name, small)])[who], tmp)
                per[who] = (hi - lo) / (big - small)
            print(f"| {name} | {per['click']:.0f} | {per['ours']:.0f} | {fmt_ratio(per['click'], per['ours'])} |",
                  flush=True)


if __name__ == "__main__":
    main()
