"""The trusted side of Python test verification.

The candidate program runs inside the sandbox behind `harness_py`; the test code (trusted,
from the dataset) runs here, in the judge, with the candidate's functions replaced by
proxies that forward each call's *inputs* into the sandbox and get back plain values. So:
- expected answers never exist inside the sandbox (they are only in the judge's test code),
- `sys.exit(0)`/`os._exit(0)`/atexit tricks only end the sandboxed process: the judge sees
  a dead candidate, not a pass,
- rigged `__eq__`, patched builtins or frame-walking act on the candidate's own process; the
  comparison happens here on freshly decoded builtin values.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import shutil
from collections import deque
from pathlib import Path

from halo_forge.verify.code import harness_py
from halo_forge.verify.sandbox import Sandbox, SandboxLimits, SandboxSession
from halo_forge.verify.sandbox.runner import SandboxUnavailable

log = logging.getLogger(__name__)
HARNESS_SOURCE = Path(harness_py.__file__).read_text(encoding="utf-8")


def sandbox_python() -> str | None:
    """The interpreter for candidates: a system Python under /usr (visible in the sandbox)."""
    for cand in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(cand):
            return cand
    return shutil.which("python3")


class CandidateDied(BaseException):
    """The candidate process ended, timed out or sent garbage before answering.

    A BaseException so that test code's own `except Exception:` cannot swallow it; the judge
    also remembers the death and fails the sample whatever the test code did next."""


class WorkerDied(BaseException):
    """The warm sandbox worker (not the candidate) is gone: re-run the sample, never score it."""


class CandidateError(Exception):
    """The candidate raised an exception the judge does not re-raise as itself: a non-builtin type,
    or a control-flow exception (StopIteration & co.) that would end the test's own iteration
    (`all(map(f, xs))` of a StopIteration-raising f is `all([])`, i.e. True)."""


# Exceptions that steer control flow in the caller instead of failing it: never re-raised as themselves.
_CONTROL_FLOW = (StopIteration, StopAsyncIteration, GeneratorExit, SystemExit, KeyboardInterrupt)
_SAFE_EXC = {n: getattr(builtins, n) for n in dir(builtins)
             if isinstance(getattr(builtins, n), type) and issubclass(getattr(builtins, n), Exception)
             and not issubclass(getattr(builtins, n), _CONTROL_FLOW)}


class RemoteFunction:
    def __init__(self, judge: "CandidateProcess", name: str):
        self._judge = judge
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        if kwargs:
            raise CandidateError("keyword arguments are not supported by the judge protocol")
        return self._judge.call(self.__name__, args)


class CandidateProcess:
    """One sandboxed candidate program, loaded once, called many times."""

    def __init__(self, program: str, limits: SandboxLimits, slot: int = 0, pooled: bool = True):
        from halo_forge.verify.sandbox.pool import PooledSession, pool_available

        self.python = sandbox_python()
        if not self.python:
            raise RuntimeError("no python3 under /usr for the sandbox")
        self.session: SandboxSession | PooledSession | None = None
        self.died: str | None = None  # why the candidate died, once it has
        if pooled and pool_available():
            try:
                self.session = PooledSession(slot, limits, self.python, HARNESS_SOURCE, program, limits.wall_seconds)
            except SandboxUnavailable:
                raise
            except RuntimeError as exc:
                log.warning("warm sandbox pool unavailable (%s); using one sandbox per sample", exc)
        if self.session is None:
            self.session = Sandbox(limits, slot).session(
                [self.python, "-I", "-S", "-B", "harness.py"],
                files={"harness.py": HARNESS_SOURCE, "candidate.py": program},
            )
        self.load_error: str | None = None
        self.calls = 0
        self.predicted_calls = 0  # calls answered from a batch sent ahead
        self.predicted: deque[bytes] = deque()  # requests sent ahead whose answers are still unread
        first = self._read()
        pooled_session = isinstance(self.session, PooledSession)
        if pooled_session and (self.session.worker_died or (first or {}).get("infra_error")):
            self.close()
            raise WorkerDied("warm sandbox worker failed before the candidate ran")
        if first is None:
            self.load_error = "candidate exited or timed out while loading"
        elif "load_error" in first:
            self.load_error = str(first["load_error"])
        elif first != {"ready": True}:
            self.load_error = "unexpected output from the candidate process"

    def _check_worker(self) -> None:
        if getattr(self.session, "worker_died", False):
            raise WorkerDied("warm sandbox worker died during the sample")

    def _read(self) -> dict | None:
        line = self.session.recv()
        if line is None:
            return None
        try:
            msg = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return None
        return msg if isinstance(msg, dict) else None

    def prefetch(self, calls) -> None:
        """Send calls the test code is known to make (see prefetch.py) in one batch; their
        answers are read one by one as the test code makes those calls."""
        if self.load_error or not calls:
            return
        requests = [[name, [harness_py.encode(a) for a in args]] for name, args in calls]
        if self.session.send(json.dumps({"batch": requests}).encode()):
            self.predicted.extend(json.dumps(r).encode() for r in requests)

    def _drain_predicted(self) -> None:
        """The test code left the predicted path: read the answers still in flight, then go live."""
        while self.predicted:
            self.predicted.popleft()
            msg = self._read()
            if msg is None or "ok" not in msg:
                self.predicted.clear()  # the batch stopped there (exception, death or timeout)

    def call(self, name: str, args: tuple):
        if self.load_error:
            raise CandidateDied(self.load_error)
        if self.died:
            raise CandidateDied(self.died)
        self.calls += 1
        request = [name, [harness_py.encode(a) for a in args]]
        if self.predicted and self.predicted[0] == json.dumps(request).encode():
            self.predicted.popleft()
            self.predicted_calls += 1
        else:
            self._drain_predicted()
            if not self.session.send(json.dumps({"fn": request[0], "args": request[1]}).encode()):
                self._check_worker()
                self.died = "candidate process is gone"
                raise CandidateDied(self.died)
        msg = self._read()
        if msg is None:
            self._check_worker()
            self.died = "timeout" if self.session.timed_out else "candidate process died"
            raise CandidateDied(self.died)
        if "ok" not in msg:
            self.predicted.clear()  # the harness ends a batch at its first exception
        return self._result(msg)

    @staticmethod
    def _result(msg: dict):
        if "ok" in msg:
            try:
                return harness_py.decode(msg["ok"])
            except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError) as exc:
                raise CandidateDied(f"malformed result: {exc}") from None
        exc_name = str(msg.get("exc", "Exception"))
        text = str(msg.get("msg", ""))[:300]
        exc_type = _SAFE_EXC.get(exc_name)
        if exc_type is None:
            raise CandidateError(f"{exc_name}: {text}")
        try:
            raise exc_type(text)
        except TypeError:  # exception types with other constructors (UnicodeError subclasses...)
            raise CandidateError(f"{exc_name}: {text}") from None

    @property
    def timed_out(self) -> bool:
        return self.session.timed_out

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "CandidateProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
