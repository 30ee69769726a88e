"""The distillation loop: teacher answers -> the task's verifier -> SFT rows of the passing ones.

Resumable: each finished task appends its kept rows, then one line to OUTPUT.progress.jsonl; a
re-run skips tasks listed there (also those with nothing kept) and first drops rows of any task
whose progress line is missing (a run killed between the two writes), so nothing is doubled.
Rate-limited (requests started per second, and concurrent requests); a task whose request
still fails after the backend's retries is reported and left for the next run.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halo_forge.data.task import Task
from halo_forge.data.teacher.backends import TeacherError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    backend: str
    model: str
    n: int = 4
    temperature: float = 0.7
    max_tokens: int = 512
    seed: int = 0
    concurrency: int = 4
    requests_per_s: float = 0.0  # 0 = unlimited


class RateLimiter:
    """Spaces request starts at least 1/rate apart across threads (a leaky bucket of one)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.lock = threading.Lock()
        self.next = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next)
            self.next = start + self.interval
        time.sleep(max(0.0, start - now))


def progress_path(output: Path) -> Path:
    return output.with_name(output.name + ".progress.jsonl")


def _done(output: Path) -> set[str]:
    """Task ids finished by earlier runs; rows of unfinished tasks are dropped from the output."""
    from halo_forge.data.jsonl import read_jsonl, write_jsonl_atomic

    from halo_forge.errors import DataError

    prog = progress_path(output)
    if output.exists() and not prog.exists():
        raise DataError(f"{output} exists and is not from an earlier `data generate --backend` run (no {prog.name});"
                        " choose another --output")
    done = {r["task_id"] for r in read_jsonl(prog)} if prog.exists() else set()
    if output.exists():
        rows = read_jsonl(output)
        kept = [r for r in rows if r.get("meta", {}).get("task_id") in done]
        if len(kept) != len(rows):
            log.warning("%s: dropping %d rows of tasks an earlier run did not finish", output, len(rows) - len(kept))
            write_jsonl_atomic(output, kept)
    return done


def _append(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        f.flush()
        os.fsync(f.fileno())


def _one(task: Task, messages: list[dict[str, Any]], backend: Any, verifier: Any, s: Settings,
         limiter: RateLimiter) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    limiter.wait()
    reply = backend.ask(messages, s.n, s.temperature, s.max_tokens, s.seed)
    rows, errors = [], 0
    for i, text in enumerate(reply.texts):
        verdict = verifier.verify(task, text)
        if verdict.is_error:
            errors += 1
        if not verdict.passed:
            continue
        rows.append({"messages": [*messages, {"role": "assistant", "content": text}],
                     "meta": {"task_id": task.id, "sample_index": i, "backend": s.backend, "teacher_model": s.model,
                              "temperature": s.temperature, "verifier": verifier.name, "reward": verdict.reward,
                              "stage": verdict.stage}})
    stats = {"task_id": task.id, "asked": len(reply.texts), "kept": len(rows), "could_not_verify": errors,
             "tokens_in": reply.tokens_in, "tokens_out": reply.tokens_out}
    return rows, stats


def distill(tasks: list[Task], kind: Any, verifier: Any, backend: Any, s: Settings, output: Path) -> dict[str, Any]:
    done = _done(output)
    todo = [t for t in tasks if t.id not in done]
    limiter = RateLimiter(s.requests_per_s)
    totals = {"asked": 0, "kept": 0, "could_not_verify": 0, "tokens_in": 0, "tokens_out": 0}
    failed: list[str] = []
    started = time.monotonic()
    with ThreadPoolExecutor(max(1, s.concurrency)) as pool:
        futures = {pool.submit(_one, t, kind.build_messages(t), backend, verifier, s, limiter): t for t in todo}
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                rows, stats = fut.result()
            except TeacherError as exc:
                failed.append(task.id)
                log.warning("task %s: %s", task.id, exc)
                continue
            _append(output, rows)
            _append(progress_path(output), [stats])
            for k in totals:
                totals[k] += stats[k]
    return {"backend": s.backend, "teacher_model": s.model, "temperature": s.temperature, "samples_per_task": s.n,
            "verifier": verifier.name, "tasks": len(tasks), "skipped_done": len(done & {t.id for t in tasks}),
            "answered": len(todo) - len(failed), "failed_tasks": failed, **totals,
            "pass_rate": round(totals["kept"] / totals["asked"], 4) if totals["asked"] else None,
            "wall_s": round(time.monotonic() - started, 2), "output": str(output)}
