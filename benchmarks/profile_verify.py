"""Per-sample CPU of the pooled Python sandbox: the judge's own CPU vs the zygote's process tree.

    .venv/bin/python benchmarks/profile_verify.py [--rounds 3]

Runs the `humaneval` verifier over the 164 canonical solutions with one worker and reads the
zygote tree's CPU from /proc (its reaped samples count in its cutime/cstime).
"""

from __future__ import annotations

import argparse
import os
import time

from halo_forge.data.registry import load_tasks
from halo_forge.verify.registry import get_verifier
from halo_forge.verify.sandbox import pool


def tree_cpu(root_pid: int) -> float:
    """CPU seconds of root_pid and all its live descendants, each with its reaped children."""
    stats = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(pid)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))  # ppid, utime stime cutime cstime
    tree, grew = {root_pid}, True
    while grew:
        new = {p for p, (pp, _) in stats.items() if pp in tree} - tree
        tree |= new
        grew = bool(new)
    return sum(stats[p][1] for p in tree if p in stats) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    items = [(t, t.reference) for t in load_tasks("humaneval", "test")]
    verifier = get_verifier("humaneval")
    verifier.verify_batch(items[:10], workers=1)  # start the warm sandbox
    if not pool._zygotes:
        raise SystemExit("no warm sandbox here (needs root and bubblewrap)")
    root = next(iter(pool._zygotes.values())).proc.pid
    c0, j0, t0 = tree_cpu(root), os.times(), time.perf_counter()
    for _ in range(args.rounds):
        verifier.verify_batch(items, workers=1)
    n = args.rounds * len(items)
    t1, j1, c1 = time.perf_counter(), os.times(), tree_cpu(root)
    print(f"wall {(t1 - t0) / n * 1e3:.2f} ms/sample; judge CPU {((j1.user - j0.user) + (j1.system - j0.system)) / n * 1e3:.2f} "
          f"ms; zygote tree CPU {(c1 - c0) / n * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
