#!/usr/bin/env python3
"""Plots the chain benchmark's CSV (hops,frame,mbps,kpps) into a PNG.

    plot.py results.csv out.png
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = list(csv.DictReader(open(sys.argv[1])))
fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
for frame in sorted({int(r["frame"]) for r in rows}):
    rs = sorted((r for r in rows if int(r["frame"]) == frame), key=lambda r: int(r["hops"]))
    hops = [int(r["hops"]) for r in rs]
    a.plot(hops, [float(r["mbps"]) for r in rs], marker="o", label=f"{frame}-byte frames")
    b.plot(hops, [float(r["kpps"]) for r in rs], marker="o", label=f"{frame}-byte frames")
a.set_xlabel("middleboxes in the chain")
a.set_ylabel("Mb/s received (sender flat out)")
b.set_xlabel("middleboxes in the chain")
b.set_ylabel("kpackets/s received (sender flat out)")
for ax in (a, b):
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_xticks(range(1, 9))
fig.suptitle("UDP through chains of forwarding hops (mbctl chain, host runner, OVS userspace)")
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=90)
