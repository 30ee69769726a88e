"""The RAFT loop on the tiny model, with a real sandboxed verifier.

The verifier is `custom`: a real command in the sandbox that passes completions of even
length, so roughly half the samples are kept and every cycle really trains.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
CHECK = ["/usr/bin/python3", "-I", "-c", "import sys; sys.exit(len(open(sys.argv[1]).read()) % 2)", "{file}"]


def write_tasks(path: Path, n: int = 6) -> Path:
    rows = [{"id": f"t{i}", "prompt": f"Say something about the number {i}.",
             "verifier": {"type": "custom", "command": CHECK, "filename": "answer.txt"}} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_config(tmp: Path, model: Path, out: Path, epochs: float = 2, engine: str = "auto") -> Path:
    cfg = tmp / f"raft_{out.name}.yaml"
    cfg.write_text(f"""model: {model}
prompts: {write_tasks(tmp / 'tasks.jsonl')}
output_dir: {out}
cycles: 2
samples_per_prompt: 4
reward_threshold: 1.0
keep_top_percent: 1.0
generation:
  engine: {engine}
  max_new_tokens: 24
  batch_size: 4
  temperature: 1.0
training:
  learning_rate: 1e-3
  epochs: {epochs}
  batch_size: 2
seed: 7
""")
    return cfg


def cli(*args, **kw):
    # Pinned threads: sized from the momentary load, the count would change how CPU matmuls round
    # between a run and the reference it must equal (seen under parallel tests).
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HALO_FORGE_QUIET": "1", "HALO_FORGE_CPU_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "halo_forge", "-q", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def run_to_end(cfg: Path) -> str:
    p = cli("raft", "train", "--config", str(cfg))
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out.decode()[-3000:]
    return out.decode()


def kill_when(cfg: Path, ready) -> None:
    p = cli("raft", "train", "--config", str(cfg))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and p.poll() is None:
        if ready():
            p.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    p.wait(timeout=60)
    assert p.returncode == -signal.SIGKILL, "the run finished before it could be killed"


def samples(out: Path, cycle: int) -> list[tuple]:
    rows = [json.loads(l) for l in (out / f"cycle_{cycle}" / "samples.jsonl").read_text().splitlines()]
    return sorted((r["task_id"], r["sample_index"], r["completion"], r["reward"]) for r in rows)


def adapter(out: Path) -> dict:
    return load_file(str(out / "final_model" / "adapter_model.safetensors"))


@pytest.fixture(scope="module")
def reference_run(tiny_model_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("raft_ref")
    out = tmp / "ref"
    text = run_to_end(write_config(tmp, tiny_model_dir, out))
    return out, text


def test_artifact_schema(reference_run):
    out, text = reference_run
    assert "cycle" in text and "pass rate" in text
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["status"] == "complete" and len(summary["cycles"]) == 2
    for c in summary["cycles"]:
        for key in ("pass_rate", "mean_reward", "kept", "reward_histogram", "timing", "gen_tokens_per_s",
                    "learning_rate", "train_steps"):
            assert key in c
        assert set(c["timing"]) == {"generate_s", "verify_s", "verify_tail_s", "train_s"}
        assert c["kept"] > 0 and c["train_steps"] > 0
    assert summary["cycles"][1]["learning_rate"] < summary["cycles"][0]["learning_rate"]
    assert json.loads((out / "latest_checkpoint.json").read_text())["cycle"] == 2
    for n in (1, 2):
        rows = [json.loads(l) for l in (out / f"cycle_{n}" / "samples.jsonl").read_text().splitlines()]
        assert len(rows) == 24
        for r in rows:
            for key in ("task_id", "sample_index", "completion", "reward", "passed", "stage", "details", "model",
                        "sampling", "verifier", "cycle", "task"):
                assert key in r
        assert (out / f"cycle_{n}" / "model" / "adapter_model.safetensors").exists()
        assert json.loads((out / f"cycle_{n}" / "checkpoint_state.json").read_text())["phase"] == "done"
    assert (out / "final_model" / "adapter_model.safetensors").exists()


def test_killed_mid_generation_resumes_identically(tiny_model_dir, tmp_path):
    """Resumed generation draws the same samples. Uses the hf engine, which decodes each planned
    batch on its own: the native engine's continuous batching lets a batch share decode steps with
    its neighbours' tails, so a batch regenerated after a kill meets other neighbours and its CPU
    matmuls round differently (seen: a sample diverging at token 12). Its keyed sampling makes the
    draws identical given identical logits; bit-identical logits across batch compositions are not
    promised on the CPU."""
    ref = tmp_path / "ref"
    run_to_end(write_config(tmp_path, tiny_model_dir, ref, engine="hf"))
    out = tmp_path / "gen"
    cfg = write_config(tmp_path, tiny_model_dir, out, engine="hf")
    gen = out / "cycle_1" / "generations.jsonl"
    kill_when(cfg, lambda: gen.exists() and len(gen.read_bytes().splitlines()) >= 9)
    assert not (out / "latest_checkpoint.json").exists()
    run_to_end(cfg)
    for n in (1, 2):
        assert samples(out, n) == samples(ref, n)
    a, b = adapter(out), adapter(ref)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_killed_mid_training_resumes_identically(reference_run, tiny_model_dir, tmp_path):
    ref, _ = reference_run
    out = tmp_path / "train"
    cfg = write_config(tmp_path, tiny_model_dir, out)
    state = out / "cycle_2" / "checkpoint_state.json"
    kill_when(cfg, lambda: state.exists() and '"train"' in state.read_text())
    assert json.loads((out / "latest_checkpoint.json").read_text())["cycle"] == 1
    run_to_end(cfg)
    assert samples(out, 2) == samples(ref, 2)
    a, b = adapter(out), adapter(ref)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_config_change_is_refused_and_resume_from_cycle(reference_run, tiny_model_dir, tmp_path):
    ref, _ = reference_run
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(ref, out)
    cfg = write_config(tmp_path, tiny_model_dir, out)
    changed = tmp_path / "changed.yaml"
    changed.write_text(cfg.read_text().replace("samples_per_prompt: 4", "samples_per_prompt: 5"))
    p = cli("raft", "train", "--config", str(changed))
    text, _ = p.communicate(timeout=300)
    assert p.returncode == 2 and b"samples_per_prompt" in text
    p = cli("raft", "train", "--config", str(cfg), "--resume-from-cycle", "2")
    text, _ = p.communicate(timeout=600)
    assert p.returncode == 0, text.decode()[-2000:]
    assert samples(out, 2) == samples(ref, 2)
    assert list(out.glob("discarded-*/cycle_2"))  # the redone cycle's old data was moved aside, not deleted


def test_sigint_stops_quickly_and_resumes(tiny_model_dir, tmp_path):
    out = tmp_path / "int"
    cfg = write_config(tmp_path, tiny_model_dir, out)
    p = cli("raft", "train", "--config", str(cfg))
    gen = out / "cycle_1" / "generations.jsonl"
    deadline = time.monotonic() + 300
    while not (gen.exists() and gen.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    text, _ = p.communicate(timeout=60)
    assert time.monotonic() - t0 < 10
    assert p.returncode in (0, 130), text.decode()[-2000:]
    run_to_end(cfg)
    assert json.loads((out / "training_summary.json").read_text())["status"] == "complete"


def test_raft_from_a_lora_adapter_dir_trains_that_adapter(tiny_model_dir, tmp_path):
    """Review finding: RAFT started from an SFT LoRA output with `lora.enabled: true` loaded the
    adapter frozen and attach_lora kept it, so the cycle had nothing to train."""
    from peft import get_peft_model
    from peft import LoraConfig as PeftLoraConfig

    from halo_forge.config import RaftConfig
    from halo_forge.models import load_model
    from halo_forge.models.adapters import get_adapter
    from halo_forge.train.raft import _load_policy

    base, tok = load_model(str(tiny_model_dir), device="cpu")
    adapter_dir = tmp_path / "sft_adapter"
    get_peft_model(base, PeftLoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])).save_pretrained(adapter_dir)
    cfg = RaftConfig(model=str(adapter_dir), prompts=str(write_tasks(tmp_path / "t.jsonl")), device="cpu",
                     lora={"enabled": True})
    model, _ = _load_policy(cfg, None, 1, get_adapter("text"))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
