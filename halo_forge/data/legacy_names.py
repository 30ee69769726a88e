"""Dataset names of halo-forge 0.x: renamed ones still load (with a note), removed ones say what
to use instead. Lives in `data/` because dataset lookup needs it and data must not import config."""

from __future__ import annotations

import logging

from halo_forge.errors import DataError

log = logging.getLogger(__name__)

# 0.x dataset name -> today's name
RENAMED_DATASETS: dict[str, str] = {
    "gsm8k_sft": "gsm8k",
    "librispeech_sft": "librispeech",
    "common_voice_sft": "common_voice",
    "xlam_sft": "xlam",
    "glaive_sft": "glaive",
}

# 0.x dataset name -> what to use instead (not bundled, not a hub loader here)
REMOVED_DATASETS: dict[str, str] = {
    "llava": "a vision dataset (vision_synth offline; chartqa, docvqa, textvqa, realworldqa from the hub) or "
             "--data-file with your LLaVA rows converted to {prompt, response, image}",
    "code_instructions_122k": "codealpaca, or --data-file with {prompt, response} rows",
    "python_instructions": "codealpaca or mbpp, or --data-file with {prompt, response} rows",
}


def dataset_name(name: str) -> str:
    """Today's name for a dataset name (a note when it is a 0.x one); refuse removed ones."""
    if name in RENAMED_DATASETS:
        log.warning("note: dataset '%s' is now '%s' (halo-forge 0.x name)", name, RENAMED_DATASETS[name])
        return RENAMED_DATASETS[name]
    if name in REMOVED_DATASETS:
        raise DataError(f"dataset '{name}' (halo-forge 0.x) is not available here; use {REMOVED_DATASETS[name]}")
    return name
