"""Paired comparison of benchmark runs on the same tasks: Δ pass@k, a paired bootstrap interval,
an exact McNemar test for greedy runs and a sign-flip permutation test otherwise.

Two runs scored on the same tasks are paired data: the question is whether *the same task*
moved, not whether two marginal intervals overlap (overlap hides significant paired
differences). Hand-written because these are ~60 lines of numpy and no maintained library
does the per-task pass@k bootstrap; the tests check the p-values against scipy.stats.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from halo_forge.bench.pass_at_k import pass_at_k
from halo_forge.errors import DataError


@dataclass
class Run:
    name: str
    path: str
    result: dict[str, Any]
    counts: dict[str, tuple[int, int]]  # task id -> (samples, passed)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def verifier(self) -> tuple[str, str]:
        p = self.provenance
        name = p.get("verifier") or (self.result.get("config") or {}).get("verifier") or "?"
        return str(name), str(p.get("verifier_version", "1"))


def _samples_file(path: Path, result: dict[str, Any]) -> Path:
    cands = []
    if result.get("samples_file"):
        sf = Path(result["samples_file"])
        cands += [sf, path.parent / sf.name]
    stem = path.name[:-5] if path.name.endswith(".json") else path.stem
    cands += [path.parent / f"{stem}.samples.jsonl", path.parent / f"{stem}.samples.jsonl.gz"]
    for c in cands:
        if c.is_file():
            return c
    raise DataError(f"{path}: its samples file is missing (looked for {', '.join(str(c) for c in cands)}); "
                    f"a paired comparison needs the per-sample verdicts")


def load_run(path: str) -> Run:
    from halo_forge.data.jsonl import iter_jsonl

    p = Path(path)
    try:
        result = json.loads(p.read_text())
    except FileNotFoundError:
        raise DataError(f"result file not found: {p}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: not a JSON result file ({exc})") from None
    if not isinstance(result, dict) or "pass_at_k" not in result:
        raise DataError(f"{p}: not a halo-forge benchmark result (no 'pass_at_k')")
    sf = _samples_file(p, result)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line, row in iter_jsonl(sf):
        if not isinstance(row, dict) or "task_id" not in row or "passed" not in row:
            raise DataError(f"{sf}:{line}: sample rows need 'task_id' and 'passed'")
        c = counts[str(row["task_id"])]
        c[0] += 1
        c[1] += bool(row["passed"])
    stem = p.name[:-5] if p.name.endswith(".json") else p.stem
    name = result.get("label") or (f"{p.parent.name}/{stem}" if p.parent.name else stem)
    return Run(name, str(p), result, {k: (n, c) for k, (n, c) in counts.items()}, result.get("provenance") or {})


def mcnemar_exact(b01: int, b10: int) -> float:
    """Two-sided exact McNemar p-value: binomial test of the discordant pairs at 1/2."""
    n = b01 + b10
    if n == 0:
        return 1.0
    k = min(b01, b10)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def sign_flip_p(diffs: np.ndarray, iters: int = 20000, seed: int = 0) -> float:
    """Two-sided paired permutation test: flip each task's difference's sign at random."""
    if not np.any(diffs):
        return 1.0
    rng = np.random.default_rng(seed)
    observed = abs(diffs.mean())
    signs = rng.choice([-1.0, 1.0], size=(iters, len(diffs)))
    null = np.abs((signs * diffs).mean(axis=1))
    return float((np.sum(null >= observed - 1e-12) + 1) / (iters + 1))


def _per_task(counts: dict[str, tuple[int, int]], ids: list[str], k: int) -> np.ndarray:
    return np.array([pass_at_k(*counts[i], k) for i in ids])


def paired_delta(pa: np.ndarray, pb: np.ndarray, iters: int = 10000, seed: int = 0) -> dict[str, Any]:
    """Mean of per-task scores pb vs pa: Δ, a paired bootstrap 95% interval over tasks, a sign-flip p."""
    d = pb - pa
    boot = np.random.default_rng(seed).integers(0, len(d), size=(iters, len(d)))
    lo, hi = np.quantile(d[boot].mean(axis=1), [0.025, 0.975])
    return {"baseline": float(pa.mean()), "run": float(pb.mean()), "delta": float(d.mean()),
            "ci95": [float(lo), float(hi)], "p_permutation": sign_flip_p(d, seed=seed)}


def compare_pair(a: Run, b: Run, ids: list[str], ks: list[int], iters: int = 10000, seed: int = 0) -> dict[str, Any]:
    """b against a on the shared task ids."""
    out: dict[str, Any] = {"baseline": a.name, "run": b.name, "tasks": len(ids), "metrics": {}}
    n_min = min(min(a.counts[i][0], b.counts[i][0]) for i in ids)
    for k in ks:
        if k > n_min:
            continue
        out["metrics"][f"pass@{k}"] = paired_delta(_per_task(a.counts, ids, k), _per_task(b.counts, ids, k), iters, seed)
    greedy = all(a.counts[i][0] == 1 and b.counts[i][0] == 1 for i in ids)
    if greedy:
        b01 = sum(1 for i in ids if not a.counts[i][1] and b.counts[i][1])
        b10 = sum(1 for i in ids if a.counts[i][1] and not b.counts[i][1])
        out["mcnemar"] = {"gained": b01, "lost": b10, "p": mcnemar_exact(b01, b10)}
    return out


def shared_ids(runs: list[Run], allow_different_tasks: bool) -> tuple[list[str], str | None]:
    sets = [set(r.counts) for r in runs]
    common = set.intersection(*sets)
    if all(s == sets[0] for s in sets):
        return sorted(common), None
    diff = [f"{r.name} has {len(s - common)} task(s) the others lack" for r, s in zip(runs, sets) if s - common]
    if not allow_different_tasks:
        raise DataError("runs are on different task sets (" + "; ".join(diff) +
                        "); pass --allow-different-tasks to compare on their intersection")
    if not common:
        raise DataError("the runs share no task ids")
    return sorted(common), f"compared on the {len(common)} shared tasks: " + "; ".join(diff)


def check_verifiers(runs: list[Run], allow: bool) -> None:
    seen = {r.verifier for r in runs}
    if len(seen) > 1 and not allow:
        raise DataError("runs were scored by different verifiers/versions (" +
                        ", ".join(f"{r.name}: {r.verifier[0]} v{r.verifier[1]}" for r in runs) +
                        "); re-score one with `halo-forge verify`, or pass --allow-different-verifiers")


def provenance_warnings(runs: list[Run]) -> list[str]:
    from halo_forge.provenance import COMPARED_FIELDS

    out = []
    for f in COMPARED_FIELDS:
        vals = {str(r.provenance.get(f, "—")) for r in runs}
        if len(vals) > 1:
            out.append(f"warning: runs differ in {f}: " + ", ".join(f"{r.name}={r.provenance.get(f, '—')}" for r in runs))
    return out


def compare_runs(runs: list[Run], ks: list[int], allow_different_tasks: bool = False,
                 allow_different_verifiers: bool = False) -> dict[str, Any]:
    if len(runs) < 2:
        raise DataError("benchmark compare needs at least two result files")
    check_verifiers(runs, allow_different_verifiers)
    ids, note = shared_ids(runs, allow_different_tasks)
    return {"tasks": len(ids), "note": note, "warnings": provenance_warnings(runs),
            "pairs": [compare_pair(runs[0], r, ids, ks) for r in runs[1:]]}


def seed_summary(arms: dict[str, list[Run]], ks: list[int]) -> dict[str, Any]:
    """Mean ± sd of pass@k over the seeds of each arm (an arm = a directory of result files)."""
    out = {}
    for name, runs in arms.items():
        row = {"seeds": len(runs)}
        for k in ks:
            vals = [r.result["pass_at_k"].get(str(k)) for r in runs]
            if all(v is not None for v in vals):
                row[f"pass@{k}"] = {"mean": float(np.mean(vals)), "sd": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
                                    "values": vals}
        out[name] = row
    return out


def pooled_over_seeds(arms: dict[str, list[Run]], ids: list[str], ks: list[int]) -> list[dict[str, Any]]:
    """Each arm against the first with seeds pooled: a task's score is its pass@k averaged over the arm's
    seeds, and the paired test runs over tasks. One seed's test mixes the training run's luck into the
    task-level noise; averaging the seeds first asks whether the *recipe* moves a task, which is the claim
    a training result makes (the per-seed tests stay beside it)."""
    names = list(arms)
    base, out = arms[names[0]], []
    for name in names[1:]:
        row: dict[str, Any] = {"baseline": names[0], "run": name, "tasks": len(ids),
                               "seeds": [len(base), len(arms[name])], "metrics": {}}
        for k in ks:
            if any(r.counts[i][0] < k for r in base + arms[name] for i in ids):
                continue
            pa = np.mean([_per_task(r.counts, ids, k) for r in base], axis=0)
            pb = np.mean([_per_task(r.counts, ids, k) for r in arms[name]], axis=0)
            row["metrics"][f"pass@{k}"] = paired_delta(pa, pb)
        out.append(row)
    return out
