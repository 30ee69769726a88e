"""Runs one command (or one interactive session) inside the sandbox and cleans up after it."""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from halo_forge.verify.sandbox import cleanup, isolation, reaper
from halo_forge.verify.sandbox.isolation import SAFE_ENV, SANDBOX_DIR

NETBLOCK = str(Path(__file__).with_name("netblock.py"))
NETBLOCK_PYTHON = "/usr/bin/python3"  # any stdlib python; the candidate's own may be another


@dataclass
class SandboxLimits:
    cpu_seconds: int = 10
    wall_seconds: float = 10.0
    memory_mb: int = 2048
    max_processes: int = 64
    max_file_mb: int = 16
    max_open_files: int = 256
    max_output_bytes: int = 1 << 20

    @classmethod
    def from_options(cls, options: dict) -> "SandboxLimits":
        known = {k: options[k] for k in cls.__dataclass_fields__ if k in options}
        return cls(**known)


@dataclass
class RunResult:
    returncode: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool
    wall_time: float
    output_truncated: bool = False
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def crashed(self) -> bool:
        return self.returncode is None or self.returncode != 0


# ---- orphan reaping -------------------------------------------------------------------------
_live: set[int] = set()
_live_lock = threading.Lock()
_subreaper_set = False
PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    global _subreaper_set
    if _subreaper_set:
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    _subreaper_set = True
    reaper.start(_live_snapshot)


def _live_snapshot() -> set[int]:
    with _live_lock:
        return set(_live)


def reap_orphans() -> int:
    """Reap exited processes that are not ours to wait for (re-parented sandbox inits)."""
    reaped = 0
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return reaped
        if info is None:
            return reaped
        with _live_lock:
            ours = info.si_pid in _live
        if ours:  # subprocess will wait for it itself; do not steal its status
            return reaped
        try:
            os.waitpid(info.si_pid, os.WNOHANG)
            reaped += 1
        except ChildProcessError:
            return reaped


class LineReader:
    """Newline-delimited reads from a pipe with a wall-clock deadline and a size cap."""

    def __init__(self, fd: int, cap: int = 64 << 20):
        self.fd = fd
        self.cap = cap
        self.buf = b""

    def readline(self, deadline: float) -> tuple[bytes | None, str]:
        """(line, "") or (None, why): "timeout", "eof" or "overflow"."""
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, "timeout"
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None, "eof"
            self.buf += chunk
            if len(self.buf) > self.cap:
                return None, "overflow"
        line, _, self.buf = self.buf.partition(b"\n")
        return line, ""


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class SandboxUnavailable(RuntimeError):
    """The sandbox itself cannot run here: verification is impossible (an error, not a 0)."""


_health: dict[str, str | None] = {}
_health_lock = threading.Lock()


def sandbox_health(level: str) -> str | None:
    """Run /bin/true through the full isolation prefix once per process; None when it works."""
    with _health_lock:
        if level not in _health:
            box = Sandbox(SandboxLimits(wall_seconds=30), 0, check_health=False)
            work = box._make_workdir({})
            try:
                cmd, cwd, env = box._argv(work, ["/bin/true"])
                r = subprocess.run(cmd, cwd=cwd or "/", env=env if env is not None else {}, capture_output=True,
                                   timeout=30)
                _health[level] = None if r.returncode == 0 else (
                    f"sandbox probe exited {r.returncode}: {r.stderr.decode(errors='replace').strip()[-200:]}")
            except (OSError, subprocess.TimeoutExpired) as exc:
                _health[level] = f"sandbox probe failed: {exc}"
            finally:
                box._cleanup(work)
        return _health[level]


class Sandbox:
    """One sandbox slot. Slots run concurrently; each has its own uid (as root) so process
    limits of one slot never starve another."""

    def __init__(self, limits: SandboxLimits | None = None, slot: int = 0, extra_ro: dict[str, str] | None = None,
                 check_health: bool = True):
        self.limits = limits or SandboxLimits()
        self.slot = slot
        self.extra_ro = extra_ro or {}
        self.level = isolation.isolation_level()
        _become_subreaper()
        problem = sandbox_health(self.level) if check_health else None
        if problem:
            raise SandboxUnavailable(problem)

    # -- set-up -------------------------------------------------------------------------------
    def _make_workdir(self, files: dict[str, bytes | str], executables: tuple[str, ...] = ()) -> Path:
        work = Path(tempfile.mkdtemp(prefix="hf-sbx-"))
        for name, content in files.items():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)
            if name in executables:
                os.chmod(target, 0o755)
        uid = isolation.sandbox_uid(self.slot)
        if uid is not None:
            for p in [work, *work.rglob("*")]:
                os.chown(p, uid, uid)
        os.chmod(work, 0o700)
        return work

    def _argv(self, work: Path, argv: list[str]) -> tuple[list[str], str | None, dict | None]:
        limits = isolation.limits_prefix(self.limits, self.slot)
        if self.level == "bwrap":
            return isolation.bwrap_prefix(str(work), self.extra_ro) + ["--"] + limits + argv, None, None
        # Fallback: no namespaces; the program sees the real paths, so map the sandbox dir, and
        # deny it the network with a seccomp filter (netblock.py) since there is no network namespace.
        argv = [a.replace(SANDBOX_DIR, str(work)) for a in argv]
        if os.path.exists(NETBLOCK_PYTHON):
            argv = [NETBLOCK_PYTHON, "-I", "-S", NETBLOCK, *argv]
        env = dict(SAFE_ENV, HOME=str(work))
        return limits + argv, str(work), env

    def _start(self, work: Path, argv: list[str], stdin, stdout, stderr) -> subprocess.Popen:
        cmd, cwd, env = self._argv(work, argv)
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd or "/",
                                env=env if env is not None else {}, start_new_session=True, close_fds=True)
        with _live_lock:
            _live.add(proc.pid)
        return proc

    def _finish(self, proc: subprocess.Popen) -> None:
        _kill_group(proc)  # also kills daemons left in the group; bwrap's pid ns takes the rest
        try:
            proc.wait(timeout=5)
        finally:
            with _live_lock:
                _live.discard(proc.pid)
            reap_orphans()

    def _cleanup(self, work: Path) -> None:
        if self.level != "bwrap":  # no namespace took the candidate's processes and /tmp files with it
            uid = isolation.sandbox_uid(self.slot)
            if uid is not None:
                cleanup.sweep_uid(uid)
        cleanup.remove_tree(work)

    def _read_capped(self, path: Path) -> tuple[bytes, bool]:
        cap = self.limits.max_output_bytes
        with path.open("rb") as fh:
            data = fh.read(cap + 1)
        return data[:cap], len(data) > cap

    # -- one-shot run -------------------------------------------------------------------------
    def run(self, argv: list[str], files: dict[str, bytes | str] | None = None, stdin: bytes = b"",
            collect: tuple[str, ...] = (), timeout: float | None = None,
            executables: tuple[str, ...] = ()) -> RunResult:
        """Run argv (paths relative to /sandbox) with `files` in its scratch dir.

        `collect` names output files to copy back (e.g. a compiled binary)."""
        work = self._make_workdir(files or {}, executables)
        logs = Path(tempfile.mkdtemp(prefix="hf-sbx-log-"))
        try:
            (logs / "stdin").write_bytes(stdin)
            with (logs / "stdin").open("rb") as fin, (logs / "out").open("wb") as fout, \
                    (logs / "err").open("wb") as ferr:
                start = time.monotonic()
                proc = self._start(work, argv, fin, fout, ferr)
                timed_out = False
                try:
                    proc.wait(timeout=timeout or self.limits.wall_seconds)
                except subprocess.TimeoutExpired:
                    timed_out = True
                rc = proc.returncode
                self._finish(proc)
                wall = time.monotonic() - start
            out, t1 = self._read_capped(logs / "out")
            err, t2 = self._read_capped(logs / "err")
            got = {}
            for name in collect:
                p = work / name
                if p.is_file() and not p.is_symlink():
                    got[name] = p.read_bytes()
            return RunResult(None if timed_out else rc, out, err, timed_out, wall, t1 or t2, got)
        finally:
            self._cleanup(work)
            cleanup.remove_tree(logs)

    def session(self, argv: list[str], files: dict[str, bytes | str] | None = None,
                timeout: float | None = None) -> "SandboxSession":
        return SandboxSession(self, argv, files or {}, timeout or self.limits.wall_seconds)


class SandboxSession:
    """A sandboxed process spoken to over its stdin/stdout (newline-delimited messages).

    The whole session shares one wall-clock deadline; reads are capped in size."""

    def __init__(self, box: Sandbox, argv: list[str], files: dict[str, bytes | str], timeout: float):
        self.box = box
        self.work = box._make_workdir(files)
        self.errfile = tempfile.TemporaryFile()
        self.deadline = time.monotonic() + timeout
        self.proc = box._start(self.work, argv, subprocess.PIPE, subprocess.PIPE, self.errfile)
        self._reader = LineReader(self.proc.stdout.fileno())
        self.timed_out = False
        self.closed = False

    def send(self, line: bytes) -> bool:
        try:
            self.proc.stdin.write(line + b"\n")
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def recv(self, max_bytes: int | None = None) -> bytes | None:
        """Next line, or None on EOF, timeout or an over-long line."""
        self._reader.cap = max_bytes or self.box.limits.max_output_bytes
        line, why = self._reader.readline(self.deadline)
        self.timed_out = self.timed_out or why == "timeout"
        return line

    def stderr_tail(self, n: int = 2000) -> str:
        self.errfile.seek(0, os.SEEK_END)
        size = self.errfile.tell()
        self.errfile.seek(max(0, size - n))
        return self.errfile.read().decode("utf-8", "replace")

    def close(self) -> int | None:
        if self.closed:
            return self.proc.returncode
        self.closed = True
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        rc = self.proc.poll()
        self.box._finish(self.proc)
        self.box._cleanup(self.work)
        self.errfile.close()
        return rc

    def __enter__(self) -> "SandboxSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
