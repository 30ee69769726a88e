"""Held-out evaluation inside a RAFT run (`eval:`), and the pre-flight probe (`probe:`).

Both score the live model with the benchmark's own `evaluate_tasks` (same rollout, verifier and
summary as `benchmark run`), so a number seen during training is the number a benchmark gives.
The held-out result after each cycle is paired against the start model's on the same tasks
(bootstrap CI, sign-flip p, and McNemar when greedy), which is what tells a gain from noise.
"""

from __future__ import annotations

import logging
import random
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from halo_forge.config.schema import GenerationConfig, RaftConfig
from halo_forge.data.jsonl import write_json_atomic, write_jsonl_atomic
from halo_forge.distributed import SINGLE, World
from halo_forge.errors import HaloForgeError

log = logging.getLogger(__name__)


def task_counts(records: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """task id -> (samples, passed)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in records:
        c = counts[str(r["task_id"])]
        c[0] += 1
        c[1] += bool(r["passed"])
    return {k: (n, p) for k, (n, p) in counts.items()}


def _evaluate(s: Any, tasks: list, verifier: Any, params: Any, out: Path, label: str) -> tuple[dict, list[dict]]:
    from halo_forge.bench.runner import evaluate_tasks
    from halo_forge.provenance import verifier_version

    cfg, work = s.cfg, out / f".work-{label}-rank{s.world.rank}"
    shutil.rmtree(work, ignore_errors=True)  # a scratch rollout: never resumed from (the model may differ)
    meta = {"model": f"{cfg.model}:{label}", "verifier": verifier.name,
            "verifier_version": verifier_version(verifier, tasks)}  # in every sample row
    try:
        return evaluate_tasks(s.model, s.tok, tasks, s.kind, verifier, params, cfg.generation.batch_size, work, meta,
                              engine=s.engine, ks=[1], workers=cfg.verifier.workers, world=s.world)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class HeldoutEval:
    """Loads the held-out tasks and their verifier once (preflight before any model load): the `eval:`
    section's split, or `spec` (the `validation:` benchmark). With `tasks` it scores those instead (the
    validation slice carved from the train pool, with the run's verifier), greedy, writing
    `<name>.json` + `<name>.samples.jsonl`."""

    def __init__(self, cfg: RaftConfig, kind: Any, tasks: list | None = None, verifier: Any = None,
                 name: str = "heldout", spec: Any = None):
        from halo_forge.data.registry import load_source_tasks
        from halo_forge.tasks import resolve_verifier

        e = spec or cfg.eval
        if tasks is None:  # the eval: section's split, sampled as it says
            tasks = load_source_tasks(e.dataset, e.prompts, e.split, e.limit)
            verifier = resolve_verifier(kind, e.verifier, tasks)
            temperature, samples, self.source = e.temperature, e.samples, (e.dataset or e.prompts, e.split)
        else:  # a slice of the run's own pool: greedy pass@1
            temperature, samples, self.source = 0.0, 1, (cfg.dataset or cfg.prompts, cfg.split)
        self.tasks, self.verifier, self.name = tasks, verifier, name
        gen = GenerationConfig(**{**cfg.generation.model_dump(), "temperature": temperature})
        self.params = gen.sampling(samples, cfg.seed)
        self.start: dict[str, tuple[int, int]] | None = None

    def run(self, s: Any, label: str, out: Path) -> dict[str, Any]:
        """Score the live model; rank 0 writes <name>.json + <name>.samples.jsonl into `out`."""
        from halo_forge.bench.paired import Run, compare_pair

        result, records = _evaluate(s, self.tasks, self.verifier, self.params, out, label)
        counts = task_counts(records)
        keep = ("problems", "samples_per_problem", "pass_rate", "pass_at_k", "pass_at_1_ci95", "mean_reward",
                "compile_rate", "errors")
        summary: dict[str, Any] = {"label": label, **{k: result.get(k) for k in keep}}
        if label == "start":
            self.start = counts
        elif self.start is not None:
            ids = sorted(set(self.start) & set(counts))
            pair = compare_pair(Run("start", "", {}, self.start), Run(label, "", {}, counts), ids, [1])
            summary["vs_start"] = {**pair["metrics"].get("pass@1", {}), **({"mcnemar": pair["mcnemar"]}
                                                                        if "mcnemar" in pair else {})}
        if s.world.is_main:
            out.mkdir(parents=True, exist_ok=True)
            write_jsonl_atomic(out / f"{self.name}.samples.jsonl", records)
            # what `benchmark compare` checks before pairing two results: the rows' own verifier fields
            who = {"verifier": records[0]["verifier"], "verifier_version": records[0]["verifier_version"]} \
                if records else {}
            prov = {**self._provenance(s), **who, "model": f"{s.cfg.model}:{label}"}
            write_json_atomic(out / f"{self.name}.json", {**result, **summary,
                                                          "samples_file": f"{self.name}.samples.jsonl", "provenance": prov})
        return summary

    def _provenance(self, s: Any) -> dict[str, Any]:
        """The same provenance a `benchmark run` result carries, so `benchmark compare` can check
        that a held-out curve and a separately benchmarked control scored the same data."""
        from halo_forge import provenance

        dataset, split = self.source
        return provenance.collect(model=s.model, engine=s.engine.name, isolation=s.isolation, verifier=self.verifier,
                                 dataset=dataset, split=split, tasks=self.tasks, seed=s.cfg.seed,
                                 config=s.cfg.model_dump(mode="json"), started=s.started)

    def load_start(self, path: Path, world: World = SINGLE) -> None:
        """A resumed run pairs against the start model's result on rank 0's disk."""
        from halo_forge.data.jsonl import read_jsonl
        from halo_forge.distributed import broadcast

        counts = task_counts(read_jsonl(path)) if world.is_main and path.exists() else None
        self.start = broadcast(counts, world, "sharing the start model's held-out result")


def probe_pool(s: Any) -> tuple[dict[str, Any], set[str]]:
    """pass@N of the start model on a sample of the pool: the share of prompts that are all wrong,
    all right, or mixed (the only ones RAFT learns from). Returns the report and the ids of probed
    prompts every sample solved."""
    cfg, p = s.cfg, s.cfg.probe
    rng = random.Random(cfg.seed)
    sample = sorted(rng.sample(range(len(s.tasks)), min(p.prompts, len(s.tasks))))
    tasks = [s.tasks[i] for i in sample]
    params = cfg.generation.sampling(cfg.samples_per_prompt, cfg.seed * 1000)
    _, records = _evaluate(s, tasks, s.verifier, params, s.run.root / "probe", "probe")
    counts = task_counts(records)
    wrong = sum(1 for n, c in counts.values() if c == 0)
    right = {t for t, (n, c) in counts.items() if c == n}
    mixed = len(counts) - wrong - len(right)
    total = max(1, len(counts))
    report = {"prompts": len(counts), "samples_per_prompt": cfg.samples_per_prompt, "all_wrong": wrong,
              "all_right": len(right), "mixed": mixed, "mixed_share": mixed / total,
              "pass_rate": sum(c for _, c in counts.values()) / max(1, sum(n for n, _ in counts.values()))}
    report["advice"] = _advice(report, p.min_mixed)
    if s.world.is_main:
        write_jsonl_atomic(s.run.root / "probe" / "samples.jsonl", records)
        write_json_atomic(s.run.root / "probe" / "probe.json", report)
    return report, right


def _advice(r: dict[str, Any], min_mixed: float) -> str | None:
    if r["mixed_share"] >= min_mixed:
        return None
    if r["all_wrong"] >= r["all_right"]:
        # SmolLM2-135M after GSM8K SFT sat here (81-91% all wrong): RAFT gained +0.7 points over its control, which
        # 1,319 test questions cannot resolve (docs/results.md) - hence "a stronger model" beside the sampling levers
        return ("the start model solves almost none of these prompts: start from an SFT model if this one is not "
                "(sft train on the pool's reference answers), raise samples_per_prompt / unsolved_extra / "
                "temperature, pick easier prompts, or a stronger model")
    return ("the start model already solves almost all of these prompts: pick harder prompts, or lower "
            "samples_per_prompt; RAFT would mostly re-train what the model does")


def check_probe(report: dict[str, Any], strict: bool) -> None:
    line = (f"pre-flight probe: {report['prompts']} prompts x {report['samples_per_prompt']} samples: "
            f"{report['all_wrong']} all wrong, {report['all_right']} all right, {report['mixed']} mixed "
            f"({report['mixed_share']:.0%} carry learning signal)")
    if report["advice"] is None:
        log.info(line)
        return
    if strict:
        raise HaloForgeError(f"{line}; {report['advice']} (probe.strict is set: nothing was trained)")
    log.warning("%s; %s", line, report["advice"])
