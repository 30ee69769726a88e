"""How many intra-op threads torch gets on CPU: as many as there are cores actually free.

torch starts one OpenMP thread per core and every parallel region waits for its slowest thread.
When another process already keeps a core busy (a second job, the verifier's sandboxes, a CI
neighbour), the thread sharing that core runs at half speed and the whole forward pass waits
for it: a small `benchmark run` on a 2-core box went from 12-16 s to 79-88 s. So we measure the
idle share of the CPUs we may run on (/proc/stat over a short window) and size the pool to it,
never above the cores in our affinity mask.

`OMP_NUM_THREADS` or `HALO_FORGE_CPU_THREADS`, when set, win: a user who pinned threads meant it.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

log = logging.getLogger(__name__)

WINDOW_S = 0.25


def allowed_cpus() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return set(range(os.cpu_count() or 1))


def allowed_cores() -> int:
    return len(allowed_cpus())


def _per_cpu_times() -> dict[int, tuple[float, float]]:
    """{cpu: (idle, total)} jiffies from /proc/stat's per-CPU lines; {} where it is missing."""
    out: dict[int, tuple[float, float]] = {}
    try:
        with open("/proc/stat") as f:
            for line in f:
                name, *values = line.split()
                if not (name.startswith("cpu") and name[3:].isdigit()):
                    continue
                fields = [float(x) for x in values]
                out[int(name[3:])] = (fields[3] + fields[4], sum(fields[:8]))  # idle + iowait; guest is in user
    except (OSError, ValueError, IndexError):
        return {}
    return out


def free_cores(window_s: float = WINDOW_S) -> float:
    """Idle share over the last `window_s` seconds, summed over the CPUs we may run on (so a
    container pinned to 2 CPUs of a 64-core host counts its own 2, not the host's)."""
    cpus = allowed_cpus()
    first = _per_cpu_times()
    if not first:
        return float(len(cpus))
    time.sleep(window_s)
    second = _per_cpu_times()
    free = 0.0
    for cpu in cpus:
        if cpu not in first or cpu not in second:
            free += 1.0
            continue
        total = second[cpu][1] - first[cpu][1]
        free += (second[cpu][0] - first[cpu][0]) / total if total > 0 else 1.0
    return free


def pinned_threads() -> int | None:
    for var in ("HALO_FORGE_CPU_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def choose_threads(free: float, allowed: int, reserve: int = 0) -> int:
    """Round the free cores to the nearest whole one, less `reserve`, within [1, allowed]."""
    return max(1, min(allowed, int(free + 0.5) - reserve))


def size_cpu_threads(reserve: int = 0) -> int:
    """Set torch's intra-op threads for CPU work starting now and return the count.
    `reserve` keeps cores for work that will run beside it (verification workers)."""
    import torch

    n = pinned_threads() or choose_threads(free_cores(), allowed_cores(), reserve)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
        log.debug("torch intra-op threads: %d", n)
    return n


def size_cpu_threads_for(device: Any) -> None:
    """`size_cpu_threads()` when `device` (a torch.device or a name) is the CPU; GPUs need nothing."""
    if getattr(device, "type", device) == "cpu":
        size_cpu_threads()
