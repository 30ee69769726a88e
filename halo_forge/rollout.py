"""Generate -> verify -> sample records: the step RAFT cycles and benchmarks share.

Every generation is kept. Raw completions stream to `generations.jsonl` batch by batch;
verification slots score each finished batch's samples while the next batch generates (so the
accelerator does not wait on compilers) and append full records to `samples.jsonl`.
On restart, complete batches are skipped, a batch cut by a crash is regenerated (batches
are seeded by number, so the result is the same), and unverified samples are re-verified.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from halo_forge.data.jsonl import JsonlAppender, read_jsonl, write_jsonl_atomic
from halo_forge.data.task import Task
from halo_forge.distributed import SINGLE, World
from halo_forge.generation.base import Completion, Engine, GenerationRequest, SamplingParams, plan_batches
from halo_forge.generation.cpu_threads import size_cpu_threads_for
from halo_forge.progress import phase_progress
from halo_forge.verify.base import Verifier, VerifyResult

log = logging.getLogger(__name__)


@dataclass
class RolloutStats:
    generation_time: float = 0.0
    verification_time: float = 0.0  # verifier busy time (overlaps generation)
    verify_tail_time: float = 0.0  # end of generation -> last verdict: what verification adds to a cycle
    tokens_generated: int = 0
    samples: int = 0
    resumed_batches: int = 0
    interrupted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_generated / self.generation_time if self.generation_time > 0 else 0.0

    @classmethod
    def combined(cls, parts: list["RolloutStats"], side_by_side: bool) -> "RolloutStats":
        """Stats of several rollouts: ranks that ran side by side take the slowest rank's generation
        and tail time; rounds that ran one after another add them up. Counts always add up."""
        span = max if side_by_side else sum
        return cls(generation_time=span(p.generation_time for p in parts),
                   verification_time=sum(p.verification_time for p in parts),
                   verify_tail_time=span(p.verify_tail_time for p in parts),
                   tokens_generated=sum(p.tokens_generated for p in parts), samples=sum(p.samples for p in parts),
                   resumed_batches=sum(p.resumed_batches for p in parts),
                   interrupted=any(p.interrupted for p in parts))


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


class _VerifyThread:
    """Verifies generated rows while the engine is still generating, appending each sample record to
    samples.jsonl; rows verified by an earlier, interrupted run are taken from that file instead.

    Samples stream through verification slots that live for the whole rollout, so a batch's slowest
    sample (a program that runs to its wall limit) holds one slot, not the batches behind it. Why:
    with one `verify_batch` call per generated batch, every call waited for its slowest sample;
    Qwen2.5-Coder on MBPP had a 10 s timeout in most batches and a cycle's verify tail of 19-49 s
    behind 10-22 s of generation. With several judging processes (`verifier.processes`) each batch is
    cut into chunks queued on them at once (verify/processes.py), and verdicts are kept as chunks end."""

    def __init__(self, by_id: dict[str, Task], verifier: Verifier, meta: dict[str, Any], samples_path: Path,
                 workers: int | None, stats: RolloutStats, progress: Any):
        self.by_id, self.verifier, self.meta = by_id, verifier, meta
        self.stats, self.progress = stats, progress
        done = read_jsonl(samples_path, tolerate_torn_tail=True) if samples_path.exists() else []
        self.verified = {(r["task_id"], r["sample_index"]): r for r in done}
        self.records: list[dict[str, Any]] = list(self.verified.values())
        self.log = JsonlAppender(samples_path)
        self.lock = threading.Lock()  # the log, the records, the progress bar and the busy clock
        self.in_flight, self.busy_since = 0, 0.0
        self.futures: list[Future] = []
        self.workers = verifier.slots(workers)
        self.judges, self.pool, self.thread = None, None, None
        if getattr(verifier, "processes", 1) > 1:
            self.judges = verifier._process_judges()
            self.ended: queue.Queue = queue.Queue()  # chunks whose judging process finished them
            self.thread = threading.Thread(target=self._collect, name="verify", daemon=True)
            self.thread.start()
        else:
            slots, self.local = itertools.count(), threading.local()
            self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="verify",
                                           initializer=lambda: setattr(self.local, "slot", next(slots)))

    def put(self, rows: list[dict[str, Any]]) -> None:
        todo = [r for r in rows if (r["task_id"], r["sample_index"]) not in self.verified]
        with self.lock:
            self.progress("verify", len(rows) - len(todo))
        if self.pool is not None and self.workers == 1:  # one slot: nothing to overtake; a task per batch is cheaper
            self.futures.append(self.pool.submit(lambda rows: [self._verify_one(r) for r in rows], todo))
        elif self.pool is not None:
            self.futures += [self.pool.submit(self._verify_one, r) for r in todo]
        elif todo:
            chunks = self.judges.submit([(self.by_id[r["task_id"]], r["completion"]) for r in todo],
                                        self.verifier.slots(self.workers, len(todo)))
            start = 0
            for chunk in chunks:
                share, start = todo[start:start + len(chunk.items)], start + len(chunk.items)
                with self.lock:
                    self._busy(+1)
                chunk.future.add_done_callback(lambda _f, c=chunk, r=share: self.ended.put((c, r)))
                self.futures.append(chunk.future)

    def _busy(self, delta: int) -> None:
        """Verifier busy time = the time at least one sample was being verified (under self.lock)."""
        now = time.monotonic()
        if self.in_flight == 0:
            self.busy_since = now
        self.in_flight += delta
        if self.in_flight == 0:
            self.stats.verification_time += now - self.busy_since

    def _keep(self, rows: list[dict[str, Any]], verdicts: list[VerifyResult]) -> None:
        """Records in the order verdicts arrive (under self.lock); the rollout sorts them at the end."""
        for r, v in zip(rows, verdicts):
            rec = sample_record(self.by_id[r["task_id"]], r, v, self.meta)
            self.log.write(rec)
            self.records.append(rec)
        self.progress("verify", len(rows))

    def _verify_one(self, row: dict[str, Any]) -> None:
        with self.lock:
            self._busy(+1)
        verdict = None
        try:
            verdict = self.verifier.verify(self.by_id[row["task_id"]], row["completion"], self.local.slot)
        finally:
            with self.lock:
                self._busy(-1)
                if verdict is not None:
                    self._keep([row], [verdict])

    def _collect(self) -> None:
        """Keeps each chunk's verdicts as its judging process ends it; after finish() said "no more",
        runs until every submitted chunk is in (a future's callback may run after waiters wake)."""
        kept, expected = 0, None
        while expected is None or kept < expected:
            ended = self.ended.get()
            if ended is None:
                expected = len(self.futures)
                continue
            chunk, rows = ended
            verdicts = self.judges.result(chunk)
            with self.lock:
                self._busy(-1)
                self._keep(rows, verdicts)
            kept += 1

    def finish(self) -> list[dict[str, Any]]:
        if self.thread is not None:
            self.ended.put(None)  # generation has ended: nothing more is put
            self.thread.join()
        else:
            self.pool.shutdown(wait=True)
            for f in self.futures:
                f.result()  # a failure outside the verifier (writing a record) is not swallowed
        self.log.close()
        return self.records


def rollout(tasks: list[Task], requests: list[GenerationRequest], engine: Engine, params: SamplingParams, batch_size: int,
            verifier: Verifier, out_dir: Path, meta: dict[str, Any], stop_event: threading.Event | None = None,
            workers: int | None = None, progress: Any = None,
            world: World = SINGLE) -> tuple[list[dict[str, Any]], RolloutStats]:
    """Generate params.n samples per request and verify them as they come; every generation goes
    to generations.jsonl and every verdict to samples.jsonl, so an interrupted run resumes.
    Under torch.distributed a rank generates only the batches it owns (global numbers, so the
    same seeds as one process) and returns only their records; the caller gathers them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    gen_path = out_dir / "generations.jsonl"
    batches = [b for b in plan_batches(requests, params.n, batch_size) if world.owns_batch(b.number)]
    stats = RolloutStats()
    previous = _load_generated(gen_path, {b.number: len(b.items) for b in batches})
    stats.resumed_batches = len(previous)
    if progress is None:
        progress = phase_progress(("generate", "verify"), sum(len(b.items) for b in batches),
                                  initial={"generate": sum(len(v) for v in previous.values())},
                                  enabled=world.is_main)  # one bar per run, not one per process
    verifying = _VerifyThread({t.id: t for t in tasks}, verifier, meta, out_dir / "samples.jsonl", workers, stats,
                              progress)
    for b in sorted(previous):
        verifying.put(previous[b])
        stats.tokens_generated += sum(r.get("tokens") or 0 for r in previous[b])

    with JsonlAppender(gen_path) as gen_log:
        def on_batch(number: int, comps: list[Completion]) -> None:
            rows = [{"batch": number, "task_id": c.request_id, "sample_index": c.index, "completion": c.text,
                     "finish_reason": c.finish_reason, "tokens": len(c.token_ids), "prompt_tokens": c.prompt_tokens}
                    for c in comps]
            for r in rows:
                gen_log.write(r)
            stats.tokens_generated += sum(r["tokens"] for r in rows)
            verifying.put(rows)
            progress("generate", len(rows))

        size_cpu_threads_for(getattr(getattr(engine, "model", None), "device", None))
        t0 = time.monotonic()
        engine.run([b for b in batches if b.number not in previous], params, on_batch=on_batch, stop_event=stop_event)
        stats.generation_time = time.monotonic() - t0
    t_gen_end = time.monotonic()
    records = verifying.finish()
    stats.verify_tail_time = time.monotonic() - t_gen_end
    if hasattr(progress, "close"):
        progress.close()
    stats.interrupted = bool(stop_event is not None and stop_event.is_set())
    expected = {(it.request.id, it.index) for b in batches for it in b.items}
    records = sorted((r for r in records if (r["task_id"], r["sample_index"]) in expected), key=sample_order)
    stats.samples = len(records)
    if not stats.interrupted and len(records) != len(expected):
        stats.interrupted = True  # something was not generated; never report a partial set as complete
    return records, stats


def sample_order(record: dict[str, Any]) -> tuple[str, int]:
    """The one order of sample records (task, then sample index), whichever process made them."""
    return record["task_id"], record["sample_index"]


def gather_rollout(records: list[dict[str, Any]], stats: RolloutStats, world: World,
                   what: str) -> tuple[list[dict[str, Any]], RolloutStats]:
    """Every rank's records (sorted as one process sorts them) and combined stats, on every rank.
    Generation ran side by side: its time is the slowest rank's, verifier busy time adds up."""
    if not world.distributed:
        return records, stats
    from halo_forge.distributed import gather_lists

    parts: list[RolloutStats] = gather_lists([stats], world, f"gathering {what} stats")
    merged = RolloutStats.combined(parts, side_by_side=True)
    if merged.interrupted:
        return [], merged
    gathered = gather_lists(records, world, f"gathering {what} samples")
    return sorted(gathered, key=sample_order), merged


def fail_if_all_errors(records: list[dict[str, Any]]) -> None:
    """A run in which no sample could be verified measured nothing: fail it, naming the first
    error (a missing toolchain, tests missing from the rows, an unknown verifier type...)."""
    if records and all(r.get("error") for r in records):
        from halo_forge.errors import HaloForgeError

        raise HaloForgeError(f"none of the {len(records)} samples could be verified; first error: "
                             f"{records[0]['error']} (task {records[0]['task_id']})")
