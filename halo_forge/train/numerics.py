"""Keeping a fine-tune finite, and saying so in one line when it is not.

Why this exists: on an H100 (torch 2.11, transformers 5.17), full fine-tuning of
Qwen2.5-Coder-0.5B-Instruct in fp32 masters with bf16 autocast turned every weight into NaN within
25 optimizer steps, while the loss transformers' Trainer logged stayed finite-looking (its
`logging_nan_inf_filter` drops NaN losses from the average). The RAFT run went on for a whole
cycle generating "optionoption..." from NaN weights. Two measures:

- the check: a NaN/inf loss or gradient norm stops training at that step, and the weights are
  checked after training; either raises `TrainingDiverged` before the final weights are saved (a
  RAFT run resumes from its last good cycle);
- the cause we could act on: public reports tie NaN gradients of Qwen2.5 under bf16 to fused SDPA
  backward kernels (cuDNN attention on Hopper). Training excludes cuDNN attention and keeps
  flash / memory-efficient / math SDPA; generation is unaffected (it runs its own kernels).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch
from transformers import TrainerCallback

from halo_forge.errors import TrainingDiverged


def training_attention() -> contextlib.AbstractContextManager:
    """SDPA backends allowed while training on a GPU: every one but cuDNN's fused attention."""
    if not torch.cuda.is_available():
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH])


class StopOnNonFinite(TrainerCallback):
    """Stops at the first logged NaN/inf loss or gradient norm and remembers where."""

    def __init__(self) -> None:
        self.problem: str | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        for key in ("loss", "grad_norm"):
            value = (logs or {}).get(key)
            if isinstance(value, (int, float)) and not math.isfinite(value) and self.problem is None:
                self.problem = f"{key} is {value} at step {state.global_step}"
                control.should_training_stop = True
        return control


def first_non_finite_parameter(model: Any) -> str | None:
    """Name of the first trainable parameter holding NaN/inf (None: all finite)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad and not bool(torch.isfinite(p).all()):
                return name
    return None


def check_finite(model: Any, callback: StopOnNonFinite, where: str) -> None:
    bad = first_non_finite_parameter(model)
    if callback.problem is None and bad is None:
        return
    what = callback.problem or f"parameter {bad} is not finite"
    raise TrainingDiverged(f"{where}: training diverged ({what}); its final weights were not saved — "
                           f"lower the learning rate (or raise the batch size), then run again")
