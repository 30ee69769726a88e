"""Generate -> verify -> sample records: the step RAFT cycles and benchmarks share.

Every generation is kept. Raw completions stream to `generations.jsonl` batch by batch;
a verification thread scores each finished batch while the next one generates (so the
accelerator does not wait on compilers) and appends full records to `samples.jsonl`.
On restart, complete batches are skipped, a batch cut by a crash is regenerated (batches
are seeded by number, so the result is the same), and unverified samples are re-verified.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from halo_forge.data.jsonl import JsonlAppender, read_jsonl, write_jsonl_atomic
from halo_forge.data.task import Task
from halo_forge.generation.base import Completion, GenerationRequest, SamplingParams, plan_batches
from halo_forge.generation.cpu_threads import size_cpu_threads_for
from halo_forge.progress import phase_progress
from halo_forge.verify.base import Verifier, VerifyResult

log = logging.getLogger(__name__)


@dataclass
class RolloutStats:
    generation_time: float = 0.0
    verification_time: float = 0.0
    tokens_generated: int = 0
    samples: int = 0
    resumed_batches: int = 0
    interrupted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_generated / self.generation_time if self.generation_time > 0 else 0.0


def sample_record(task: Task, comp: Completion | dict, verdict: VerifyResult, meta: dict[str, Any]) -> dict[str, Any]:
    c = comp if isinstance(comp, dict) else {"completion": comp.text, "finish_reason": comp.finish_reason,
                                             "tokens": len(comp.token_ids), "prompt_tokens": comp.prompt_tokens}
    return {
        "task_id": task.id,
        "sample_index": c.get("sample_index", getattr(comp, "index", 0)),
        "completion": c["completion"],
        "finish_reason": c.get("finish_reason"),
        "tokens": c.get("tokens"),
        "prompt_tokens": c.get("prompt_tokens"),
        "reward": verdict.reward,
        "passed": verdict.passed,
        "stage": verdict.stage,
        "error": verdict.error,
        "details": verdict.details,
        **meta,
        "task": task.to_dict(),
    }


def _load_generated(path: Path, batch_sizes: dict[int, int]) -> dict[int, list[dict]]:
    """Complete batches from a previous run; incomplete ones are dropped from the file."""
    if not path.exists():
        return {}
    rows = read_jsonl(path, tolerate_torn_tail=True)
    by_batch: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_batch[r["batch"]].append(r)
    complete = {b: rs for b, rs in by_batch.items() if len(rs) == batch_sizes.get(b, -1)}
    if len(complete) != len(by_batch) or len(rows) != sum(len(v) for v in complete.values()):
        write_jsonl_atomic(path, [r for b in sorted(complete) for r in complete[b]])
    return complete


def rollout(tasks: list[Task], requests: list[GenerationRequest], engine: Any, params: SamplingParams, batch_size: int,
            verifier: Verifier, out_dir: Path, meta: dict[str, Any], stop_event: threading.Event | None = None,
            workers: int | None = None, progress: Any = None) -> tuple[list[dict[str, Any]], RolloutStats]:
    out_dir.mkdir(parents=True, exist_ok=True)
    gen_path, samples_path = out_dir / "generations.jsonl", out_dir / "samples.jsonl"
    by_id = {t.id: t for t in tasks}
    batches = plan_batches(requests, params.n, batch_size)
    stats = RolloutStats()
    previous = _load_generated(gen_path, {b.number: len(b.items) for b in batches})
    stats.resumed_batches = len(previous)
    verified: dict[tuple[str, int], dict] = {}
    if samples_path.exists():
        for r in read_jsonl(samples_path, tolerate_torn_tail=True):
            verified[(r["task_id"], r["sample_index"])] = r

    if progress is None:
        progress = phase_progress(("generate", "verify"), len(tasks) * params.n,
                                  initial={"generate": sum(len(v) for v in previous.values())})
    work: queue.Queue = queue.Queue()
    records: list[dict[str, Any]] = list(verified.values())
    sample_log = JsonlAppender(samples_path)

    def verify_worker() -> None:
        while True:
            rows = work.get()
            if rows is None:
                return
            todo = [r for r in rows if (r["task_id"], r["sample_index"]) not in verified]
            if todo:
                t0 = time.monotonic()
                verdicts = verifier.verify_batch([(by_id[r["task_id"]], r["completion"]) for r in todo], workers)
                stats.verification_time += time.monotonic() - t0
                for r, v in zip(todo, verdicts):
                    rec = sample_record(by_id[r["task_id"]], r, v, meta)
                    sample_log.write(rec)
                    records.append(rec)
            progress("verify", len(rows))

    thread = threading.Thread(target=verify_worker, name="verify", daemon=True)
    thread.start()
    for b in sorted(previous):
        work.put(previous[b])
        stats.tokens_generated += sum(r.get("tokens") or 0 for r in previous[b])

    with JsonlAppender(gen_path) as gen_log:
        def on_batch(number: int, comps: list[Completion]) -> None:
            rows = [{"batch": number, "task_id": c.request_id, "sample_index": c.index, "completion": c.text,
                     "finish_reason": c.finish_reason, "tokens": len(c.token_ids), "prompt_tokens": c.prompt_tokens}
                    for c in comps]
            for r in rows:
                gen_log.write(r)
            stats.tokens_generated += sum(r["tokens"] for r in rows)
            work.put(rows)
            progress("generate", len(rows))

        size_cpu_threads_for(getattr(getattr(engine, "model", None), "device", None))
        t0 = time.monotonic()
        engine.generate(requests, params, batch_size, on_batch=on_batch, skip_batches=set(previous),
                        stop_event=stop_event)
        stats.generation_time = time.monotonic() - t0
    work.put(None)
    thread.join()
    sample_log.close()
    if hasattr(progress, "close"):
        progress.close()
    stats.interrupted = bool(stop_event is not None and stop_event.is_set())
    expected = {(t.id, i) for t in tasks for i in range(params.n)}
    records = [r for r in records if (r["task_id"], r["sample_index"]) in expected]
    records.sort(key=lambda r: (r["task_id"], r["sample_index"]))
    stats.samples = len(records)
    if not stats.interrupted and len(records) != len(expected):
        stats.interrupted = True  # something was not generated; never report a partial set as complete
    return records, stats


def fail_if_all_errors(records: list[dict[str, Any]]) -> None:
    """A run in which no sample could be verified measured nothing: fail it, naming the first
    error (a missing toolchain, tests missing from the rows, an unknown verifier type...)."""
    if records and all(r.get("error") for r in records):
        from halo_forge.errors import HaloForgeError

        raise HaloForgeError(f"none of the {len(records)} samples could be verified; first error: "
                             f"{records[0]['error']} (task {records[0]['task_id']})")
