"""Learning-rate schedule pieces that exist once.

Warm-up is a ratio of the run's optimizer steps, capped so at least one step runs at a
non-zero LR (a 1-step cycle with a 1-step warm-up would train at LR 0 — a bug we replace).
RAFT decays the peak LR per cycle: lr_c = max(min_lr, lr * decay**(c-1)).
"""

from __future__ import annotations

import math


def optimizer_steps(n_examples: int, batch_size: int, grad_accum: int, epochs: float, max_steps: int | None) -> int:
    per_epoch = max(1, math.ceil(n_examples / batch_size / grad_accum))
    steps = max(1, math.ceil(per_epoch * epochs))
    return min(steps, max_steps) if max_steps else steps


def tokens_trained(tokens_per_epoch: int, n_examples: int, steps: int, global_batch: int, epochs: float) -> int:
    """Tokens the optimizer saw: an epoch's tokens scaled by the examples consumed (steps x global batch,
    at most `epochs` passes). A run cut short by max_steps (a compute-matched control) saw only part of
    its data, and a two-epoch run saw it twice: reporting one epoch's tokens misstates both."""
    seen = min(steps * global_batch, n_examples * epochs)
    return round(tokens_per_epoch * seen / n_examples) if n_examples else 0


def warmup_steps(total_steps: int, ratio: float) -> int:
    return min(int(total_steps * ratio), max(0, total_steps - 1), total_steps // 2)


def cycle_learning_rate(base_lr: float, cycle: int, decay: float, min_lr: float) -> float:
    return max(min_lr, base_lr * decay ** (cycle - 1))
