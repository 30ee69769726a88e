"""One progress style for every long phase (generate, verify, train), chosen once from where
the output goes:

- a terminal, at the normal log level: live tqdm bars;
- not a terminal (CI, `nohup`, `tee`): a plain log line per phase every `interval` seconds and
  one when the phase ends, so a log file shows the run is alive and how fast it goes;
- `-q`: nothing (only warnings and the result).

Why not tqdm everywhere: piped tqdm writes carriage-return frames that turn into one enormous
line in a log file, and transformers' own bars print raw dicts beside ours.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

log = logging.getLogger("halo_forge.progress")

DEFAULT_INTERVAL_S = 15.0


def progress_mode() -> str:
    """'bars', 'lines' or 'off'."""
    if not log.isEnabledFor(logging.INFO):
        return "off"
    return "bars" if sys.stderr.isatty() else "lines"


def _interval() -> float:
    """HALO_FORGE_PROGRESS_INTERVAL (seconds) sets the non-terminal cadence; tests set it low."""
    try:
        return max(0.0, float(os.environ.get("HALO_FORGE_PROGRESS_INTERVAL", DEFAULT_INTERVAL_S)))
    except ValueError:
        return DEFAULT_INTERVAL_S


class _Lines:
    """Periodic plain lines: 'generate: 120/480 samples (25%), 31.2 samples/s'."""

    def __init__(self, phases: tuple[str, ...], total: int, unit: str, initial: dict[str, int]):
        self.total, self.unit, self.every = total, unit, _interval()
        self.done = {p: initial.get(p, 0) for p in phases}
        self.start = {p: (time.monotonic(), self.done[p]) for p in phases}
        self.last = {p: 0.0 for p in phases}
        self.finished: set[str] = set()

    def __call__(self, phase: str, n: int) -> None:
        self.done[phase] += n
        now = time.monotonic()
        complete = self.done[phase] >= self.total
        if complete and phase in self.finished:
            return
        if complete or now - self.last[phase] >= self.every:
            self.last[phase] = now
            if complete:
                self.finished.add(phase)
            t0, d0 = self.start[phase]
            rate = (self.done[phase] - d0) / max(now - t0, 1e-9)
            pct = 100.0 * self.done[phase] / max(self.total, 1)
            log.info("%s: %d/%d %s (%.0f%%), %.1f %s/s", phase, self.done[phase], self.total, self.unit, pct,
                     rate, self.unit)

    def close(self) -> None:
        pass


class _Bars:
    def __init__(self, phases: tuple[str, ...], total: int, unit: str, initial: dict[str, int]):
        from tqdm.auto import tqdm

        # disable=False: quiet_libraries() turns tqdm's default off for third-party bars, not ours
        self.bars = {p: tqdm(total=total, initial=initial.get(p, 0), desc=p, unit=unit, leave=False, position=i,
                             disable=False) for i, p in enumerate(phases)}

    def __call__(self, phase: str, n: int) -> None:
        self.bars[phase].update(n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


class _Off:
    def __call__(self, phase: str, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def phase_progress(phases: tuple[str, ...], total: int, unit: str = "samples",
                   initial: dict[str, int] | None = None, enabled: bool = True) -> Any:
    """A callable `progress(phase, n)` with `.close()`, in the style `progress_mode()` picks
    (off when not `enabled`, e.g. on ranks other than 0)."""
    mode = progress_mode() if enabled else "off"
    if mode == "off":
        return _Off()
    cls = _Bars if mode == "bars" else _Lines
    return cls(phases, total, unit, initial or {})


def trainer_callback() -> Any:
    """A transformers TrainerCallback reporting optimiser steps in the same style. The learning
    rate shown is the scheduler's value at that step (warm-up and decay within the cycle), which
    is why it is labelled 'lr now' and differs from the cycle's peak rate in the RAFT table."""
    from transformers import TrainerCallback

    class _TrainProgress(TrainerCallback):
        def __init__(self):
            self.progress: Any = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.progress = phase_progress(("train",), state.max_steps, unit="steps",
                                           initial={"train": state.global_step})
            self.seen = state.global_step

        def on_step_end(self, args, state, control, **kwargs):
            if self.progress is not None:
                self.progress("train", state.global_step - self.seen)
                self.seen = state.global_step

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            if progress_mode() == "lines" and "loss" in logs:
                log.info("train: step %d/%d, loss %.4f, lr now %.2e", state.global_step, state.max_steps,
                         float(logs["loss"]), float(logs.get("learning_rate", 0.0)))

        def on_train_end(self, args, state, control, **kwargs):
            if self.progress is not None:
                self.progress.close()
                self.progress = None

    return _TrainProgress()


def quiet_libraries() -> None:
    """Keep third-party progress bars and deprecation chatter off the user's screen: our phases
    report progress themselves, and a FutureWarning from inside transformers is nothing the user
    can act on (`--debug` shows them again)."""
    import warnings

    libraries = r"(torch|transformers|peft|accelerate|huggingface_hub|torchao|onnxscript)(\.|$)"
    for category in (FutureWarning, DeprecationWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category, module=libraries)
    # Read by huggingface_hub when imported, and transformers' bars ("Loading weights", "Writing
    # model shards") follow it: set before either is imported, no import needed here.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # Plain tqdm bars elsewhere (transformers' GGUF de-quantizer) read TQDM_* defaults from the env.
    os.environ.setdefault("TQDM_DISABLE", "1")
    # torchao logs a warning per optional CUDA extension its CPU wheel cannot load, and torch's
    # pytree logs a deprecation for each Enum torchao registers: import-time noise, not advice.
    logging.getLogger("torchao").setLevel(logging.ERROR)
    logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
