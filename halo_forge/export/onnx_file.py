"""ONNX export of a causal LM as one decoder step with explicit KV-cache inputs and outputs, so a
runtime generates incrementally (prefill once, then one token per call) instead of re-running
the whole prefix.

Exporter: PyTorch's own `torch.onnx.export` (the torch.export-based one, `dynamo=True`). Why not
optimum-onnx: its releases pin transformers 4.x, and halo-forge runs on transformers 5; the
PyTorch exporter follows the installed torch and needs only onnxscript. The step is a small
wrapper (below) whose inputs are plain tensors — input_ids, attention_mask, position_ids, and
past keys/values stacked per layer — so the graph has no Python cache objects at its edges.

Graph I/O (B = batch, S = new tokens, P = past length, L = layers, H = kv heads, D = head dim):
  inputs:  input_ids [B,S] int64, attention_mask [B,P+S] int64, position_ids [B,S] int64,
           past_keys [L,B,H,P,D] float, past_values [L,B,H,P,D] float
  outputs: logits [B,S,V] float, present_keys [L,B,H,P+S,D], present_values [L,B,H,P+S,D]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from halo_forge.errors import HaloForgeError
from halo_forge.export import require

ONNX_DTYPES = ("f32",)


def _step_module(model: Any):
    import torch
    from transformers import DynamicCache

    class DecoderStep(torch.nn.Module):
        def __init__(self, lm):
            super().__init__()
            self.lm = lm
            self.layers = lm.config.num_hidden_layers

        def forward(self, input_ids, attention_mask, position_ids, past_keys, past_values):
            cache = DynamicCache()
            for i in range(self.layers):
                cache.update(past_keys[i], past_values[i], i)
            out = self.lm(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                          past_key_values=cache, use_cache=True)
            keys = torch.stack([layer.keys for layer in out.past_key_values.layers])
            values = torch.stack([layer.values for layer in out.past_key_values.layers])
            return out.logits, keys, values

    return DecoderStep(model)


def cache_shape(cfg: Any, batch: int, past: int) -> tuple[int, ...]:
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    return (cfg.num_hidden_layers, batch, cfg.num_key_value_heads, past, head_dim)


def write_onnx(model: Any, tok: Any, path: Path, dtype: str, metadata: dict[str, str]) -> None:
    import torch

    onnx = require("onnx", "export")
    require("onnxscript", "export")

    if dtype not in ONNX_DTYPES:
        raise HaloForgeError(f"ONNX export writes {', '.join(ONNX_DTYPES)} (got --dtype {dtype}); "
                             f"quantize with `inference optimize`")
    cfg = model.config
    if cfg.model_type not in ("llama", "qwen2"):
        raise HaloForgeError(f"ONNX export supports llama and qwen2 models; this one is '{cfg.model_type}'")
    model.config._attn_implementation = "eager"  # sdpa's mask path does not export as a plain graph
    step = _step_module(model).eval()
    b, s, p = 2, 3, 4
    args = (torch.ones(b, s, dtype=torch.long), torch.ones(b, p + s, dtype=torch.long),
            torch.arange(p, p + s).repeat(b, 1), torch.zeros(cache_shape(cfg, b, p)), torch.zeros(cache_shape(cfg, b, p)))
    auto = torch.export.Dim.AUTO  # torch.export infers how the sizes relate (mask length = past + new)
    dims = {"input_ids": {0: auto, 1: auto}, "attention_mask": {0: auto, 1: auto}, "position_ids": {0: auto, 1: auto},
            "past_keys": {1: auto, 3: auto}, "past_values": {1: auto, 3: auto}}
    path.mkdir()
    target = path / "model.onnx"
    with torch.no_grad():
        torch.onnx.export(step, args, str(target), dynamo=True, dynamic_shapes=dims, external_data=True,
                          input_names=list(dims), output_names=["logits", "present_keys", "present_values"])
    m = onnx.load(str(target), load_external_data=False)
    for k, v in metadata.items():
        m.metadata_props.add(key=f"halo_forge.{k}", value=str(v))
    onnx.save(m, str(target), save_as_external_data=False) if not (path / "model.onnx.data").exists() else \
        _save_keeping_external(m, target)
    tok.save_pretrained(path)
    model.config.save_pretrained(path)


def _save_keeping_external(m: Any, target: Path) -> None:
    """Rewrite only the graph file; the weights stay in model.onnx.data next to it."""
    target.write_bytes(m.SerializeToString())


class OnnxDecoder:
    """Incremental greedy decoding with ONNX Runtime over the step graph above: one prefill call,
    then one call per token with the returned cache (the tiny runner behind `--runtime onnx`)."""

    def __init__(self, directory: str | Path, threads: int | None = None):
        from transformers import AutoConfig

        ort = require("onnxruntime", "export")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(Path(directory) / "model.onnx"), opts,
                                            providers=["CPUExecutionProvider"])
        self.config = AutoConfig.from_pretrained(str(directory))

    def step(self, ids, mask, positions, keys, values):
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask, "position_ids": positions,
                                       "past_keys": keys, "past_values": values})

    def greedy(self, prompt_ids: list[list[int]], new_tokens: int) -> list[list[int]]:
        """Left-padded batch of prompts; returns the new tokens of each."""
        import numpy as np

        b, longest = len(prompt_ids), max(len(p) for p in prompt_ids)
        ids = np.zeros((b, longest), dtype=np.int64)
        mask = np.zeros((b, longest), dtype=np.int64)
        for i, p in enumerate(prompt_ids):
            ids[i, longest - len(p):], mask[i, longest - len(p):] = p, 1
        positions = np.clip(np.cumsum(mask, axis=1) - 1, 0, None)
        empty = np.zeros(cache_shape(self.config, b, 0), dtype=np.float32)
        logits, keys, values = self.step(ids, mask, positions, empty, empty)
        out = [[] for _ in range(b)]
        for _ in range(new_tokens):
            nxt = logits[:, -1, :].argmax(axis=-1)
            for i, t in enumerate(nxt):
                out[i].append(int(t))
            mask = np.concatenate([mask, np.ones((b, 1), dtype=np.int64)], axis=1)
            positions = positions[:, -1:] + 1
            logits, keys, values = self.step(nxt[:, None].astype(np.int64), mask, positions, keys, values)
        return out
