"""SFT on the tiny model: real weight updates, completion-only loss, dynamic padding."""

import json

import torch
from safetensors.torch import load_file

from halo_forge.config import SFTConfig
from halo_forge.models.batching import Example, encode_example, pad_collate
from halo_forge.train.sft import run_sft


def _weights(path):
    files = sorted(path.glob("*.safetensors"))
    out = {}
    for f in files:
        out.update(load_file(str(f)))
    return out


def test_completion_only_masking(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    ex = Example([{"role": "user", "content": "Say hi"}], "hi there")
    enc = encode_example(tok, ex, 256)
    completion_ids = tok("hi there", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    labelled = [t for t in enc["labels"] if t != -100]
    assert labelled == completion_ids
    n_prompt = len(enc["input_ids"]) - len(completion_ids)
    assert enc["labels"][:n_prompt] == [-100] * n_prompt


def test_dynamic_padding_not_max_length():
    batch = [{"input_ids": [1, 2, 3], "labels": [-100, 2, 3]}, {"input_ids": [4], "labels": [4]}]
    out = pad_collate(batch, pad_id=0)
    assert out["input_ids"].shape == (2, 3)
    assert out["input_ids"][1].tolist() == [4, 0, 0]
    assert out["labels"][1].tolist() == [4, -100, -100]
    assert out["attention_mask"][1].tolist() == [1, 0, 0]


def _sft_file(tmp_path):
    f = tmp_path / "sft.jsonl"
    rows = [{"prompt": f"What is {i}+{i}?", "response": f"{2 * i}"} for i in range(6)]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return f


def test_one_step_full_sft_changes_weights(tiny_model_dir, tmp_path):
    cfg = SFTConfig(model=str(tiny_model_dir), data_file=str(_sft_file(tmp_path)), output_dir=str(tmp_path / "out"),
                    lora={"enabled": False}, training={"max_steps": 1, "batch_size": 2, "learning_rate": 1e-3,
                                                       "warmup_ratio": 0.5})
    summary = run_sft(cfg)
    assert summary["steps"] == 1
    before, after = _weights(tiny_model_dir), _weights(tmp_path / "out" / "final_model")
    changed = [k for k in before if k in after and not torch.equal(before[k], after[k])]
    assert changed, "a one-step run must change the weights (warm-up may not swallow it)"


def test_one_step_lora_sft_trains_the_adapter(tiny_model_dir, tmp_path):
    cfg = SFTConfig(model=str(tiny_model_dir), data_file=str(_sft_file(tmp_path)), output_dir=str(tmp_path / "lora"),
                    training={"max_steps": 1, "batch_size": 2, "learning_rate": 1e-2}, merge=True)
    run_sft(cfg)
    adapter = _weights(tmp_path / "lora" / "final_model")
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b)  # B starts at zero; one step moves it
    assert (tmp_path / "lora" / "merged_model" / "config.json").exists()
    assert (tmp_path / "lora" / "sft_summary.json").exists()


def test_eval_split_early_stopping_and_resume(tiny_model_dir, tmp_path):
    f = tmp_path / "chat.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"Count to {i}"},
                          {"role": "assistant", "content": " ".join(str(k) for k in range(i))}]} for i in range(2, 22)]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "es"
    cfg = SFTConfig(model=str(tiny_model_dir), data_file=str(f), output_dir=str(out), lora={"enabled": False},
                    eval_fraction=0.2, early_stopping_patience=1,
                    training={"max_steps": 8, "batch_size": 4, "learning_rate": 1e-3})
    summary = run_sft(cfg)
    assert summary["eval_examples"] == 4 and summary["examples"] == 16
    ckpts = sorted((out / "checkpoints").glob("checkpoint-*"))
    assert ckpts, "checkpoints are written so a killed run can resume"
    # --resume continues from the last checkpoint instead of starting over.
    resumed = run_sft(cfg.model_copy(update={"resume": True}))
    assert resumed["steps"] == summary["steps"]
    assert (out / "final_model" / "config.json").exists()


def test_a_diverging_fine_tune_stops_in_one_line_and_saves_nothing(tiny_model_dir, tmp_path):
    """NaN weights must end the run (a RAFT run on NaN weights generates garbage for a whole cycle):
    an absurd learning rate overflows the weights; SFT fails with TrainingDiverged, no final_model."""
    import pytest

    from halo_forge.errors import TrainingDiverged

    out = tmp_path / "nan"
    cfg = SFTConfig(model=str(tiny_model_dir), data_file=str(_sft_file(tmp_path)), output_dir=str(out),
                    lora={"enabled": False}, training={"learning_rate": 1e38, "max_steps": 3, "batch_size": 2,
                                                       "logging_steps": 1, "warmup_ratio": 0.0})
    with pytest.raises(TrainingDiverged, match="training diverged") as e:
        run_sft(cfg)
    assert "\n" not in str(e.value) and not (out / "final_model").exists()


def test_the_finite_check_names_the_parameter(tiny_model_dir):
    from halo_forge.models import load_model
    from halo_forge.train.numerics import first_non_finite_parameter

    model, _ = load_model(str(tiny_model_dir), device="cpu")
    assert first_non_finite_parameter(model) is None
    name, p = next(iter(model.named_parameters()))
    with torch.no_grad():
        p.view(-1)[0] = float("nan")
    assert first_non_finite_parameter(model) == name
