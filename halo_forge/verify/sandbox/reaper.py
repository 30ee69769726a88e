"""Reaps the orphans that being a child subreaper brings us.

As a subreaper (runner.py) this process inherits every sandbox process whose parent exited
first — typically bwrap's inner init, which often exits a moment after the bwrap we waited for.
Nobody else will wait for those, so a long-lived process (a RAFT run, a server) would pile them
up as zombies. A daemon thread reaps every sandbox zombie child (see INFRA) that has stayed unreaped for a whole tick:
a child that its owner is waiting for (subprocess.run, Popen.wait) is collected by the owner at
once and never lasts that long; one only polled now and then (a warm-pool worker) just reads as
exited (Popen treats the lost status as returncode 0, and the pool only asks whether it is alive).
Hand-written: ~30 lines of /proc reading; no library reaps orphans for a subreaper.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

TICK_SECONDS = 1.0
_started = False
_lock = threading.Lock()


#: the sandbox's own tools; with sandbox uids, the only zombies reaped (never, say, a multiprocessing
#: worker of ours, which its owner may still want to join)
INFRA = frozenset({"bwrap", "prlimit", "setpriv", "ssh", "sh"})


def zombie_children() -> set[int]:
    """Zombie children of ours that belong to the sandbox (its tools, or a sandbox uid)."""
    from halo_forge.verify.sandbox.uids import owns_uid

    me, found = os.getpid(), set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            text = (d / "stat").read_text()
            comm = text[text.index("(") + 1:text.rindex(")")]
            state, ppid = text.rsplit(")", 1)[1].split()[:2]
            uid = d.stat().st_uid
        except (OSError, ValueError):
            continue
        if state == "Z" and int(ppid) == me and (comm in INFRA or owns_uid(uid)):
            found.add(int(d.name))
    return found


def reap_stale(previous: set[int], live: set[int]) -> set[int]:
    """Reap zombies seen on the previous tick too (and not owned by a waiting caller); return this tick's."""
    now = zombie_children() - live
    for pid in now & previous:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    return now


def _loop(live_pids) -> None:
    seen: set[int] = set()
    while True:
        time.sleep(TICK_SECONDS)
        try:
            seen = reap_stale(seen, live_pids())
        except Exception:  # a /proc race must not end the thread: later zombies would pile up unreaped
            seen = set()


def start(live_pids) -> None:
    """Start the reaper thread once per process; `live_pids()` names children a caller will wait for."""
    global _started
    with _lock:
        if _started:
            return
        threading.Thread(target=_loop, args=(live_pids,), name="halo-forge-reaper", daemon=True).start()
        _started = True
