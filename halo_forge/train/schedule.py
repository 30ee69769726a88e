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


def warmup_steps(total_steps: int, ratio: float) -> int:
    return min(int(total_steps * ratio), max(0, total_steps - 1), total_steps // 2)


def cycle_learning_rate(base_lr: float, cycle: int, decay: float, min_lr: float) -> float:
    return max(min_lr, base_lr * decay ** (cycle - 1))
