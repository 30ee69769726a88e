"""`halo-forge inference export`: a trained model (a directory, a LoRA adapter — merged first —,
a GGUF, or the embedded alias) to GGUF, ONNX or a plain merged safetensors directory.

Every format is written under a temporary name beside the target and renamed at the end, so a
failed export leaves nothing half-written; an existing target is refused unless `force`.
Provenance (source model, adapter, halo-forge version, export dtype) goes into the file's own
metadata: GGUF key/values, ONNX metadata_props, a JSON beside the safetensors.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from halo_forge.errors import HaloForgeError, require  # noqa: F401  (require: used as halo_forge.export.require)

FORMATS = ("gguf", "onnx", "safetensors")


def load_for_export(spec: str) -> tuple[Any, Any, dict[str, str]]:
    """fp32 on the CPU, LoRA merged into the base weights; returns (model, tokenizer, provenance)."""
    from halo_forge import __version__
    from halo_forge.models.loader import load_model, resolve_model

    src = resolve_model(spec)
    model, tok = load_model(spec, device="cpu", dtype="float32")
    meta = {"source_model": spec, "halo_forge_version": __version__}
    if src.kind == "adapter":
        meta.update(adapter=src.path, base_model=src.base or "")
        model = model.merge_and_unload()
    return model.eval(), tok, meta


def _check_target(output: Path, force: bool) -> None:
    if output.exists() and not force:
        raise HaloForgeError(f"{output} already exists (pass --force to replace it)")
    if not output.parent.exists():
        raise HaloForgeError(f"{output.parent}: output folder does not exist")


def _replace(tmp: Path, output: Path) -> None:
    if output.is_dir() and not output.is_symlink():
        shutil.rmtree(output)
    os.replace(tmp, output)


SAFETENSORS_DTYPES = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}


def _write_safetensors(model: Any, tok: Any, tmp: Path, meta: dict[str, str]) -> None:
    import torch

    dtype = meta["export_dtype"]
    if dtype not in SAFETENSORS_DTYPES:
        raise HaloForgeError(f"safetensors export: --dtype must be one of {', '.join(SAFETENSORS_DTYPES)} "
                             f"(got '{dtype}'); quantize with `inference optimize`")
    model = model.to(getattr(torch, SAFETENSORS_DTYPES[dtype]))
    tmp.mkdir()
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    (tmp / "halo_forge_export.json").write_text(json.dumps(meta, indent=2) + "\n")


def export_model(spec: str, fmt: str, output: str | Path, dtype: str = "f16", force: bool = False) -> Path:
    """Write `spec` as `fmt` at `output`; returns the path written."""
    if fmt not in FORMATS:
        raise HaloForgeError(f"unknown export format '{fmt}' (known: {', '.join(FORMATS)})")
    out = Path(output)
    _check_target(out, force)
    model, tok, meta = load_for_export(spec)
    meta["export_dtype"] = dtype
    meta["export_format"] = fmt
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent)) / "partial"
    try:
        if fmt == "gguf":
            from halo_forge.export.gguf_file import write_gguf

            write_gguf(model, tok, tmp, dtype, meta)
        elif fmt == "onnx":
            from halo_forge.export.onnx_file import write_onnx

            write_onnx(model, tok, tmp, dtype, meta)
        else:
            _write_safetensors(model, tok, tmp, meta)
        _replace(tmp, out)
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)
    return out
