"""The rollout's verification streams: one slow sample (a program that runs to its wall limit) holds
one verification slot, not the batches generated after it."""

from __future__ import annotations

import threading
import time

from halo_forge.data.task import Task
from halo_forge.generation.base import Completion, GenerationRequest, PlannedEngine, SamplingParams
from halo_forge.rollout import rollout
from halo_forge.verify.base import Verifier, VerifyResult


class SlowFirstVerifier(Verifier):
    """'slow' takes a while; every verdict's finishing order is recorded."""

    name = "slow_first_test"

    def __init__(self, **options):
        super().__init__(**options)
        self.finished: list[str] = []
        self.lock = threading.Lock()

    def check(self, task, completion, slot=0):
        time.sleep(2.5 if completion == "slow" else 0.05)
        with self.lock:
            self.finished.append(completion)
        return VerifyResult(1.0, True, "ok", {"slot": slot})


class ListEngine(PlannedEngine):
    """Batch 0's first sample is 'slow'; the others are named after their batch."""

    name = "list_engine_test"

    def run(self, batches, params, on_batch=None, stop_event=None):
        out = []
        for b in batches:
            comps = [Completion(it.request.id, it.index, "slow" if (b.number, i) == (0, 0) else f"b{b.number}", [1],
                                "stop", 1) for i, it in enumerate(b.items)]
            out += comps
            on_batch(b.number, comps)
        return out


def _run(tmp_path, processes: int = 1):
    tasks = [Task(id=f"t{i}", prompt="p", verifier={"type": "slow_first_test"}) for i in range(6)]
    verifier = SlowFirstVerifier()
    verifier.processes = processes
    requests = [GenerationRequest(t.id, "p") for t in tasks]
    try:
        records, stats = rollout(tasks, requests, ListEngine(), SamplingParams(n=4), 4, verifier, tmp_path, {},
                                 workers=4, progress=lambda *a: None)
    finally:
        if verifier._judges is not None:
            verifier._judges.close()
    return records, stats, verifier.finished


def test_a_slow_sample_does_not_hold_the_batches_after_it(tmp_path):
    records, stats, finished = _run(tmp_path)
    assert len(records) == 24 and all(r["passed"] for r in records)
    assert "b5" in finished[:finished.index("slow")], "the last batch waited for batch 0's slow sample"
    assert {r["details"]["slot"] for r in records} <= {0, 1, 2, 3}
    assert 2.4 < stats.verification_time  # busy while the slow sample ran
    resumed, _, again = _run(tmp_path)  # a rerun takes every verdict from samples.jsonl
    assert len(resumed) == 24 and again == []


def test_with_judging_processes_a_slow_chunk_does_not_hold_the_others(tmp_path):
    """verifier.processes = 2 (real spawned processes): each batch is queued as chunks at once and kept
    as they end, so batch 0's slow sample holds its own process, not the batches after it."""
    import json

    records, _, _ = _run(tmp_path, processes=2)
    assert len(records) == 24 and all(r["passed"] for r in records)
    order = [json.loads(line)["completion"] for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert len(order) == 24 and order.index("b5") < order.index("slow"), order
