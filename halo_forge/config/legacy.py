"""Keys, flags and dataset names of the original halo-forge (0.x), mapped to today's.

Users bring their old YAML files and shell history. A renamed key is accepted with a one-line
note naming the new one; a key with no counterpart is accepted and ignored with a note saying
why it is not needed; a dataset that is no longer bundled is refused with the replacement in the
message. Never a bare "unknown key". The tables are data so that docs/config.md can list them.
"""

from __future__ import annotations

import logging
import sys
from typing import Any


log = logging.getLogger(__name__)

# 0.x dotted key -> today's dotted key
RENAMED_KEYS: dict[str, str] = {
    "sft_checkpoint": "model",
    "checkpoint": "model",
    "base_model": "model",
    "model.name": "model",
    "model.path": "model",
    "raft.num_cycles": "cycles",
    "raft.cycles": "cycles",
    "raft.samples_per_prompt": "samples_per_prompt",
    "raft.reward_threshold": "selection.reward_threshold",
    "raft.keep_top_percent": "selection.keep_top_percent",
    "num_cycles": "cycles",
    "data.train_file": "data_file",
    "data.validation_split": "eval_fraction",
    "data.max_seq_length": "training.max_seq_len",
    "training.output_dir": "output_dir",
    "training.num_train_epochs": "training.epochs",
    "training.per_device_train_batch_size": "training.batch_size",
    "training.gradient_accumulation_steps": "training.grad_accum",
    "training.lr_scheduler_type": "training.lr_scheduler",
    "hardware.gradient_checkpointing": "training.gradient_checkpointing",
    "verifier.type": "verifier.name",
}

# 0.x dotted key -> why it needs no setting now
IGNORED_KEYS: dict[str, str] = {
    "model.trust_remote_code": "model code from a hub is never run; supported families load without it",
    "model.attn_implementation": "the model's default attention (sdpa) is used",
    "hardware.attn_implementation": "the model's default attention (sdpa) is used",
    "hardware.bf16": "the dtype follows the device (bf16 on GPUs that support it); set `dtype` to force one",
    "training.bf16": "the dtype follows the device (bf16 on GPUs that support it); set `dtype` to force one",
    "training.dataloader_num_workers": "always 0: rows are tokenized up front",
    "training.dataloader_pin_memory": "not used",
    "training.per_device_eval_batch_size": "evaluation uses training.batch_size",
    "training.warmup_steps": "warm-up is training.warmup_ratio (capped per cycle)",
    "training.save_strategy": "checkpoints are saved per cycle / when eval_fraction is set",
    "training.save_steps": "checkpoints are saved per cycle / when eval_fraction is set",
    "training.save_total_limit": "two checkpoints are kept",
    "training.eval_strategy": "evaluation runs when eval_fraction > 0",
    "training.eval_steps": "evaluation runs four times per training when eval_fraction > 0",
    "training.load_best_model_at_end": "set early_stopping_patience to keep the best checkpoint",
}

# 0.x verifier options that live under verifier.options now (0.x kept them beside `type`)
_VERIFIER_SECTION_KEYS = {"name", "options", "workers"}

# 0.x CLI flag -> today's flag
RENAMED_FLAGS: dict[str, str] = {
    "--checkpoint": "--model",
    "--sft-checkpoint": "--model",
    "--num-cycles": "--cycles",
}


def _pop(data: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return False, None
    if not isinstance(node, dict) or parts[-1] not in node:
        return False, None
    return True, node.pop(parts[-1])


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node.setdefault(parts[-1], value)  # today's key, when also given, wins


def _prune_empty(data: dict[str, Any]) -> None:
    for key in [k for k, v in data.items() if isinstance(v, dict)]:
        _prune_empty(data[key])
        if not data[key] and key in ("raft", "data", "hardware", "model"):
            del data[key]


def translate_keys(data: dict[str, Any], where: str, known: set[str]) -> dict[str, Any]:
    """Rewrite 0.x keys in a loaded YAML mapping (a copy), with one note per key. `known` holds
    today's top-level fields, so a today-style `model: path` is never mistaken for 0.x's
    `model: {name: …}`."""
    import copy

    out, moved = copy.deepcopy(data), []
    for old, new in RENAMED_KEYS.items():
        if old.split(".")[0] in known and not isinstance(out.get(old.split(".")[0]), dict):
            continue
        found, value = _pop(out, old)
        if found:
            moved.append((new, value))
            log.warning("note: %s: '%s' is now '%s' (halo-forge 0.x key)", where, old, new)
    for old, why in IGNORED_KEYS.items():
        found, _ = _pop(out, old)
        if found:
            log.warning("note: %s: '%s' ignored (halo-forge 0.x key): %s", where, old, why)
    _prune_empty(out)  # an emptied 0.x section (`model: {name: …}`) makes way for today's key
    for new, value in moved:
        _set(out, new, value)
    verifier = out.get("verifier")
    if isinstance(verifier, dict) and set(verifier) - _VERIFIER_SECTION_KEYS:
        extra = {k: verifier.pop(k) for k in list(verifier) if k not in _VERIFIER_SECTION_KEYS}
        verifier.setdefault("options", {}).update(extra)
        log.warning("note: %s: verifier keys %s now go under 'verifier.options'", where, sorted(extra))
    return out


def rewrite_flags(argv: list[str]) -> list[str]:
    """0.x flags → today's, with a note on stderr (logging is not set up yet at parse time)."""
    out = []
    for arg in argv:
        flag, eq, value = arg.partition("=")
        if flag in RENAMED_FLAGS:
            print(f"note: {flag} is now {RENAMED_FLAGS[flag]} (halo-forge 0.x flag)", file=sys.stderr)
            arg = RENAMED_FLAGS[flag] + (eq + value if eq else "")
        out.append(arg)
    return out
