"""The verifier contract: `verify(task, completion) -> VerifyResult`, plus a batch API.

"Could not verify" (sandbox failure, missing toolchain, verifier crash) is an *error*:
`reward` is None and `error` says why. It is counted separately and never becomes a 0
or free credit.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Iterable, Mapping

from halo_forge.data.task import Task
from halo_forge.verify.sandbox.runner import SandboxUnavailable


@dataclass
class VerifyResult:
    reward: float | None
    passed: bool
    stage: str  # extract | compile | run | test | answer | format | error
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def failure(cls, message: str, **details: Any) -> "VerifyResult":
        """The verification itself could not be carried out."""
        return cls(reward=None, passed=False, stage="error", details=details, error=message)

    @property
    def is_error(self) -> bool:
        return self.error is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "VerifyResult":
        return cls(**{k: d.get(k) for k in ("reward", "passed", "stage", "details", "error")})


@dataclass(frozen=True)
class RewardLadder:
    """The graduated reward for code (configurable through verifier option `ladder`)."""

    compile_error: float = 0.0
    compile_warnings: float = 0.3
    compile_clean: float = 0.5
    runs: float = 0.7
    correct: float = 1.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "RewardLadder":
        return cls(**dict(options.get("ladder") or {}))


def as_task(task: Task | Mapping[str, Any]) -> Task:
    return task if isinstance(task, Task) else Task.from_dict(dict(task))


class Verifier:
    """Base class. Subclasses set `name` and implement `check(task, completion)`.

    Options come from the config (`verifier.options`); per-task data from `task.verifier`.
    Any exception escaping `check` becomes an error result, never a reward.
    """

    name: ClassVar[str] = ""
    #: bumped whenever a verdict for the same (task, completion) could change; recorded in results
    version: ClassVar[str] = "1"
    #: Threads are enough when the work happens in sandboxed subprocesses.
    default_workers: ClassVar[int | None] = None
    #: Executes model output on this host (so needs the sandbox; see verify/sandbox/guard.py).
    runs_untrusted_code: ClassVar[bool] = False
    #: Judging processes (`verifier.processes`): > 1 splits each batch over that many processes, for
    #: verifiers whose judge-side CPU caps one process (sandboxed Python tests; see verify/processes.py).
    processes: int = 1
    _judges: Any = None

    def __init__(self, **options: Any):
        self.options = options

    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        raise NotImplementedError

    def preflight(self, tasks: list[Task]) -> None:
        """Raise VerifierUnavailable (one line) when this verifier cannot check these tasks on this
        machine — a missing toolchain or optional package. Called before any model is loaded, so the
        user learns it in a second, not once per sample after an hour of generation."""

    def gold(self, task: Task) -> str | None:
        """A completion this verifier must pass for `task`, built from the row's own reference
        data; None when the row has none (or when no answer can "pass", e.g. compile-only rows).
        `halo-forge test` and the test suite run every verifier on these, without special cases."""
        return task.reference

    def verify(self, task: Task | Mapping[str, Any], completion: str, slot: int = 0) -> VerifyResult:
        try:
            return self.check(as_task(task), completion, slot)
        except SandboxUnavailable as exc:
            return VerifyResult.failure(f"sandbox unavailable: {exc}")
        except Exception as exc:  # a verifier crash is an error, not a reward
            return VerifyResult.failure(f"verifier '{self.name}' crashed: {type(exc).__name__}: {exc}")

    def slots(self, workers: int | None = None, items: int | None = None) -> int:
        """How many samples are verified at once: `workers` if given, else the verifier's default,
        else every core; never more than there are items."""
        n = workers or self.default_workers or max(1, os.cpu_count() or 1)
        return n if items is None else max(1, min(n, items))

    def verify_batch(self, items: Iterable[tuple[Task | Mapping[str, Any], str]],
                     workers: int | None = None) -> list[VerifyResult]:
        """Verify many samples with a pool of sandbox slots sized to the cores."""
        items = list(items)
        n = self.slots(workers, len(items))
        if n == 1:
            return [self.verify(t, c, 0) for t, c in items]
        if self.processes > 1:
            return self._process_judges().verify_batch(items, n)
        slots = list(range(n))
        import threading

        lock = threading.Lock()
        local = threading.local()

        def run(item):
            if not hasattr(local, "slot"):
                with lock:
                    local.slot = slots.pop()
            return self.verify(item[0], item[1], local.slot)

        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(run, items))

    def _process_judges(self) -> Any:
        from halo_forge.verify.processes import ProcessJudges

        if self._judges is None or self._judges.processes != self.processes:
            if self._judges is not None:
                self._judges.close()
            self._judges = ProcessJudges(self, self.processes)
        return self._judges

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "options": self.options}
