"""`asr`: reward = max(0, 1 - WER) with standard text normalisation (jiwer).

Success (`passed`) when WER is at most `max_wer` (default 0.1). The reference transcript
travels in the task row (`verifier.reference`).
"""

from __future__ import annotations

import re

from halo_forge.data.task import Task
from halo_forge.verify.base import Verifier, VerifyResult
from halo_forge.verify.registry import register_verifier


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^\w\s']", " ", text)
    return " ".join(text.split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    import jiwer

    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp if hyp else ""))


@register_verifier
class ASRChecker(Verifier):
    name = "asr"
    default_workers = 1

    def preflight(self, tasks: list[Task]) -> None:
        from halo_forge.errors import VerifierUnavailable

        try:
            import jiwer  # noqa: F401
        except ImportError:
            raise VerifierUnavailable("the asr verifier needs jiwer: pip install 'halo-forge[audio]'") from None

    def gold(self, task: Task) -> str | None:
        return task.verifier.get("reference")

    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        try:
            import jiwer  # noqa: F401
        except ImportError:
            return VerifyResult.failure("the asr verifier needs jiwer: pip install 'halo-forge[audio]'")
        wer = word_error_rate(str(task.verifier["reference"]), completion)
        reward = max(0.0, 1.0 - wer)
        return VerifyResult(reward, wer <= float(self.options.get("max_wer", 0.1)), "answer", {"wer": wer, "metrics": {"wer": wer}})
