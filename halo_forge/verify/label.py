"""`label`: classification by generation — the output names exactly one class, the right one.

For labelled clips (speech commands) or any closed-set question. The expected `label` and
optional `choices` travel in the task row. With choices, an output that names several
classes is wrong even if one of them is right (no credit for listing everything).
"""

from __future__ import annotations

import re

from halo_forge.data.task import Task
from halo_forge.verify.base import Verifier, VerifyResult
from halo_forge.verify.registry import register_verifier


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


@register_verifier
class LabelVerifier(Verifier):
    name = "label"
    default_workers = 1

    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        label = str(task.verifier["label"]).lower()
        choices = [str(c).lower() for c in task.verifier.get("choices") or []]
        words = _words(completion)
        if choices:
            named = [c for c in choices if c in words]
            ok = named == [label]
        else:
            named = [w for w in words if w == label]
            ok = " ".join(words) == label
        return VerifyResult(1.0 if ok else 0.0, ok, "answer", {"named": named})
