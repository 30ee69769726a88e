"""Model loading: the embedded SmolLM2 alias, directories, adapters, bad paths."""

import json

import pytest

from halo_forge.errors import ModelLoadError
from halo_forge.models import load_model, render_chat, resolve_model
from halo_forge.models.chat import CHATML


@pytest.mark.slow
def test_smollm2_alias_chat_completion():
    from halo_forge.generation import GenerationRequest, SamplingParams, make_engine

    model, tok = load_model("smollm2-135m-instruct", device="cpu")
    assert model.device.type == "cpu" and str(model.dtype) == "torch.float32"
    assert sum(p.numel() for p in model.parameters()) > 100_000_000
    prompt = render_chat(tok, [{"role": "user", "content": "What is the capital of France?"}])
    assert "<|im_start|>assistant" in prompt
    engine = make_engine("auto", model, tok)
    [c] = engine.generate([GenerationRequest("q", prompt)], SamplingParams(n=1, temperature=0, max_new_tokens=24))
    assert "Paris" in c.text and c.token_ids


def test_alias_resolves_to_packaged_gguf():
    src = resolve_model("smollm2-135m-instruct")
    assert src.kind == "gguf" and src.gguf_file.endswith(".gguf")


def test_directory_and_adapter_resolution(tiny_model_dir, tmp_path):
    assert resolve_model(str(tiny_model_dir)).kind == "dir"
    ad = tmp_path / "adapter"
    ad.mkdir()
    (ad / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tiny_model_dir)}))
    src = resolve_model(str(ad))
    assert src.kind == "adapter" and src.base == str(tiny_model_dir)


def test_bad_paths(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        resolve_model(str(tmp_path / "missing"))
    fake = tmp_path / "x.gguf"
    fake.write_bytes(b"nope")
    with pytest.raises(ModelLoadError, match="not a GGUF"):
        resolve_model(str(fake))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="config.json"):
        resolve_model(str(tmp_path / "empty"))


def test_offline_hub_miss_is_clear(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE"):
        load_model("some-org/some-model-that-is-not-cached")


def test_chatml_fallback(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.chat_template = None
    text = render_chat(tok, [{"role": "user", "content": "hi"}])
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert "im_start" in CHATML


def test_tiny_model_greedy_generation_is_deterministic(tiny_model_dir):
    from halo_forge.generation import GenerationRequest, SamplingParams, make_engine

    model, tok = load_model(str(tiny_model_dir), device="cpu")
    eng = make_engine("hf", model, tok)
    reqs = [GenerationRequest(f"r{i}", f"prompt number {i}") for i in range(3)]
    p = SamplingParams(n=2, temperature=0.8, max_new_tokens=8, seed=3)
    a = eng.generate(reqs, p, batch_size=4)
    b = eng.generate(reqs, p, batch_size=4)
    assert [c.text for c in a] == [c.text for c in b] and len(a) == 6
    stop = eng.generate(reqs[:1], SamplingParams(n=1, temperature=0, max_new_tokens=8, stop=(a[0].text[:1] or "x",)))
    assert a[0].text[:1] not in stop[0].text or not a[0].text


def test_logprobs_and_temperature(tiny_model_dir):
    import math

    from halo_forge.generation import GenerationRequest, SamplingParams, make_engine

    model, tok = load_model(str(tiny_model_dir), device="cpu")
    eng = make_engine("hf", model, tok)
    req = [GenerationRequest("r", "hello there")]
    [c] = eng.generate(req, SamplingParams(n=1, temperature=0, max_new_tokens=6, logprobs=True))
    assert c.logprobs is not None and len(c.logprobs) == len(c.token_ids)
    assert all(lp <= 1e-6 for lp in c.logprobs)
    # Sampling statistics: near-zero temperature collapses to greedy; a hot one spreads out.
    cold = eng.generate(req, SamplingParams(n=12, temperature=0.01, max_new_tokens=4, seed=1), batch_size=12)
    hot = eng.generate(req, SamplingParams(n=12, temperature=5.0, max_new_tokens=4, seed=1), batch_size=12)
    greedy = eng.generate(req, SamplingParams(n=1, temperature=0, max_new_tokens=4))[0].token_ids
    assert all(x.token_ids == greedy for x in cold)
    assert len({tuple(x.token_ids) for x in hot}) > 6
    assert not math.isnan(sum(c.logprobs))


def test_gguf_cache_is_bounded_least_recently_used_first(tmp_path, monkeypatch):
    import os
    import time

    from halo_forge.models.loader import evict_gguf_cache

    entries = []
    for i in range(4):
        d = tmp_path / f"entry{i}"
        d.mkdir()
        (d / "model.safetensors").write_bytes(b"x" * 400_000)
        os.utime(d, (time.time() - 100 + i, time.time() - 100 + i))
        entries.append(d)
    os.utime(entries[0])  # the oldest one was just used again
    monkeypatch.setenv("HALO_FORGE_GGUF_CACHE_GB", str(1_000_000 / 2**30))  # room for two entries
    evict_gguf_cache(keep=entries[3])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry0", "entry3"]
