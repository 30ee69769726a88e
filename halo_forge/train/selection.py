"""Which samples a RAFT cycle trains on. Selection is per prompt, so no prompt crowds out others.

For each prompt: drop samples that could not be verified (errors), keep rewards >= threshold
(or, with `select_on: passed`, what the verifier passed — the threshold then needs no knowledge
of the verifier's reward scale),
de-duplicate identical completions (whitespace-normalised), optionally drop prompts whose
samples all got the same reward (no signal), keep the top `keep_top_percent` by reward
(at least one), then cap at `max_per_prompt`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from halo_forge.config.schema import SelectionConfig


SelectionPolicy = SelectionConfig  # the config section is the policy (one definition, one set of defaults)


def _norm(text: str) -> str:
    return " ".join(text.split())


def select_samples(samples: list[dict[str, Any]], policy: SelectionPolicy) -> tuple[list[dict[str, Any]], dict]:
    """samples: rows with task_id, sample_index, completion, reward (None = error)."""
    by_prompt: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in samples:
        by_prompt[s["task_id"]].append(s)
    kept: list[dict[str, Any]] = []
    stats = {"prompts": len(by_prompt), "prompts_kept": 0, "dropped_uniform": 0, "duplicates": 0, "errors": 0}
    for task_id in sorted(by_prompt):
        group = sorted(by_prompt[task_id], key=lambda s: s["sample_index"])
        valid = [s for s in group if s.get("reward") is not None]
        stats["errors"] += len(group) - len(valid)
        if policy.drop_uniform and len(valid) > 1 and len({s["reward"] for s in valid}) == 1:
            stats["dropped_uniform"] += 1
            continue
        good = [s for s in valid if s.get("passed")] if policy.select_on == "passed" \
            else [s for s in valid if s["reward"] >= policy.reward_threshold]
        if policy.dedup:
            seen, unique = set(), []
            for s in good:
                key = _norm(s["completion"])
                if key in seen:
                    stats["duplicates"] += 1
                    continue
                seen.add(key)
                unique.append(s)
            good = unique
        if not good:
            continue
        good.sort(key=lambda s: (-s["reward"], s["sample_index"]))  # stable: ties by sample order
        n = max(1, math.ceil(len(good) * policy.keep_top_percent))
        if policy.max_per_prompt:
            n = min(n, policy.max_per_prompt)
        kept.extend(good[:n])
        stats["prompts_kept"] += 1
    stats["kept"] = len(kept)
    return kept, stats
