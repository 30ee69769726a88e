"""Concurrent halo-forge processes on one host never share sandbox uids, so one run's fork bombs
cannot change another run's verdicts."""

import json
import os
import subprocess
import sys

import pytest

from halo_forge.verify.sandbox import uids

# They count host-wide sandbox processes and zombies: run alone, after the parallel part.
pytestmark = pytest.mark.serial

BOMB = "import os\ndef add(a, b):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass"
TESTS = ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"]
OPTIONS = json.dumps({"limits": {"wall_seconds": 3, "cpu_seconds": 3}})


def _samples(path, programs):
    with open(path, "w") as fh:
        for i, code in enumerate(programs):
            task = {"id": f"t{i}", "prompt": "p", "verifier": {"type": "mbpp", "entry_point": "add", "tests": TESTS}}
            fh.write(json.dumps({"task": task, "completion": f"```python\n{code}\n```"}) + "\n")


def _verify(samples, out):
    cmd = [sys.executable, "-m", "halo_forge", "verify", str(samples), "--output", str(out), "--options", OPTIONS,
           "--workers", "2"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _verdicts(out):
    return [(r["task_id"], r["reward"], r["passed"]) for r in map(json.loads, open(out))]


def test_fork_bombs_in_one_run_leave_another_runs_verdicts_unchanged(tmp_path):
    honest = ["def add(a, b):\n    return a + b", "def add(a, b):\n    return a - b",
              "def add(a, b):\n    import os\n    os.fork() or os._exit(0)\n    return a + b"] * 8
    _samples(tmp_path / "a.jsonl", honest)
    _samples(tmp_path / "bombs.jsonl", [BOMB] * 6)
    solo = _verify(tmp_path / "a.jsonl", tmp_path / "solo.jsonl")
    assert solo.wait(timeout=300) == 0, solo.stderr.read()
    bombs = _verify(tmp_path / "bombs.jsonl", tmp_path / "bombs_out.jsonl")
    busy = _verify(tmp_path / "a.jsonl", tmp_path / "busy.jsonl")
    assert busy.wait(timeout=300) == 0, busy.stderr.read()
    assert bombs.wait(timeout=300) == 0, bombs.stderr.read()
    assert _verdicts(tmp_path / "busy.jsonl") == _verdicts(tmp_path / "solo.jsonl")
    assert not any(p for _, _, p in _verdicts(tmp_path / "bombs_out.jsonl"))


def test_two_processes_get_disjoint_uid_ranges():
    here = uids.uid_range()
    code = "from halo_forge.verify.sandbox import uids; print(uids.uid_range()[0])"
    other = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert other != here[0] and abs(other - here[0]) >= uids.RANGE_SIZE
    assert uids.owns_uid(uids.one_shot_uid(3)) and uids.owns_uid(uids.pool_uid_base(5)[0] + 399)
    assert os.path.exists(uids._lock_dir() / "range-0")


def _zombie_children() -> list[str]:
    """'pid (name)' of exited, unreaped children of this process."""
    from pathlib import Path

    me, found = os.getpid(), []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] == "Z" and int(fields[1]) == me:
                found.append(f"{d.name} {stat[stat.find('('):stat.rfind(')') + 1]}")
    return found


def test_no_zombie_children_after_many_verifications():
    """A long-lived process (RAFT, a server) must not accumulate exited sandbox processes."""
    from halo_forge.verify.registry import get_verifier
    from tests.helpers import mbpp_like

    # Earlier tests' own children (a browser helper, sshd) may already be zombies of this pytest
    # process, which is a subreaper once a sandbox ran: only what appears from here is counted.
    before = set(_zombie_children())
    items = [(mbpp_like(f"t{i}", "add", TESTS), "```python\ndef add(a, b):\n    return a + b\n```") for i in range(1000)]
    pooled = get_verifier("mbpp").verify_batch(items, workers=2)
    one_shot = get_verifier("mbpp", pool=False).verify_batch(items[:100], workers=2)
    assert all(r.passed for r in pooled + one_shot)
    import time

    from halo_forge.verify.sandbox import reaper

    # A sandbox's last bwrap can turn zombie a moment *after* the batch returns (killed, status 9): the old loop
    # saw none yet, stopped at once, and the final look found the newcomer, which the reaper took 1.6-1.9 s later
    # (the flaky failures of sessions 12-13). So first give the reaper three ticks, then wait for none to be left.
    settled, deadline = time.monotonic() + 3 * reaper.TICK_SECONDS, time.monotonic() + 3 * reaper.TICK_SECONDS + 12
    while time.monotonic() < settled or (set(_zombie_children()) - before and time.monotonic() < deadline):
        time.sleep(0.2)
    left = sorted(set(_zombie_children()) - before)
    if left:  # it has failed now and then in a fresh clone and never alone: say which case it is
        import threading

        from halo_forge.verify.sandbox import runner

        live = runner._live_snapshot()
        threads = [t.name for t in threading.enumerate()]
        left = [f"{z} in_live={int(z.split()[0]) in live}" for z in left]
        left += [f"reaper running: {'halo-forge-reaper' in threads}", f"reaper sees: {sorted(reaper.zombie_children())}"]

    assert left == [], "; ".join(left)
