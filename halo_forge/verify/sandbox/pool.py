"""Warm sandboxes for Python candidates: one bwrap + zygote per slot, one fork per sample.

A per-sample bwrap costs ~15 ms before the candidate runs; forking from a warm, already
isolated zygote costs ~2 ms. The zygote (see zygote_py.py) gives each sample its own pid
namespace, uid, rlimits and scratch dir, so samples stay isolated from each other and from the
zygote. Used only where the kernel isolation exists and we are root (to switch uids); elsewhere
the one-shot sandbox is used. Judge-side framing: "c " lines are the candidate's, "z " lines the
zygote's, so a candidate cannot end or desynchronise a session.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from halo_forge.verify.sandbox import cleanup, isolation, uids
from halo_forge.verify.sandbox.runner import LineReader, SandboxLimits, SandboxUnavailable, sandbox_health

HERE = Path(__file__).resolve().parent
ZYGOTE_CAPS = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER")


def pool_available() -> bool:
    return (isolation.is_root() and isolation.isolation_level() == "bwrap"
            and os.environ.get("HALO_FORGE_NO_POOL") != "1")


class _Zygote:
    def __init__(self, slot: int, limits: SandboxLimits, python: str, harness: str):
        self.lock = threading.Lock()
        rl = {"RLIMIT_CPU": limits.cpu_seconds, "RLIMIT_AS": limits.memory_mb << 20,
              "RLIMIT_NPROC": limits.max_processes, "RLIMIT_FSIZE": limits.max_file_mb << 20,
              "RLIMIT_NOFILE": limits.max_open_files, "RLIMIT_CORE": 0}
        import tempfile

        self.dead = False  # set once its stdout reached EOF: the worker is gone, whatever poll() says yet
        self.work = Path(tempfile.mkdtemp(prefix="hf-zyg-"))  # lives as long as the zygote
        (self.work / "zygote_py.py").write_text((HERE / "zygote_py.py").read_text())
        (self.work / "harness_py.py").write_text(harness)
        caps = ["--cap-drop", "ALL"] + [a for c in ZYGOTE_CAPS for a in ("--cap-add", c)]
        argv = isolation.bwrap_prefix(str(self.work)) + caps + [
            "--", python, "-I", "-S", "-B", "-c",
            "import sys; sys.path.insert(0, '/sandbox'); import harness_py, zygote_py; zygote_py.main()",
            *map(str, uids.pool_uid_base(slot)), json.dumps(rl), str(isolation.TMP_MB << 20)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     start_new_session=True, env={}, close_fds=True)
        self.reader = LineReader(self.proc.stdout.fileno())
        self.pending_done = 0  # samples ended but whose "z done" has not been read yet
        first = self.readline(time.monotonic() + 30)
        if first != b"z ready":
            self.kill()
            raise RuntimeError("sandbox zygote did not start")

    def readline(self, deadline: float) -> bytes | None:
        """Next line of the current sample. Everything up to the "z done" acknowledgements of
        earlier, already closed samples belongs to those samples and is skipped."""
        while self.pending_done:
            line = self._readline(deadline)
            if line is None:
                return None
            if line.startswith(b"z done"):
                self.pending_done -= 1
        return self._readline(deadline)

    def _readline(self, deadline: float) -> bytes | None:
        line, why = self.reader.readline(deadline)
        if why in ("eof", "overflow"):
            self.dead = True
        return line

    def write(self, data: bytes) -> bool:
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def alive(self) -> bool:
        return not self.dead and self.proc.poll() is None

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        cleanup.remove_tree(self.work)


_zygotes: dict[tuple, _Zygote] = {}
_zlock = threading.Lock()
# Zygotes are started from this one thread, which lives as long as the process. Why: bwrap's
# --die-with-parent is PR_SET_PDEATHSIG, which fires when the *thread* that forked bwrap exits, not
# the process. Started from a verify_batch worker thread, every warm zygote died with its thread at
# the end of each batch, and the next batch paid a new bwrap per slot (~30 ms each, serialised by
# _zlock): 127 samples/s instead of ~490/s for HumanEval in chunks of 8 at 2 workers, and several
# judging processes (verify/processes.py, fed small chunks) were slower than one.
_spawner: tuple[int, ThreadPoolExecutor] | None = None  # (owner pid, executor): a forked child makes its own


def _start_zygote(*args: object) -> _Zygote:
    global _spawner
    if _spawner is None or _spawner[0] != os.getpid():
        _spawner = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="halo-forge-zygote-spawner"))
    return _spawner[1].submit(_Zygote, *args).result()


def _get(slot: int, limits: SandboxLimits, python: str, harness: str) -> _Zygote:
    key = (slot, limits.cpu_seconds, limits.memory_mb, limits.max_processes, limits.max_file_mb, python)
    with _zlock:
        z = _zygotes.get(key)
        if z is None or not z.alive():
            if z is not None:
                z.kill()
            z = _zygotes[key] = _start_zygote(slot, limits, python, harness)
        return z


@atexit.register
def shutdown() -> None:
    with _zlock:
        for z in _zygotes.values():
            z.kill()
        _zygotes.clear()


class PooledSession:
    """The SandboxSession interface (send / recv / close / timed_out) over a warm zygote."""

    def __init__(self, slot: int, limits: SandboxLimits, python: str, harness: str, program: str, timeout: float):
        problem = sandbox_health(isolation.isolation_level())
        if problem:
            raise SandboxUnavailable(problem)
        self.z = _get(slot, limits, python, harness)
        self.z.lock.acquire()
        self.deadline = time.monotonic() + timeout
        self.timed_out = False
        self.closed = False
        self.ended = False
        self.limits = limits
        if not self.z.write(json.dumps({"code": program}).encode() + b"\n"):
            self.ended = True

    def send(self, line: bytes) -> bool:
        return not self.ended and self.z.write(line + b"\n")

    def recv(self, max_bytes: int | None = None) -> bytes | None:
        if self.ended:
            return None
        while True:
            line = self.z.readline(self.deadline)
            if line is None:
                self.timed_out = time.monotonic() >= self.deadline
                self.ended = True
                return None
            if line.startswith(b"c "):
                payload = line[2:]
                return payload if len(payload) <= (max_bytes or self.limits.max_output_bytes) else None
            self.ended = True  # "z eof": the candidate process is gone
            return None

    @property
    def worker_died(self) -> bool:
        """The warm worker itself is gone: says nothing about the candidate, so the sample is re-run."""
        return not self.z.alive()

    def stderr_tail(self, n: int = 2000) -> str:
        return ""  # candidate output is discarded in pooled mode

    def close(self) -> None:
        """End the sample without waiting: the zygote cleans up while the judge moves on, and the
        next session skips this sample's remaining lines up to its acknowledgement."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.z.write(b"end\n"):
                self.z.pending_done += 1
            else:
                self.z.kill()
        finally:
            self.z.lock.release()

    def __enter__(self) -> "PooledSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
