"""`benchmark run/eval/full` and `data generate`: N samples per task -> sandbox -> honest metrics.

Result format (R.json): total, passed, pass_rate, compile_rate (null when the tasks are
not compiled code), pass_at_k {k: value for k <= N}, by_category, timing, errors, config,
plus every sample with its verdict in R.samples.jsonl beside it.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from halo_forge import provenance
from halo_forge.bench.pass_at_k import bootstrap_ci, mean_pass_at_k
from halo_forge.config.schema import BenchmarkConfig
from halo_forge.data.jsonl import write_json_atomic, write_jsonl_atomic
from halo_forge.data.task import Task
from halo_forge.records import metric_means, record_summary
from halo_forge.distributed import SINGLE, World, init_world
from halo_forge.rollout import fail_if_all_errors

log = logging.getLogger(__name__)

CODE_STAGES = {"compile", "run", "test", "timeout"}
SUITES = {  # held-out splits only
    "humaneval": ("humaneval", "test", "code"),
    "mbpp": ("mbpp", "test", "code"),
    "humaneval_cpp": ("humaneval_cpp", "test", "code"),
    "mbpp_cpp": ("mbpp_cpp", "test", "code"),
    "gsm8k": ("gsm8k", "test", "reasoning"),
    "math500": ("math500", "test", "reasoning"),
    "bfcl": ("bfcl", "test", "agentic"),
    "cpp_basics": ("cpp_basics", "test", "code"),
    "codeforces_cpp": ("codeforces_cpp", "test", "code"),
}


def summarize(records: list[dict[str, Any]], ks: list[int], n: int) -> dict[str, Any]:
    per_task: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        per_task[r["task_id"]].append(r)
    counts = [(len(v), sum(bool(x["passed"]) for x in v)) for v in per_task.values()]
    code = [r for r in records if r.get("stage") in CODE_STAGES]
    compiled = [r for r in code if r["stage"] != "compile" or (r.get("details") or {}).get("compiled")]
    compile_only = sum(bool((r.get("details") or {}).get("compile_only")) for r in records)
    cats: dict[str, dict[str, int]] = defaultdict(lambda: {"total": 0, "passed": 0})
    for r in records:
        c = cats[str(r["task"].get("meta", {}).get("category", "uncategorized"))]
        c["total"] += 1
        c["passed"] += bool(r["passed"])
    errors = [r for r in records if r.get("error")]
    common = record_summary(records)
    per_problem_p1 = [c / m for m, c in counts]
    lo, hi = bootstrap_ci(per_problem_p1)
    return {
        "problems": len(per_task),
        "samples_per_problem": n,
        "total": len(records),
        "passed": common["passed"],
        "pass_rate": common["pass_rate"],
        "compile_rate": (len(compiled) / len(code)) if code and len(code) == len(records) - len(errors) else None,
        "pass_at_k": mean_pass_at_k(counts, ks),
        "pass_at_1_ci95": [lo, hi],
        "mean_reward": common["mean_reward"],
        "reward_histogram": common["reward_histogram"],
        **metric_means(records),
        "by_category": dict(cats),
        **({"compile_only_samples": compile_only,
            "note": f"{compile_only} of {len(records)} samples are on tasks without tests: only their compile rate "
                    f"is measured; they never count as passed"} if compile_only else {}),
        "errors": len(errors),
        "error_examples": [r["error"] for r in errors[:5]],
    }


def samples_path_for(result_path: Path, n_records: int) -> Path:
    """R.samples.jsonl beside R.json; gzip-compressed past 2,000 samples (they compress ~10x)."""
    return result_path.with_suffix(".samples.jsonl.gz" if n_records > 2000 else ".samples.jsonl")


def evaluate_tasks(model: Any, tok: Any, tasks: list[Task], kind: Any, verifier: Any, params: Any, batch_size: int,
                   work_dir: Path, meta: dict[str, Any], engine_name: str = "auto",
                   ks: list[int] = (1, 5, 10), workers: int | None = None,
                   world: World = SINGLE, engine: Any = None, dtype: str = "auto") -> tuple[dict, list[dict]]:
    """Generate params.n samples per task with the given (live) model, verify, summarize.
    `engine`: one already built on this model (a RAFT run's), else one from `engine_name`.
    Under torch.distributed each rank generates and verifies its share; all get every record."""
    from halo_forge.generation.base import generation_dtype_name
    from halo_forge.rollout import gather_rollout, rollout

    engine = engine or kind.model_adapter.engine(engine_name, model, tok, dtype)
    records, stats = rollout(tasks, kind.requests(tok, tasks), engine, params, batch_size, verifier, work_dir,
                             {**meta, "engine": engine.name, "sampling": params.to_dict()}, workers=workers, world=world)
    records, stats = gather_rollout(records, stats, world, "the benchmark's")
    result = summarize(records, list(ks), params.n)
    result["engine"] = engine.name
    result["generation_dtype"] = generation_dtype_name(engine)
    result["timing"] = {"generation_time": round(stats.generation_time, 3),
                        "verification_time": round(stats.verification_time, 3),
                        "tokens_generated": stats.tokens_generated,
                        "tokens_per_second": round(stats.tokens_per_second, 1)}
    return result, records


def run_benchmark(cfg: BenchmarkConfig, ks: list[int] | None = None) -> dict[str, Any]:
    from halo_forge.bench.hardware import HardwareMonitor
    from halo_forge.generation.base import check_engine_available
    from halo_forge.provenance import verifier_version
    from halo_forge.tasks import get_task_kind, resolve_verifier
    from halo_forge.data.registry import load_source_tasks
    from halo_forge.verify.sandbox.guard import require_isolation

    ks = [k for k in (ks or cfg.k)]
    too_big = [k for k in ks if k > cfg.samples]
    if too_big:
        log.warning("pass@%s needs at least that many samples; only %d per task: not reported", too_big, cfg.samples)
    w = init_world(cfg.device)
    kind = get_task_kind(cfg.task)
    tasks = load_source_tasks(cfg.dataset, cfg.prompts, cfg.split, cfg.limit)
    verifier = resolve_verifier(kind, cfg.verifier, tasks)
    isolation = require_isolation(verifier, tasks, cfg.sandbox.allow_weak)
    check_engine_available(cfg.generation.engine)
    out = Path(cfg.output)
    started = time.time()
    params = cfg.generation.sampling(cfg.samples, cfg.seed)
    import torch

    torch.manual_seed(cfg.seed)
    model, tok = kind.model_adapter.load(cfg.model, cfg.device, cfg.dtype)
    work = Path(tempfile.mkdtemp(prefix=".bench-", dir=out.parent if out.parent.exists() else None))
    start = time.monotonic()
    monitor = HardwareMonitor() if cfg.hardware_metrics else None
    try:
        if monitor:
            monitor.__enter__()
        result, records = evaluate_tasks(model, tok, tasks, kind, verifier, params, cfg.generation.batch_size, work,
                                         {"model": cfg.model, "verifier": verifier.name,
                                          "verifier_version": verifier_version(verifier, tasks)}, cfg.generation.engine, ks,
                                         cfg.verifier.workers if cfg.verifier else None, world=w,
                                         dtype=cfg.generation.dtype)
    finally:
        if monitor:
            monitor.__exit__(None, None, None)
    shutil.rmtree(work, ignore_errors=True)
    fail_if_all_errors(records)
    if not w.is_main:  # rank 0 alone writes the result
        return result
    result["timing"]["wall_time"] = round(time.monotonic() - start, 3)
    result["isolation"] = isolation
    result["processes"] = w.size
    if monitor:
        result["hardware"] = monitor.summary()
    result["config"] = {**cfg.model_dump(mode="json"), "verifier": verifier.name, "k": ks}
    result["provenance"] = provenance.collect(
        model=model, engine=result["engine"], isolation=isolation, verifier=verifier, dataset=cfg.dataset or cfg.prompts,
        split=cfg.split, tasks=tasks, seed=cfg.seed, config=result["config"], started=started)
    samples_path = samples_path_for(out, len(records))
    write_jsonl_atomic(samples_path, records)
    result["samples_file"] = str(samples_path)
    write_json_atomic(out, result)
    return result
