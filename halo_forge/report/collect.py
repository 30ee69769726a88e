"""Read what runs wrote (a RAFT run folder, benchmark result JSONs and their sample files) into
one plain view model the page renders. Nothing here recomputes a verdict: the report shows what
the verifier said, and intervals are bootstraps over tasks (samples of one task are not
independent draws)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from halo_forge.errors import DataError

# Embedding every sample of a 100k-sample run would make a 200 MB page; past this budget whole
# tasks are embedded (all their samples in every cycle, so "the same task across cycles" stays
# complete) until the budget is spent, and the page says how many were left out.
MAX_EMBEDDED_SAMPLES = 6000
MAX_TEXT_CHARS = 4000


@dataclass
class Section:
    """One cycle of a RAFT run, or one benchmark result."""

    label: str
    metrics: dict[str, Any]
    per_task: dict[str, list[float]] = field(default_factory=dict)  # task id -> rewards (None = error)
    per_task_passed: dict[str, list[bool]] = field(default_factory=dict)


@dataclass
class ReportData:
    kind: str  # "raft" | "benchmark" | "comparison"
    title: str
    header: dict[str, Any]
    sections: list[Section]
    samples: list[dict[str, Any]]
    prompts: dict[str, str]
    total_samples: int
    comparison: dict[str, Any] | None = None
    sources: list[str] = field(default_factory=list)


def _clip(text: Any, limit: int = MAX_TEXT_CHARS) -> str:
    s = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False, default=str)
    return s if len(s) <= limit else s[:limit] + f"\n… [{len(s) - limit} more characters in the samples file]"


def _compact(rec: dict[str, Any], group: str, kept: set[tuple[str, int]]) -> dict[str, Any]:
    key = (str(rec.get("task_id")), int(rec.get("sample_index", 0)))
    return {"g": group, "t": key[0], "i": key[1], "r": rec.get("reward"), "p": bool(rec.get("passed")),
            "s": rec.get("stage") or "", "e": rec.get("error") or "", "k": key in kept,
            "x": _clip(rec.get("completion", "")),
            "d": _clip(json.dumps(rec.get("details") or {}, indent=2, ensure_ascii=False, default=str), 2000)}


def _prompt_of(rec: dict[str, Any]) -> str:
    task = rec.get("task") or {}
    return _clip(task.get("prompt") or task.get("messages") or "", 3000)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    from halo_forge.data.jsonl import iter_jsonl

    return [row for _, row in iter_jsonl(path, tolerate_torn_tail=True) if isinstance(row, dict)]


def _section(label: str, metrics: dict[str, Any], rows: list[dict[str, Any]]) -> Section:
    sec = Section(label, metrics)
    for r in rows:
        tid = str(r.get("task_id"))
        sec.per_task.setdefault(tid, []).append(r.get("reward"))
        sec.per_task_passed.setdefault(tid, []).append(bool(r.get("passed")))
    return sec


def _choose_tasks(all_rows: list[tuple[str, dict[str, Any]]], budget: int) -> set[str] | None:
    """None = embed everything; else the task ids whose samples fit the budget, in a stable
    hash order (not the first tasks of the file, which are often the easiest)."""
    if len(all_rows) <= budget:
        return None
    per_task: dict[str, int] = defaultdict(int)
    for _, r in all_rows:
        per_task[str(r.get("task_id"))] += 1
    chosen, used = set(), 0
    for tid in sorted(per_task, key=lambda t: hashlib.sha256(t.encode()).hexdigest()):
        if used + per_task[tid] > budget:
            continue
        chosen.add(tid)
        used += per_task[tid]
    return chosen


def natural_key(task_id: str) -> list:
    """gsm8k/test/2 before gsm8k/test/10."""
    import re

    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", task_id)]


def _embed(all_rows: list[tuple[str, dict[str, Any]]], kept: dict[str, set], budget: int):
    chosen = _choose_tasks(all_rows, budget)
    order = {g: n for n, g in enumerate(dict.fromkeys(g for g, _ in all_rows))}
    all_rows = sorted(all_rows, key=lambda gr: (order[gr[0]], natural_key(str(gr[1].get("task_id"))),
                                                int(gr[1].get("sample_index", 0))))
    samples, prompts = [], {}
    for group, r in all_rows:
        tid = str(r.get("task_id"))
        if chosen is not None and tid not in chosen:
            continue
        samples.append(_compact(r, group, kept.get(group, set())))
        if tid not in prompts:
            prompts[tid] = _prompt_of(r)
    return samples, prompts


def load_raft_run(root: Path, budget: int = MAX_EMBEDDED_SAMPLES) -> ReportData:
    summary_path = root / "training_summary.json"
    if not summary_path.is_file():
        raise DataError(f"{root}: not a RAFT run folder (no training_summary.json)")
    summary = json.loads(summary_path.read_text())
    sections, all_rows, kept = [], [], {}
    for m in summary.get("cycles", []):
        cdir = root / f"cycle_{m['cycle']}"
        rows = _read_rows(cdir / "samples.jsonl") if (cdir / "samples.jsonl").is_file() else []
        sel = _read_rows(cdir / "selected.jsonl") if (cdir / "selected.jsonl").is_file() else []
        label = f"cycle {m['cycle']}"
        kept[label] = {(str(r.get("task_id")), int(r.get("sample_index", 0))) for r in sel}
        sections.append(_section(label, m, rows))
        all_rows += [(label, r) for r in rows]
    samples, prompts = _embed(all_rows, kept, budget)
    cfg = summary.get("config") or {}
    header = {"status": summary.get("status", "?"), "model": cfg.get("model"), "task": cfg.get("task"),
              "dataset": cfg.get("dataset") or cfg.get("prompts"), "split": cfg.get("split"),
              "provenance": summary.get("provenance") or {}}
    return ReportData("raft", f"RAFT run — {root.name}", header, sections, samples, prompts, len(all_rows),
                      sources=[str(root)])


def _compare(runs: list, ks: list[int]) -> dict[str, Any]:
    """The paired comparison `benchmark compare` prints; what that command refuses (different
    verifiers) is shown here with a warning at the top of the table instead."""
    from halo_forge.bench import paired

    try:
        paired.check_verifiers(runs, allow=False)
        warning = None
    except DataError as exc:
        warning = f"warning: {exc}"
    comp = paired.compare_runs(runs, ks, allow_different_tasks=True, allow_different_verifiers=True)
    comp["warnings"] = ([warning] if warning else []) + comp.get("warnings", [])
    return comp


def load_benchmarks(paths: list[Path], budget: int = MAX_EMBEDDED_SAMPLES) -> ReportData:
    from halo_forge.bench import paired

    runs = [paired.load_run(str(p)) for p in paths]
    sections, all_rows = [], []
    for run in runs:
        rows = _read_rows(paired._samples_file(Path(run.path), run.result))
        sections.append(_section(run.name, run.result, rows))
        all_rows += [(run.name, r) for r in rows]
    samples, prompts = _embed(all_rows, {}, budget)
    first = runs[0].result
    cfg = first.get("config") or {}
    header = {"model": cfg.get("model"), "task": cfg.get("task"), "dataset": cfg.get("dataset") or cfg.get("prompts"),
              "split": cfg.get("split"), "provenance": first.get("provenance") or {},
              "hardware": first.get("hardware")}
    comparison = None
    if len(runs) > 1:
        ks = sorted({int(k) for r in runs for k in r.result.get("pass_at_k", {})})
        comparison = _compare(runs, ks or [1])
    kind = "comparison" if comparison else "benchmark"
    title = f"benchmark — {runs[0].name}" if not comparison else "comparison — " + " vs ".join(r.name for r in runs)
    return ReportData(kind, title, header, sections, samples, prompts, len(all_rows), comparison,
                      sources=[str(p) for p in paths])


def load_inputs(paths: list[str], budget: int = MAX_EMBEDDED_SAMPLES) -> ReportData:
    """A RAFT run folder alone, or one or more benchmark result JSONs."""
    ps = [Path(p) for p in paths]
    missing = [str(p) for p in ps if not p.exists()]
    if missing:
        raise DataError(f"report: not found: {', '.join(missing)}")
    dirs = [p for p in ps if p.is_dir()]
    if dirs:
        if len(ps) > 1:
            raise DataError("report: give one RAFT run folder, or benchmark result JSON files (not both)")
        return load_raft_run(dirs[0], budget)
    return load_benchmarks(ps, budget)
