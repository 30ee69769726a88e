"""`halo-forge inference optimize`: weight-only int8 / int4 quantization with torchao, saved as a
transformers directory that `from_pretrained` (and so the project's loader and `benchmark run`)
loads back, then a before/after table: size on disk, weight memory, tokens/s, perplexity on a
bundled held-out split and greedy agreement with the source.

Why torchao: it is PyTorch's own quantization library, runs on CPU and CUDA, and transformers
loads and saves its tensors natively (`TorchAoConfig` is written into config.json), so a
quantized model is an ordinary model directory to every tool that follows. bitsandbytes is
CUDA-first, and GPTQ/AWQ need calibration runs and GPU kernels that a workstation may lack.

Methods:
- int8 `weight-only`: `Int8WeightOnlyConfig`, per-channel int8 weights, CPU and CUDA.
- int4 `intx`: `IntxWeightOnlyConfig`, int4 values per group of 32, CPU and CUDA. The values are
  stored unpacked in int8 (int4 quality, int8 size): torchao's packed int4 layouts need kernels
  its PyPI wheel does not carry here (`Int4WeightOnlyConfig` asks for the `mslk` package on an
  H200, seen 2026-11-30; the opaque CPU layout for its C++ ops). The table says so.
Embeddings and the (often tied) lm_head stay in the model's dtype: quantizing a tied head would
untie it and double its memory.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from halo_forge.errors import HaloForgeError

QUANTS = {"int8": ("weight-only",), "int4": ("intx",)}
GROUP_SIZE = 32


@dataclass
class ModelFigures:
    """One row of the before/after table."""

    label: str
    disk_mb: float
    weight_memory_mb: float
    tokens_per_s: float
    perplexity: float
    greedy_agreement: float | None = None  # teacher-forced top-1 agreement with the source's greedy tokens (8 x 16)


def pick_method(quant: str, method: str, device: str) -> str:
    if quant not in QUANTS:
        raise HaloForgeError(f"unknown --quant '{quant}' (known: {', '.join(QUANTS)})")
    methods = QUANTS[quant]
    if method == "auto":
        return methods[0]
    if method not in methods:
        raise HaloForgeError(f"--method '{method}' does not make {quant} (choose: auto, {', '.join(methods)})")
    return method


def torchao_config(method: str) -> Any:
    from halo_forge.export import require

    require("torchao", "export")
    import torch
    from torchao.quantization import Int8WeightOnlyConfig, IntxWeightOnlyConfig
    from torchao.quantization.granularity import PerGroup

    if method == "weight-only":
        return Int8WeightOnlyConfig()
    return IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(GROUP_SIZE))


def optimize_model(spec: str, quant: str, output: str | Path, method: str = "auto", device: str = "auto",
                   force: bool = False) -> tuple[Path, str]:
    """Quantize `spec` (LoRA merged first) into the directory `output`; returns (path, method used).
    Written under a temporary name beside the target and renamed at the end."""
    import torch
    from transformers import AutoModelForCausalLM, TorchAoConfig

    from halo_forge.export import _check_target, _replace, _write_safetensors, load_for_export
    from halo_forge.models.loader import pick_device

    out = Path(output)
    _check_target(out, force)
    dev = pick_device(device)
    method = pick_method(quant, method, dev)
    qconfig = TorchAoConfig(torchao_config(method), modules_to_not_convert=["lm_head"])
    model, tok, meta = load_for_export(spec)
    meta.update(export_format="torchao", quant=quant, quant_method=method, group_size=str(GROUP_SIZE),
                export_dtype="f32")
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        plain = work / "plain"
        _write_safetensors(model, tok, plain, dict(meta))
        del model
        meta["source_safetensors_mb"] = str(dir_size_mb(plain))  # the merged, unquantized checkpoint
        quantized = AutoModelForCausalLM.from_pretrained(plain, dtype=torch.float32, quantization_config=qconfig,
                                                         device_map=dev)
        partial = work / "partial"
        quantized.save_pretrained(partial, safe_serialization=False)
        tok.save_pretrained(partial)
        (partial / "halo_forge_export.json").write_text(json.dumps(meta, indent=2) + "\n")
        _replace(partial, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out, method


# -- the before/after table -----------------------------------------------------------------------
def dir_size_mb(path: str | Path) -> float:
    p = Path(path)
    files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()]
    return round(sum(f.stat().st_size for f in files) / 2**20, 1)


def heldout_texts(limit: int = 32) -> list[str]:
    """GSM8K test questions with their worked answers (bundled, never in a training pool here)."""
    from importlib.resources import files

    path = files("halo_forge.data.assets") / "gsm8k" / "test.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()[:limit]]
    return [f"Question: {r['question']}\nAnswer: {r['answer']}" for r in rows]


def perplexity(model: Any, tok: Any, texts: list[str]) -> float:
    import math

    import torch

    nll, count = 0.0, 0
    with torch.no_grad():
        for text in texts:
            ids = tok(text, return_tensors="pt")["input_ids"].to(model.device)
            loss = model(input_ids=ids, labels=ids).loss.float().item()
            nll += loss * (ids.shape[1] - 1)
            count += ids.shape[1] - 1
    return round(math.exp(nll / count), 3)


def tokens_per_s(model: Any, tok: Any, batch: int = 8, new: int = 32) -> float:
    from halo_forge.export.latency import _hf, _prompts

    prompts = _prompts(len(tok), batch, 64)
    _hf(model, prompts[:1], 2)  # warm-up
    _, _, total = _hf(model, prompts, new)
    return round(batch * new / total, 1)


def weight_memory_mb(model: Any) -> float:
    """Bytes held by parameters and buffers. `get_memory_footprint()` counts a torchao tensor at its
    logical (float) size; its real storage is the inner tensors it flattens into."""
    seen, total = set(), 0

    def add(t: Any) -> None:
        nonlocal total
        if hasattr(t, "__tensor_flatten__"):
            names, _ = t.__tensor_flatten__()
            for name in names:
                add(getattr(t, name))
        elif t.data_ptr() not in seen:  # tied weights once
            seen.add(t.data_ptr())
            total += t.numel() * t.element_size()

    for t in list(model.parameters()) + list(model.buffers()):
        add(t)
    return round(total / 2**20, 1)


def forced_agreement(model: Any, tok: Any, reference: tuple[list[list[int]], list[list[int]]]) -> float:
    """Share of the source's greedy tokens that the model also ranks first when fed the source's
    own prefix (teacher-forced): one early tie-break does not count against every later token."""
    import torch

    hits = total = 0
    with torch.no_grad():
        for prompt, gen in zip(*reference):
            ids = torch.tensor([prompt + gen], device=model.device)
            picks = model(input_ids=ids).logits[0, len(prompt) - 1:-1].argmax(-1).tolist()
            hits += sum(a == b for a, b in zip(picks, gen))
            total += len(gen)
    return round(hits / max(1, total), 3)


def measure(label: str, model: Any, tok: Any, disk_mb: float, reference=None) -> ModelFigures:
    model = model.eval()
    agreement = forced_agreement(model, tok, reference) if reference is not None else None
    return ModelFigures(label, disk_mb, weight_memory_mb(model), tokens_per_s(model, tok),
                        perplexity(model, tok, heldout_texts()), agreement)


def before_after(spec: str, output: Path, device: str = "auto") -> list[ModelFigures]:
    """The source (fp32, LoRA merged) and the quantized model measured the same way on one device."""
    from halo_forge.export import load_for_export
    from halo_forge.models.loader import load_model, pick_device

    dev = pick_device(device)
    model, tok, _ = load_for_export(spec)
    written = json.loads((output / "halo_forge_export.json").read_text())
    from halo_forge.export.parity import hf_greedy

    model = model.to(dev)
    reference = hf_greedy(model, tok)
    source = measure("source", model, tok, float(written.get("source_safetensors_mb", 0.0)))
    del model
    quantized, qtok = load_model(str(output), device=dev, dtype="auto")
    after = measure(output.name, quantized, qtok, dir_size_mb(output), reference)
    return [source, after]


def figures_json(rows: list[ModelFigures]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
