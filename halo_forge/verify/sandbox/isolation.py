"""Builds the command prefix that isolates one sandboxed process (see package docstring)."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

SANDBOX_DIR = "/sandbox"
BASE_UID = 61000  # slot n runs as uid BASE_UID + n (no such user needs to exist)
SAFE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": SANDBOX_DIR, "LANG": "C.UTF-8", "TMPDIR": "/tmp"}


def is_root() -> bool:
    return os.geteuid() == 0


@functools.lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    """bwrap if it is installed *and* works here (containers may forbid namespaces)."""
    exe = shutil.which("bwrap")
    if not exe or os.environ.get("HALO_FORGE_NO_BWRAP") == "1":
        return None
    probe = [exe, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--die-with-parent"]
    if not is_root():
        probe.append("--unshare-user")
    try:
        ok = subprocess.run(probe + ["--", "/bin/true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return exe if ok else None


_warned = False


def isolation_level() -> str:
    global _warned
    if bwrap_path():
        return "bwrap"
    if not _warned:
        log.warning("bubblewrap is unavailable: sandbox falls back to rlimits + privilege drop only "
                    "(no namespaces; install the Debian package 'bubblewrap')")
        _warned = True
    return "rlimits"


def _system_binds() -> list[str]:
    """Read-only /usr and the /etc files programs need; mirror the host's merged-/usr symlinks."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = Path("/") / top
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            args += ["--ro-bind", str(p), str(p)]
    args += ["--perms", "0755", "--dir", "/etc"]  # bwrap would create it 0700: unreadable to the sandbox uid
    for etc in ("/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
                "/etc/wine"):
        if os.path.exists(etc):
            args += ["--ro-bind", etc, etc]
    return args


def bwrap_prefix(workdir: str, extra_ro: dict[str, str] | None = None) -> list[str]:
    args = [bwrap_path() or "bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    if not is_root():
        args += ["--unshare-user", "--cap-drop", "ALL"]
    args += _system_binds()
    made: set[str] = set()
    for src, dst in (extra_ro or {}).items():
        # bwrap creates missing parents with mode 0700: make them traversable for the sandbox uid.
        for parent in reversed(Path(dst).parents[:-1]):
            if str(parent) not in made and not str(parent).startswith("/usr"):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(str(parent))
        args += ["--ro-bind", src, dst]
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp", "--bind", workdir, SANDBOX_DIR,
             "--chdir", SANDBOX_DIR]
    for k, v in SAFE_ENV.items():
        args += ["--setenv", k, v]
    return args


def limits_prefix(limits, slot: int) -> list[str]:
    """prlimit (as the current user), then drop to the slot's uid when we are root."""
    nproc = limits.max_processes
    if not is_root():
        # Without a private uid, RLIMIT_NPROC counts all of this user's processes.
        nproc += _user_process_count()
    args = [
        "/usr/bin/prlimit",
        f"--cpu={limits.cpu_seconds}",
        f"--as={limits.memory_mb * 1024 * 1024}",
        f"--nproc={nproc}",
        f"--fsize={limits.max_file_mb * 1024 * 1024}",
        f"--nofile={limits.max_open_files}",
        "--core=0",
        "--",
    ]
    if is_root():
        uid = BASE_UID + slot
        args += ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", "--no-new-privs", "--"]
    return args


def _user_process_count() -> int:
    uid = os.getuid()
    n = 0
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if d.stat().st_uid == uid:
                    n += 1
            except OSError:
                pass
    return n


def sandbox_uid(slot: int) -> int | None:
    return BASE_UID + slot if is_root() else None
