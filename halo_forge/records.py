"""One summary of verified sample records, used by RAFT cycles, benchmarks and `verify`.

A record is one sample row (`rollout.sample_record`): task_id, reward (None = could not
verify), passed, error, details. Verifiers that score more than the reward put those scores in
`details["metrics"]` (asr: wer; vision: perception, reasoning, output); they are averaged here
as `mean_<name>` without this module knowing any verifier's names.
"""

from __future__ import annotations

from typing import Any


def reward_histogram(rewards: list[float], bins: int = 10) -> dict[str, int]:
    """Counts per reward bucket; negative rewards get their own bucket (they stay negative)."""
    hist: dict[str, int] = {}
    for r in rewards:
        if r < 0:
            key = "<0"
        else:
            lo = min(int(r * bins), bins - 1) / bins
            key = f"{lo:.1f}-{lo + 1 / bins:.1f}"
        hist[key] = hist.get(key, 0) + 1
    return dict(sorted(hist.items()))


def metric_means(records: list[dict[str, Any]]) -> dict[str, float]:
    """mean_<name> of every numeric score verifiers reported in details["metrics"]."""
    values: dict[str, list[float]] = {}
    for r in records:
        for name, v in ((r.get("details") or {}).get("metrics") or {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                values.setdefault(name, []).append(float(v))
    return {f"mean_{name}": sum(vs) / len(vs) for name, vs in sorted(values.items())}


def record_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    rewards = [r["reward"] for r in records if r.get("reward") is not None]
    passed = sum(bool(r.get("passed")) for r in records)
    return {
        "samples": len(records),
        "passed": passed,
        "pass_rate": passed / max(1, len(records)),
        "mean_reward": sum(rewards) / len(rewards) if rewards else None,
        "errors": sum(r.get("error") is not None for r in records),
        "prompts_solved": len({r["task_id"] for r in records if r.get("passed")}),
        "reward_histogram": reward_histogram(rewards),
        **metric_means(records),
    }
