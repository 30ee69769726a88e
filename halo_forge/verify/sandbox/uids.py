"""Per-process sandbox uid ranges, so concurrent halo-forge runs on one host never share a uid.

RLIMIT_NPROC counts processes per real uid across the whole host: if two runs used the same
sandbox uids, a fork bomb in one run would exhaust the other's process budget and its honest
samples would fail. Each process therefore takes one of `RANGES` uid ranges by holding an
exclusive `flock` on a lock file for its lifetime (the kernel drops the lock when the process
dies, so a crashed run never leaks its range). Hand-written because no library allocates
uid ranges; it is ~40 lines of fcntl.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

FIRST_UID = 200_000  # far above normal users and the default subuid ranges (100000-165535 are often taken)
RANGE_SIZE = 65_536  # one-shot slots use base + slot; pooled samples base + 1024 + 400*slot + n
RANGES = 512
LOCK_DIR = Path(os.environ.get("HALO_FORGE_UID_LOCK_DIR", "/run/lock/halo-forge-uids"))

_lock = threading.Lock()
_held: tuple[int, int, int] | None = None  # (range index, lock fd, owner pid)


def _lock_dir() -> Path:
    for d in (LOCK_DIR, Path("/tmp/halo-forge-uids")):
        try:
            d.mkdir(mode=0o755, parents=True, exist_ok=True)
            return d
        except OSError:
            continue
    raise RuntimeError("no writable folder for the sandbox uid lock files")


def uid_range() -> tuple[int, int]:
    """(first uid, size) of this process's range; allocated on first use, held until exit."""
    global _held
    with _lock:
        if _held is None or _held[2] != os.getpid():
            d = _lock_dir()
            for i in range(RANGES):
                fd = os.open(d / f"range-{i}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    os.close(fd)
                    continue
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                _held = (i, fd, os.getpid())
                break
            else:
                raise RuntimeError(f"all {RANGES} sandbox uid ranges are in use on this host ({d})")
        return FIRST_UID + _held[0] * RANGE_SIZE, RANGE_SIZE


def one_shot_uid(slot: int) -> int:
    if not 0 <= slot < 1024:
        raise ValueError(f"sandbox slot {slot} out of range (at most 1024)")
    return uid_range()[0] + slot


def pool_uid_base(slot: int) -> tuple[int, int]:
    """(first uid, count) for the pooled samples of one slot."""
    if not 0 <= slot < 160:
        raise ValueError(f"sandbox slot {slot} out of range (at most 160 verification workers)")
    return uid_range()[0] + 1024 + 400 * slot, 400


def owns_uid(uid: int) -> bool:
    """Is `uid` a sandbox uid of any halo-forge process (tests look for leftovers with it)?"""
    return FIRST_UID <= uid < FIRST_UID + RANGES * RANGE_SIZE
