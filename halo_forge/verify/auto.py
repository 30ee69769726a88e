"""`auto`: dispatch each task to the verifier its own row names (`verifier.type`).

A benchmark or RAFT run over a mixed task file needs no single --verifier; each
row already says how it is checked. Instances are created once per type and reused.
"""

from __future__ import annotations

import threading

from halo_forge.data.task import Task
from halo_forge.verify.base import Verifier, VerifyResult
from halo_forge.verify.registry import VERIFIERS, register_verifier


@register_verifier
class AutoVerifier(Verifier):
    name = "auto"

    def __init__(self, **options):
        super().__init__(**options)
        self._instances: dict[str, Verifier] = {}
        self._lock = threading.Lock()

    def _for(self, type_name: str) -> Verifier | None:
        with self._lock:
            if type_name not in self._instances:
                cls = VERIFIERS.get(type_name)
                if cls is None or cls is AutoVerifier:
                    return None
                self._instances[type_name] = cls(**self.options)
            return self._instances[type_name]

    def preflight(self, tasks: list[Task]) -> None:
        from halo_forge.errors import VerifierUnavailable

        by_type: dict[str, list[Task]] = {}
        for t in tasks:
            by_type.setdefault(str(t.verifier.get("type")), []).append(t)
        for type_name, group in sorted(by_type.items()):
            inner = self._for(type_name)
            if inner is None:
                raise VerifierUnavailable(f"task {group[0].id}: unknown verifier type '{type_name}' "
                                          f"(known: {', '.join(VERIFIERS.names())})")
            inner.preflight(group)

    def gold(self, task: Task) -> str | None:
        inner = self._for(str(task.verifier.get("type")))
        return inner.gold(task) if inner is not None else None

    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        inner = self._for(str(task.verifier.get("type")))
        if inner is None:
            return VerifyResult.failure(f"task {task.id}: unknown verifier type '{task.verifier.get('type')}'")
        return inner.check(task, completion, slot)
