"""The RAFT loop, written once for every task kind.

for each cycle: generate `samples_per_prompt` completions per prompt -> verify each ->
select per prompt -> fine-tune the live model on the kept ones -> next cycle. The model
(or its LoRA adapter) stays in memory across cycles; disk copies are for resume and export.
The loop never looks at the modality: the task kind renders prompts, the verifier scores.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from halo_forge import distributed as dist
from halo_forge.config.schema import RaftConfig
from halo_forge.data.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic
from halo_forge.data.registry import load_source_tasks
from halo_forge.records import record_summary
from halo_forge.errors import ResumeError
from halo_forge.train.artifacts import RunDir
from halo_forge.train.examples import Example
from halo_forge.train import pool
from halo_forge.train.heldout import HeldoutEval, check_probe, probe_pool
from halo_forge.train.schedule import cycle_learning_rate
from halo_forge.train.selection import select_samples
from halo_forge.train.validation import best_cycle, carve_validation

log = logging.getLogger(__name__)


def _load_policy(cfg: RaftConfig, run: RunDir, start: int, adapter: Any):
    """The model to continue from: the base (+ fresh adapter) or the last completed cycle's weights."""
    import torch

    from halo_forge.train.trainer import attach_lora

    prev = run.cycle(start - 1) / "model" if start > 1 else None
    if prev is not None and not prev.exists():
        raise ResumeError(f"cannot resume: {prev} is missing")
    if prev is not None and not cfg.lora.enabled:
        return adapter.load(str(prev), cfg.device, cfg.dtype)
    # An adapter directory as the start model (e.g. SFT's LoRA output) must load trainable when
    # RAFT trains LoRA: attach_lora keeps an existing adapter, so a frozen one left nothing to train.
    model, tok = adapter.load(cfg.model, cfg.device, cfg.dtype, trainable_adapter=cfg.lora.enabled)
    if not cfg.lora.enabled:
        return model, tok
    if prev is not None:
        from peft import PeftModel

        return PeftModel.from_pretrained(model, str(prev), is_trainable=True), tok
    torch.manual_seed(cfg.seed)
    return attach_lora(model, cfg.lora, adapter.lora_task_type), tok


def _save_model(model: Any, tok: Any, target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


class _TensorBoard:
    def __init__(self, logdir: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.w = SummaryWriter(str(logdir))
        except Exception:  # tensorboard missing: metrics are still in training_summary.json
            self.w = None

    def cycle(self, n: int, metrics: dict[str, Any]) -> None:
        if self.w is None:
            return
        for k in ("pass_rate", "mean_reward", "kept", "learning_rate", "train_loss", "gen_tokens_per_s"):
            if isinstance(metrics.get(k), (int, float)):
                self.w.add_scalar(f"raft/{k}", metrics[k], n)
        self.w.flush()


def _summary(cfg: RaftConfig, cycles: list, status: str | None, model: Any, engine: str, isolation: str, verifier: Any,
             tasks: list, started: float) -> dict[str, Any]:
    from halo_forge import provenance

    out: dict[str, Any] = {"cycles": cycles}
    if status:
        out["status"] = status
    out["config"] = cfg.model_dump(mode="json")
    out["provenance"] = provenance.collect(model=model, engine=engine, isolation=isolation, verifier=verifier,
                                          dataset=cfg.dataset or cfg.prompts, split=cfg.split, tasks=tasks,
                                          seed=cfg.seed, config=out["config"], started=started)
    return out


@dataclass
class _Session:
    """What one RAFT run holds across its cycles (set up once, before the first cycle)."""
    cfg: RaftConfig
    kind: Any
    tasks: list
    verifier: Any
    isolation: str
    run: RunDir
    started: float
    cycles: list = field(default_factory=list)
    model: Any = None
    tok: Any = None
    engine: Any = None
    requests: list = field(default_factory=list)
    batcher: Any = None
    world: dist.World = dist.SINGLE
    heldout: Any = None  # HeldoutEval when the config has an eval: section
    validation: Any = None  # HeldoutEval that picks final_model: a slice of the pool or a `validation:` benchmark
    extra: dict = field(default_factory=dict)  # probe and start-model results for the summary
    kept_history: list = field(default_factory=list)  # kept samples of earlier cycles (replay)

    @property
    def summary_path(self) -> Path:
        return self.run.root / "training_summary.json"

    def write_summary(self, status: str | None) -> None:
        out = _summary(self.cfg, self.cycles, status, self.model, self.engine.name, self.isolation, self.verifier,
                       self.tasks, self.started)
        write_json_atomic(self.summary_path, {**self.extra, **out})


def _open_run(cfg: RaftConfig) -> tuple[RunDir, int]:
    """Lock the output dir, check it belongs to this config, apply --resume-from-cycle; the first
    cycle still to run."""
    run = RunDir(cfg.output_dir)
    run.root.mkdir(parents=True, exist_ok=True)
    run.lock()
    run.check_config(cfg)
    if cfg.resume_from_cycle:
        if cfg.resume_from_cycle - 1 > run.latest_completed():
            raise ResumeError(f"--resume-from-cycle {cfg.resume_from_cycle}: cycle {cfg.resume_from_cycle - 1} "
                              f"is not complete in {run.root} (latest: {run.latest_completed()})")
        run.discard_from(cfg.resume_from_cycle)
    return run, run.latest_completed() + 1


def _generate_and_verify(s: _Session, tasks: list, requests: list, cdir: Path, params: Any, meta: dict[str, Any],
                         stop_event: threading.Event | None) -> tuple[list[dict], Any] | None:
    """This rank's share of the rollout, then every rank's records on every rank (sorted, so the
    selection is the same everywhere); rank 0 writes the merged samples.jsonl. None when interrupted."""
    from halo_forge.rollout import gather_rollout, rollout

    w = s.world
    out = cdir / f"rank{w.rank}-of-{w.size}" if w.distributed else cdir
    records, stats = rollout(tasks, requests, s.engine, params, s.cfg.generation.batch_size, s.verifier, out,
                             meta, stop_event, s.cfg.verifier.workers, world=w)
    records, stats = gather_rollout(records, stats, w, f"{cdir.name}'s")
    if stats.interrupted:
        return None
    if w.distributed and w.is_main:
        write_jsonl_atomic(cdir / "samples.jsonl", records)
    return records, stats


def _cycle_rollout(s: _Session, cycle: int, params: Any, meta: dict[str, Any],
                   stop_event: threading.Event | None) -> tuple[list[dict], Any, int] | None:
    """The cycle's slice of the pool (`prompts_per_cycle`), then, with `unsolved_extra`, a second
    round for the prompts none of whose samples passed (kept in cycle_N/extra/). None when interrupted."""
    cfg, cdir = s.cfg, s.run.cycle(cycle)
    idx = pool.cycle_indices(len(s.tasks), cycle, cfg.prompts_per_cycle, cfg.seed)
    tasks, requests = [s.tasks[i] for i in idx], [s.requests[i] for i in idx]
    rolled = _generate_and_verify(s, tasks, requests, cdir, params, meta, stop_event)
    if rolled is None or not cfg.unsolved_extra:
        return None if rolled is None else (*rolled, len(tasks))
    records, stats = rolled
    unsolved = pool.unsolved_task_ids(records)
    pick = [i for i, t in enumerate(tasks) if t.id in unsolved]
    if not pick:
        return records, stats, len(tasks)
    extra_params = cfg.generation.sampling(cfg.unsolved_extra, params.seed + pool.EXTRA_ROUND_SEED_OFFSET)
    log.info("cycle %d: %d of %d prompts had no passing sample; %d more samples each", cycle, len(pick), len(tasks),
             cfg.unsolved_extra)
    extra = _generate_and_verify(s, [tasks[i] for i in pick], [requests[i] for i in pick], cdir / "extra",
                                 extra_params, {**meta, "round": 2, "sampling": extra_params.to_dict()}, stop_event)
    if extra is None:
        return None
    from halo_forge.rollout import RolloutStats

    both = RolloutStats.combined([stats, extra[1]], side_by_side=False)
    return records + pool.renumber_extra(extra[0], cfg.samples_per_prompt), both, len(tasks)


def _run_cycle(s: _Session, cycle: int, stop_event: threading.Event | None,
               after_cycle: Callable[[int, Any, Any], dict[str, Any]] | None) -> dict[str, Any] | None:
    """Generate → verify → select → train → save for one cycle; None when interrupted. Every rank
    runs it; only rank 0 writes (state, selection, weights)."""
    from halo_forge.generation.base import generation_dtype_name, release_engine_memory
    from halo_forge.provenance import verifier_version
    from halo_forge.rollout import fail_if_all_errors
    from halo_forge.train.trainer import train_on_examples

    cfg, cdir, seed, main = s.cfg, s.run.cycle(cycle), s.cfg.seed * 1000 + cycle, s.world.is_main
    params = cfg.generation.sampling(cfg.samples_per_prompt, seed)
    meta = {"cycle": cycle, "model": f"{cfg.model}@cycle{cycle - 1}", "engine": s.engine.name,
            "generation_dtype": generation_dtype_name(s.engine),
            "sampling": params.to_dict(), "verifier": s.verifier.name,
            "verifier_version": verifier_version(s.verifier, s.tasks)}
    if main:
        s.run.write_state(cycle, {"cycle": cycle, "phase": "generate"})
    rolled = _cycle_rollout(s, cycle, params, meta, stop_event)
    if rolled is None:
        return None
    records, rstats, n_prompts = rolled
    fail_if_all_errors(records)
    kept, sel = select_samples(records, cfg.selection)
    lr = cycle_learning_rate(cfg.training.learning_rate, cycle, cfg.lr_decay, cfg.min_lr)
    if main:
        write_jsonl_atomic(cdir / "selected.jsonl", kept)
        s.run.write_state(cycle, {"cycle": cycle, "phase": "train", "kept": len(kept)})
    by_id = {t.id: t for t in s.tasks}
    replay = [k for earlier in s.kept_history for k in earlier if k["task_id"] in by_id]
    if cfg.selection.replay_cycles:
        s.kept_history = (s.kept_history + [kept])[-cfg.selection.replay_cycles:]
    examples = [Example(s.kind.build_messages(by_id[k["task_id"]]), k["completion"], media=by_id[k["task_id"]].media)
                for k in kept + replay]
    release_engine_memory(s.engine)  # the KV cache and captured graphs are not needed while training
    t0 = time.monotonic()
    outcome = train_on_examples(s.model, s.batcher, examples, cfg.training, lr, str(cdir / "trainer"), seed, stop_event,
                                world=s.world)
    train_time = time.monotonic() - t0
    if outcome.interrupted:
        return None
    if main:
        _save_model(s.model, s.tok, cdir / "model")
        shutil.rmtree(cdir / "trainer", ignore_errors=True)
    metrics = {
        "cycle": cycle, "prompts": n_prompts, **record_summary(records), "kept": len(kept), "selection": sel,
        "isolation": s.isolation,
        "learning_rate": lr, "train_steps": outcome.steps, "train_loss": outcome.loss,
        "timing": {"generate_s": round(rstats.generation_time, 2), "verify_s": round(rstats.verification_time, 2),
                   "verify_tail_s": round(rstats.verify_tail_time, 2), "train_s": round(train_time, 2)},
        "tokens_generated": rstats.tokens_generated, "gen_tokens_per_s": round(rstats.tokens_per_second, 1),
        "train_tokens_per_s": round(outcome.tokens / train_time, 1) if train_time > 0 else None,
        "processes": s.world.size,
    }
    if replay:
        metrics["replayed"] = len(replay)
    return _score_cycle(s, cycle, cdir, metrics, after_cycle)


def _score_cycle(s: _Session, cycle: int, cdir: Path, metrics: dict[str, Any],
                 after_cycle: Callable[[int, Any, Any], dict[str, Any]] | None) -> dict[str, Any]:
    """The trained model on the held-out split and the validation slice (each when configured)."""
    for ev in (s.heldout, s.validation):
        if ev is not None:
            metrics[ev.name] = ev.run(s, f"cycle_{cycle}", cdir)
    if after_cycle is not None and s.world.is_main:
        metrics["heldout"] = after_cycle(cycle, s.model, s.tok)
    return metrics


def _publish_final_model(run: RunDir, cycle: int | None = None) -> None:
    """final_model = that cycle's weights (default: the last completed), copied under a temp name, then renamed."""
    last = run.cycle(cycle or run.latest_completed()) / "model"
    final = run.root / "final_model"
    tmp = final.with_name("final_model.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(last, tmp)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


def run_raft(cfg: RaftConfig, stop_event: threading.Event | None = None,
             report: Callable[[dict[str, Any]], None] | None = None,
             after_cycle: Callable[[int, Any, Any], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run (or resume) the configured cycles. `after_cycle(n, model, tok)` may evaluate the live
    model (e.g. on a held-out split); its result is stored in the cycle's metrics."""
    import torch

    from halo_forge.generation.base import check_engine_available
    from halo_forge.tasks import get_task_kind, resolve_verifier
    from halo_forge.verify.sandbox.guard import require_isolation

    w = dist.init_world(cfg.device)
    kind = get_task_kind(cfg.task)
    tasks, held_back = carve_validation(load_source_tasks(cfg.dataset, cfg.prompts, cfg.split, cfg.limit),
                                        cfg.validation_prompts)
    every_task = tasks + held_back  # the validation slice is scored by the same verifier, in the same sandbox
    verifier = resolve_verifier(kind, cfg.verifier, every_task)  # its preflight runs before any model is loaded
    isolation = require_isolation(verifier, every_task, cfg.sandbox.allow_weak)  # before anything is written
    heldout = HeldoutEval(cfg, kind) if cfg.eval else None  # its verifier's preflight too
    chooser = HeldoutEval(cfg, kind, name="validation", spec=cfg.validation) if cfg.validation else None
    check_engine_available(cfg.generation.engine)
    started = time.time()
    run, start = _open_run(cfg) if w.is_main else (RunDir(cfg.output_dir), 0)
    start = dist.broadcast(start, w, "agreeing on the cycle to start from")
    s = _Session(cfg, kind, tasks, verifier, isolation, run, started, world=w)
    if w.is_main:
        s.cycles = [st["metrics"] for st in (run.state(c) for c in range(1, start)) if st.get("metrics")]
    if start > cfg.cycles:
        log.info("all %d cycles already complete in %s", cfg.cycles, run.root)
        return {"cycles": s.cycles, "status": "complete", "output_dir": str(run.root)}
    torch.manual_seed(cfg.seed)
    adapter = kind.model_adapter
    # Other ranks start from the base and take rank 0's (possibly resumed) weights: their hosts
    # need not share rank 0's disk.
    s.model, s.tok = _load_policy(cfg, run, start if w.is_main else 1, adapter)
    dist.sync_parameters(s.model, w)
    s.engine = adapter.engine(cfg.generation.engine, s.model, s.tok, cfg.generation.dtype)
    s.heldout = heldout
    s.validation = HeldoutEval(cfg, kind, held_back, verifier, "validation") if held_back else chooser
    _before_cycles(s, start)
    s.requests, s.batcher = kind.requests(s.tok, s.tasks), adapter.batcher(s.tok)
    status = _run_cycles(s, start, stop_event, report, after_cycle)
    return {"cycles": s.cycles, "status": status, "output_dir": str(run.root), **s.extra}


def _before_cycles(s: _Session, start: int) -> None:
    """A fresh run probes the pool (and may drop what the start model already solves) and scores the
    start model on the held-out split; a resumed one reloads both from rank 0's disk."""
    root, w = s.run.root, s.world
    if start == 1:
        solved: set[str] = set()
        if s.cfg.probe.prompts:
            s.extra["probe"], solved = probe_pool(s)
            check_probe(s.extra["probe"], s.cfg.probe.strict)
        for ev in (s.heldout, s.validation):
            if ev:
                s.extra[f"{ev.name}_start"] = ev.run(s, "start", root / f"{ev.name}_start")
        if w.is_main:
            write_json_atomic(root / "pool.json", {"dropped_solved": sorted(solved) if s.cfg.probe.drop_solved else [],
                                                   **s.extra})
    pool = json.loads((root / "pool.json").read_text()) if w.is_main and (root / "pool.json").exists() else {}
    pool = dist.broadcast(pool, w, "sharing the pool's pre-flight results")
    s.extra = {k: v for k, v in pool.items() if k in ("probe", "heldout_start", "validation_start")}
    if pool.get("dropped_solved"):
        dropped = set(pool["dropped_solved"])
        s.tasks = [t for t in s.tasks if t.id not in dropped]
        log.info("curriculum: %d prompts the start model always solved are left out of the pool", len(dropped))
    for ev in (s.heldout, s.validation):
        if ev and start > 1:
            ev.load_start(root / f"{ev.name}_start" / f"{ev.name}.samples.jsonl", w)
    k = s.cfg.selection.replay_cycles
    if k and start > 1:
        hist = [read_jsonl(s.run.cycle(c) / "selected.jsonl") if w.is_main else []
                for c in range(max(1, start - k), start)]
        s.kept_history = dist.broadcast(hist, w, "sharing earlier cycles' kept samples")


def _run_cycles(s: _Session, start: int, stop_event: threading.Event | None,
                report: Callable[[dict[str, Any]], None] | None,
                after_cycle: Callable[[int, Any, Any], dict[str, Any]] | None) -> str:
    """The cycles from `start`; rank 0 records each completed one (state, summary, TensorBoard)."""
    main, run = s.world.is_main, s.run
    tb = _TensorBoard(run.root / "tensorboard") if main else None
    status = "complete"
    for cycle in range(start, s.cfg.cycles + 1):
        metrics = _run_cycle(s, cycle, stop_event, after_cycle)
        if metrics is None:
            status = "interrupted"
            break
        s.cycles.append(metrics)
        if main:
            run.write_state(cycle, {"cycle": cycle, "phase": "done", "metrics": metrics})
            run.mark_completed(cycle)
            s.write_summary(None)
            tb.cycle(cycle, metrics)
            if report:
                report(metrics)
    if main:
        if status == "complete":
            picked = best_cycle(s.cycles)  # None without a validation slice: the last cycle
            if picked:
                s.extra["selected_cycle"] = picked
            _publish_final_model(run, picked)
        s.write_summary(status)
    dist.barrier(s.world, "finishing the run")
    return status
