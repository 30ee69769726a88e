"""Configs, flags and dataset names of halo-forge 0.x load through documented aliases with a
one-line note, or are refused with the replacement named — never a bare "unknown key"."""

import logging

import pytest

from halo_forge.config import RaftConfig, SFTConfig, load_config
from halo_forge.errors import ConfigError, DataError

RAFT_0X = """
sft_checkpoint: models/sft/final_model
output_dir: models/raft
prompts: data/prompts.jsonl
raft:
  num_cycles: 3
  samples_per_prompt: 6
  reward_threshold: 0.5
  keep_top_percent: 0.25
generation:
  max_new_tokens: 256
  temperature: 0.7
  batch_size: 8
training:
  epochs: 1
  batch_size: 2
  gradient_accumulation_steps: 16
  learning_rate: 5e-5
  warmup_steps: 10
  dataloader_num_workers: 0
  dataloader_pin_memory: false
hardware:
  bf16: true
  gradient_checkpointing: true
  attn_implementation: eager
verifier:
  type: gcc
  timeout: 30
"""

SFT_0X = """
model:
  name: Qwen/Qwen2.5-Coder-0.5B
  trust_remote_code: true
  attn_implementation: eager
data:
  train_file: data/train.jsonl
  validation_split: 0.05
  max_seq_length: 2048
lora:
  r: 16
  alpha: 32
training:
  output_dir: models/sft
  num_train_epochs: 3
  per_device_train_batch_size: 2
  gradient_accumulation_steps: 16
  lr_scheduler_type: cosine
  bf16: true
  save_steps: 500
"""


def test_a_0x_raft_config_loads_with_notes(tmp_path, caplog):
    f = tmp_path / "raft_old.yaml"
    f.write_text(RAFT_0X)
    with caplog.at_level(logging.WARNING):
        cfg = load_config(RaftConfig, f)
    assert cfg.model == "models/sft/final_model" and cfg.cycles == 3 and cfg.samples_per_prompt == 6
    assert cfg.selection.keep_top_percent == 0.25 and cfg.training.grad_accum == 16 and cfg.training.gradient_checkpointing
    assert cfg.verifier.name == "gcc" and cfg.verifier.options == {"timeout": 30}
    notes = [r.getMessage() for r in caplog.records]
    assert any("'raft.num_cycles' is now 'cycles'" in n for n in notes)
    assert any("'hardware.bf16' ignored" in n for n in notes)
    assert all(n.count("\n") == 0 for n in notes)


def test_a_0x_sft_config_loads(tmp_path):
    f = tmp_path / "sft_old.yaml"
    f.write_text(SFT_0X)
    cfg = load_config(SFTConfig, f)
    assert cfg.model == "Qwen/Qwen2.5-Coder-0.5B" and cfg.data_file == "data/train.jsonl"
    assert cfg.eval_fraction == 0.05 and cfg.training.max_seq_len == 2048 and cfg.training.epochs == 3
    assert cfg.output_dir == "models/sft" and cfg.training.batch_size == 2


def test_todays_keys_win_and_typos_get_a_hint(tmp_path):
    f = tmp_path / "mixed.yaml"
    f.write_text("dataset: mbpp\ncycles: 2\nraft:\n  num_cycles: 9\n")
    assert load_config(RaftConfig, f).cycles == 2
    f.write_text("dataset: mbpp\nsamples_per_promt: 4\n")
    with pytest.raises(ConfigError, match="did you mean 'samples_per_prompt'"):
        load_config(RaftConfig, f)


def test_0x_dataset_names(caplog):
    from halo_forge.data.registry import get_dataset

    with caplog.at_level(logging.WARNING):
        assert get_dataset("gsm8k_sft").name == "gsm8k"
        assert get_dataset("xlam_sft").name == "xlam" and get_dataset("librispeech_sft").name == "librispeech"
    assert any("'xlam_sft' is now 'xlam'" in r.getMessage() for r in caplog.records)
    with pytest.raises(DataError, match="'llava' .*vision_synth"):
        get_dataset("llava")


def test_0x_flags(run_cli, tmp_path):
    code, _, err = run_cli("raft", "train", "--checkpoint", str(tmp_path / "missing"), "--dataset", "llava")
    assert code == 2
    assert "note: --checkpoint is now --model" in err and "'llava' (halo-forge 0.x) is not available" in err


def test_the_migration_page_lists_every_alias():
    from pathlib import Path

    from halo_forge.config import legacy
    from halo_forge.data import legacy_names

    page = (Path(__file__).resolve().parents[1] / "docs" / "migrating.md").read_text()
    for table in (legacy.RENAMED_KEYS, legacy.IGNORED_KEYS, legacy_names.RENAMED_DATASETS,
                  legacy_names.REMOVED_DATASETS, legacy.RENAMED_FLAGS):
        missing = [k for k in table if f"`{k}`" not in page]
        assert not missing, missing
