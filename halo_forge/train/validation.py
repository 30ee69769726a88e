"""A validation slice carved from the train pool (`validation_prompts: N`), and the cycle it picks.

Why: the held-out curve of a RAFT run is not monotone (Qwen2.5-Coder on GSM8K, seed 42: +3.9 points
after cycle 2, +1.7 after cycle 3), so "the last cycle" is not the best model. Choosing the cycle on
the held-out test split would be selection on test; these N prompts are drawn from the train pool
instead, never trained on, scored greedy before and after each cycle, and final_model is the cycle
that scores best on them. The slice is drawn with a fixed seed, the same for every run seed, so
seeds of one recipe train on the same pool and are compared on the same slice.

A small pool cannot spare a slice big enough to rank cycles (MBPP: 30 of 149 problems gave ±12-point
intervals and picked each seed's cycle close to at random, docs/results.md), so `validation:` may name a
benchmark instead (e.g. HumanEval for a run trained on MBPP and reported on MBPP test): scored the same
way, it picks the cycle through the same `best_cycle`; the report then uses another split.
"""

from __future__ import annotations

import random
from typing import Any

from halo_forge.errors import ConfigError

_CARVE_SEED = "halo-forge-validation"  # fixed on purpose: one slice for every run seed of a recipe


def carve_validation(tasks: list, n: int) -> tuple[list, list]:
    """(train pool, validation slice): `n` tasks drawn with a fixed seed; both keep the pool's order."""
    if not n:
        return tasks, []
    if n >= len(tasks):
        raise ConfigError(f"validation_prompts: {n} would leave nothing of the {len(tasks)}-prompt pool to train on")
    picked = set(random.Random(f"{_CARVE_SEED}:{n}").sample(range(len(tasks)), n))
    return [t for i, t in enumerate(tasks) if i not in picked], [tasks[i] for i in sorted(picked)]


def best_cycle(cycles: list[dict[str, Any]]) -> int | None:
    """The completed cycle with the highest validation pass@1 (the earliest of a tie: least drift from
    the start); None when the run has no validation slice."""
    scored = [(m["validation"]["pass_rate"], -m["cycle"]) for m in cycles
              if isinstance(m.get("validation"), dict) and m["validation"].get("pass_rate") is not None]
    return -max(scored)[1] if scored else None
