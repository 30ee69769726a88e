"""CPU threads are sized to the cores free now, never above the affinity mask, pinned when asked."""

import subprocess
import sys
import time

import torch

from halo_forge.generation.cpu_threads import allowed_cores, choose_threads, free_cores, size_cpu_threads


def test_choose_threads_rounds_free_cores_within_bounds():
    assert choose_threads(free=1.1, allowed=2) == 1  # one core taken by another process
    assert choose_threads(free=1.6, allowed=2) == 2
    assert choose_threads(free=0.1, allowed=2) == 1  # never zero
    assert choose_threads(free=15.7, allowed=8) == 8  # never above our affinity mask
    assert choose_threads(free=8.0, allowed=8, reserve=2) == 6


def test_free_cores_sees_busy_processes():
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(allowed_cores())]
    try:
        time.sleep(0.3)
        busy = free_cores(0.5)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    assert 0 <= busy <= 0.6, busy  # every core taken: nothing free, so sizing would pick 1 thread


def test_pinned_threads_win(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("HALO_FORGE_CPU_THREADS", "1")
        assert size_cpu_threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.delenv("HALO_FORGE_CPU_THREADS")
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert size_cpu_threads() == 2
    finally:
        torch.set_num_threads(before)
