"""`inference export`: GGUF checked by llama.cpp (llama-cpp-python), ONNX by ONNX Runtime, a
merged safetensors dir by transformers — greedy tokens against the source model, token by token.
Sources: the tiny Llama, a tiny Qwen2, a RAFT LoRA adapter, and the embedded SmolLM2 (slow)."""

import json
from pathlib import Path

import pytest

from halo_forge.export.parity import compare, hf_greedy, llama_cpp_forced_agreement, llama_cpp_greedy, onnx_greedy
from halo_forge.models import load_model


def _tiny_qwen2(target: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from tests.helpers import TINY, smollm2_cache_dir

    tok = AutoTokenizer.from_pretrained(smollm2_cache_dir())
    torch.manual_seed(1)
    cfg = Qwen2Config(vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, **TINY)
    Qwen2ForCausalLM(cfg).save_pretrained(target)
    tok.save_pretrained(target)
    return target


@pytest.fixture(scope="module")
def tiny_qwen2(tmp_path_factory):
    return _tiny_qwen2(tmp_path_factory.mktemp("qwen2") / "model")


@pytest.fixture(scope="module")
def tiny_lora(tiny_model_dir, tmp_path_factory):
    """A LoRA adapter with non-zero weights (as after training), saved like RAFT's final_model."""
    import torch
    from peft import LoraConfig, get_peft_model

    model, tok = load_model(str(tiny_model_dir), device="cpu", dtype="float32")
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
    torch.manual_seed(3)
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
    out = tmp_path_factory.mktemp("lora") / "final_model"
    peft.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def _reference(spec: str):
    model, tok = load_model(spec, device="cpu", dtype="float32")
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    return hf_greedy(model.eval(), tok), tok


def _export(run_cli, *args):
    code, out, err = run_cli("inference", "export", *args)
    assert code == 0, err
    return out


@pytest.mark.parametrize("source", ["tiny_model_dir", "tiny_qwen2", "tiny_lora"])
def test_gguf_f32_matches_in_llama_cpp_and_loads_back(source, request, run_cli, tmp_path):
    spec = str(request.getfixturevalue(source))
    ref, _ = _reference(spec)
    path = tmp_path / "m.gguf"
    _export(run_cli, "--model", spec, "--format", "gguf", "--dtype", "f32", "-o", str(path))
    parity = compare("llama.cpp", ref, llama_cpp_greedy(str(path)))
    assert parity.exact, parity
    if source == "tiny_model_dir":  # halo-forge's own loader reads it too (once: the GGUF tokenizer build is slow)
        back, tok = load_model(str(path), device="cpu", dtype="float32")
        assert compare("reloaded", ref, hf_greedy(back.eval(), tok)).exact


def test_gguf_quantized_files_hold_provenance(tiny_model_dir, run_cli, tmp_path):
    import gguf

    ref, _ = _reference(str(tiny_model_dir))
    for dtype in ("f16", "q8_0"):
        path = tmp_path / f"m_{dtype}.gguf"
        _export(run_cli, "--model", str(tiny_model_dir), "--format", "gguf", "--dtype", dtype, "-o", str(path))
        fields = gguf.GGUFReader(str(path)).fields
        meta = {k: bytes(fields[k].parts[-1]).decode() for k in fields if k.startswith("halo_forge.")}
        assert meta["halo_forge.export_dtype"] == dtype and meta["halo_forge.source_model"] == str(tiny_model_dir)
        assert compare("llama.cpp", ref, llama_cpp_greedy(str(path))).prompt_tokens_equal
        agreement = llama_cpp_forced_agreement(str(path), ref)
        assert agreement >= (0.95 if dtype == "f16" else 0.5), agreement  # random weights: flat logits, near-ties


@pytest.mark.parametrize("source", ["tiny_model_dir", "tiny_qwen2", "tiny_lora"])
def test_onnx_matches_in_onnxruntime(source, request, run_cli, tmp_path):
    import onnx

    spec = str(request.getfixturevalue(source))
    ref, tok = _reference(spec)
    out = tmp_path / "onnx"
    _export(run_cli, "--model", spec, "--format", "onnx", "-o", str(out))
    parity = compare("onnxruntime", ref, onnx_greedy(str(out), tok))
    assert parity.exact, parity
    props = {p.key: p.value for p in onnx.load(str(out / "model.onnx"), load_external_data=False).metadata_props}
    assert props["halo_forge.source_model"] == spec and props["halo_forge.export_dtype"] == "f32"


def test_safetensors_of_a_lora_run_is_a_merged_plain_model(tiny_lora, run_cli, tmp_path):
    ref, _ = _reference(str(tiny_lora))
    out = tmp_path / "merged"
    _export(run_cli, "--model", str(tiny_lora), "--format", "safetensors", "-o", str(out))
    assert not (out / "adapter_config.json").exists() and (out / "model.safetensors").exists()
    meta = json.loads((out / "halo_forge_export.json").read_text())
    assert meta["adapter"] == str(tiny_lora) and meta["export_format"] == "safetensors"
    merged, tok = load_model(str(out), device="cpu", dtype="float32")
    assert compare("transformers", ref, hf_greedy(merged.eval(), tok)).exact


def test_bad_exports_fail_in_one_line_and_leave_nothing(tiny_model_dir, run_cli, tmp_path):
    existing = tmp_path / "taken.gguf"
    existing.write_text("keep me")
    code, _, err = run_cli("inference", "export", "--model", str(tiny_model_dir), "--format", "gguf", "-o", str(existing))
    assert code == 2 and "already exists (pass --force" in err and existing.read_text() == "keep me"
    code, _, err = run_cli("inference", "export", "--model", str(tiny_model_dir), "--format", "tflite", "-o", "x")
    assert code == 2 and "invalid choice: 'tflite'" in err
    code, _, err = run_cli("inference", "export", "--model", str(tiny_model_dir), "--format", "gguf", "--dtype",
                           "q3_k", "-o", str(tmp_path / "q.gguf"))
    assert code == 2 and "--dtype must be one of" in err
    orphan = tmp_path / "orphan"
    orphan.mkdir()
    (orphan / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tmp_path / "gone")}))
    code, _, err = run_cli("inference", "export", "--model", str(orphan), "--format", "gguf", "-o", str(tmp_path / "o.gguf"))
    assert code == 2 and "gone" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orphan", "taken.gguf"]  # no partial files


def test_unsupported_architecture_is_named(tiny_whisper_dir, run_cli, tmp_path):
    code, _, err = run_cli("inference", "export", "--model", str(tiny_whisper_dir), "--format", "gguf",
                           "-o", str(tmp_path / "w.gguf"))
    assert code == 2 and "whisper" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_embedded_smollm2_exports_match(run_cli, tmp_path):
    ref, tok = _reference("smollm2-135m-instruct")
    f16 = tmp_path / "s.gguf"
    _export(run_cli, "--model", "smollm2-135m-instruct", "--format", "gguf", "--dtype", "f16", "-o", str(f16))
    parity = compare("llama.cpp", ref, llama_cpp_greedy(str(f16)))
    assert parity.exact, parity
    q8 = tmp_path / "s_q8.gguf"
    _export(run_cli, "--model", "smollm2-135m-instruct", "--format", "gguf", "--dtype", "q8_0", "-o", str(q8))
    assert llama_cpp_forced_agreement(str(q8), ref) >= 0.95  # measured 0.969 (docs/performance.md)
    onnx_dir = tmp_path / "s_onnx"
    _export(run_cli, "--model", "smollm2-135m-instruct", "--format", "onnx", "-o", str(onnx_dir))
    assert compare("onnxruntime", ref, onnx_greedy(str(onnx_dir), tok)).exact


def test_inference_benchmark_prints_latency_rows(tiny_model_dir, run_cli, tmp_path):
    out = tmp_path / "lat.json"
    code, text, err = run_cli("inference", "benchmark", "--model", str(tiny_model_dir), "--runtime", "hf",
                              "--batch", "1,2", "--prompt-len", "8", "--new-tokens", "6", "-o", str(out))
    assert code == 0, err
    assert "TTFT ms" in text and "ITL p50 ms" in text
    rows = json.loads(out.read_text())["rows"]
    assert [r["batch"] for r in rows] == [1, 2]
    for r in rows:
        assert r["ttft_ms"] > 0 and r["itl_p50_ms"] <= r["itl_p99_ms"] and r["tokens_per_s"] > 0
        assert r["peak_memory_mb"] > 0
    code, _, err = run_cli("inference", "benchmark", "--model", str(tiny_model_dir), "--runtime", "onnx")
    assert code == 2 and "needs --path" in err
    code, _, err = run_cli("inference", "benchmark", "--model", str(tiny_model_dir), "--batch", "0")
    assert code == 2 and "batch sizes must be >= 1" in err


@pytest.fixture(scope="module")
def raft_final_models(tiny_model_dir, tmp_path_factory):
    """`final_model` of two real one-cycle RAFT runs on the tiny model: LoRA and full fine-tune."""
    from tests.test_raft import run_to_end, write_config

    out = {}
    for kind in ("lora", "full"):
        tmp = tmp_path_factory.mktemp(f"raft_{kind}")
        cfg = write_config(tmp, tiny_model_dir, tmp / "run")
        text = cfg.read_text().replace("cycles: 2", "cycles: 1")
        if kind == "full":
            text += "lora:\n  enabled: false\n"
        cfg.write_text(text)
        run_to_end(cfg)
        out[kind] = tmp / "run" / "final_model"
    assert (out["lora"] / "adapter_config.json").exists() and (out["full"] / "config.json").exists()
    return out


@pytest.mark.parametrize("kind", ["lora", "full"])
def test_raft_final_model_exports_to_every_format(kind, raft_final_models, run_cli, tmp_path):
    spec = str(raft_final_models[kind])
    ref, tok = _reference(spec)
    gguf = tmp_path / "m.gguf"
    _export(run_cli, "--model", spec, "--format", "gguf", "--dtype", "f32", "-o", str(gguf))
    assert compare("llama.cpp", ref, llama_cpp_greedy(str(gguf))).exact
    onnx_dir = tmp_path / "onnx"
    _export(run_cli, "--model", spec, "--format", "onnx", "-o", str(onnx_dir))
    assert compare("onnxruntime", ref, onnx_greedy(str(onnx_dir), tok)).exact
    plain = tmp_path / "plain"
    _export(run_cli, "--model", spec, "--format", "safetensors", "-o", str(plain))
    merged, mtok = load_model(str(plain), device="cpu", dtype="float32")
    assert compare("transformers", ref, hf_greedy(merged.eval(), mtok)).exact


@pytest.mark.parametrize("quant", ["int8", "int4"])
def test_optimize_writes_a_loadable_quantized_model(quant, tiny_lora, run_cli, tmp_path):
    out, figures = tmp_path / f"q_{quant}", tmp_path / "fig.json"
    code, text, err = run_cli("inference", "optimize", "--model", str(tiny_lora), "--quant", quant,
                              "-o", str(out), "--json", str(figures))
    assert code == 0, err
    assert "perplexity" in text and "greedy agreement" in text
    rows = json.loads(figures.read_text())["rows"]
    source, after = rows
    assert after["weight_memory_mb"] < source["weight_memory_mb"]  # int8 storage, even for int4 on a CPU (intx)
    assert after["perplexity"] > 0 and 0 < after["greedy_agreement"] <= 1
    meta = json.loads((out / "halo_forge_export.json").read_text())
    assert meta["quant"] == quant and meta["adapter"] == str(tiny_lora)
    model, tok = load_model(str(out), device="cpu")  # the project's loader, as benchmark run uses it
    q = model.model.layers[0].self_attn.q_proj.weight
    assert type(q).__module__.startswith("torchao")  # really quantized, not a float copy
    from halo_forge.generation import make_engine

    assert make_engine("auto", model, tok).name == "hf"  # native fuses plain weights only
    ids = tok("Say hi", return_tensors="pt")["input_ids"]
    assert model.generate(ids, max_new_tokens=4, do_sample=False).shape[1] == ids.shape[1] + 4


def test_optimize_bad_input_is_one_line(tiny_model_dir, run_cli, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    code, _, err = run_cli("inference", "optimize", "--model", str(tiny_model_dir), "--quant", "int8", "-o", str(taken))
    assert code == 2 and "already exists" in err
    code, _, err = run_cli("inference", "optimize", "--model", str(tiny_model_dir), "--quant", "int8",
                           "--method", "intx", "-o", str(tmp_path / "y"))
    assert code == 2 and "does not make int8" in err
    code, _, err = run_cli("inference", "optimize", "--model", str(tmp_path / "missing"), "--quant", "int8",
                           "-o", str(tmp_path / "z"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
