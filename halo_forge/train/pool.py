"""Which prompts a RAFT cycle samples, and how many samples each one gets.

Why this exists: re-sampling the same fixed pool every cycle spends most of the generation budget
on prompts the model already always solves (nothing to learn: every sample passes) or never solves
(nothing to keep). Two levers, both off by default so a plain config behaves as before:

- `prompts_per_cycle`: each cycle takes the next slice of one seeded shuffle of the pool, so
  successive cycles see new prompts and together cover the whole pool (then a new shuffle);
- `unsolved_extra`: after a cycle's first round, prompts with no passing sample get that many more
  samples in a second round (adaptive sampling: the budget goes where the signal is missing).
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

#: added to the cycle's sampling seed for the extra round, so its samples are new draws, not repeats
EXTRA_ROUND_SEED_OFFSET = 500


def _shuffle(n: int, seed: int, pass_no: int) -> list[int]:
    order = list(range(n))
    random.Random(f"halo-forge-pool:{seed}:{pass_no}").shuffle(order)  # str seeds are stable across runs
    return order


def cycle_indices(pool_size: int, cycle: int, per_cycle: int | None, seed: int) -> list[int]:
    """Pool indices cycle `cycle` (1-based) samples, in pool order: consecutive slices of a seeded
    shuffle, wrapping into a fresh shuffle once the pool is used up. None or >= pool: every prompt."""
    if not per_cycle or per_cycle >= pool_size:
        return list(range(pool_size))
    first = (cycle - 1) * per_cycle
    picked: list[int] = []
    while len(picked) < per_cycle:
        pass_no, offset = divmod(first + len(picked), pool_size)
        take = min(per_cycle - len(picked), pool_size - offset)
        picked += _shuffle(pool_size, seed, pass_no)[offset:offset + take]
    return sorted(picked)


def unsolved_task_ids(records: list[dict[str, Any]]) -> set[str]:
    """Prompts none of whose samples passed, leaving out those whose samples could not be verified
    (an infrastructure error is not evidence that the model fails)."""
    passed: dict[str, bool] = defaultdict(bool)
    errored: set[str] = set()
    for r in records:
        passed[r["task_id"]] |= bool(r.get("passed"))
        if r.get("error"):
            errored.add(r["task_id"])
    return {t for t, ok in passed.items() if not ok and t not in errored}


def renumber_extra(records: list[dict[str, Any]], first_round_n: int) -> list[dict[str, Any]]:
    """Extra-round samples continue each prompt's numbering after the first round's N."""
    return [{**r, "sample_index": first_round_n + int(r.get("sample_index") or 0), "round": 2} for r in records]
