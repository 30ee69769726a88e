"""The decoder's weights in the layout a fast decode step wants, refreshed from the live model.

Why a copy at all: one decode step of a small model is dozens of tiny kernels per layer, and
their count, not their arithmetic, sets the speed. Fusing q/k/v into one matrix and gate/up into
another halves the projection launches. Why it is still "the live model": `refresh()` copies the
current weights (with any active LoRA adapter folded in through peft's own `get_delta_weight`)
into the same buffers before every generate() call — one device-to-device copy, so training
updates are seen without a reload, and captured CUDA graphs stay valid. Linear layers without an
active adapter (o_proj, down_proj) are used in place, not copied.
"""

from __future__ import annotations

from typing import Any

import torch


def _linear_parts(module: Any) -> tuple[torch.Tensor, list[Any]]:
    """(base weight, [(lora layer, adapter name), ...]) of a plain or peft-wrapped Linear."""
    if hasattr(module, "get_delta_weight") and hasattr(module, "base_layer"):
        adapters = [] if getattr(module, "disable_adapters", False) or getattr(module, "merged", False) else [
            (module, name) for name in module.active_adapters if name in getattr(module, "lora_A", {})]
        return module.get_base_layer().weight, adapters
    return module.weight, []


def _effective(module: Any) -> torch.Tensor:
    weight, adapters = _linear_parts(module)
    for layer, name in adapters:
        weight = weight + layer.get_delta_weight(name).to(weight.dtype)
    return weight


def _bias(module: Any) -> torch.Tensor | None:
    base = module.get_base_layer() if hasattr(module, "get_base_layer") else module
    return base.bias


class LayerWeights:
    """One layer's tensors. Modules are looked up again on every refresh, so adapters attached,
    enabled or disabled after the engine was made are seen (and never written into base weights)."""

    def __init__(self, layer: Any):
        self.layer = layer
        self._copies: dict[str, torch.Tensor] = {}
        self.refresh()

    def _buffer(self, name: str, parts: list[torch.Tensor]) -> torch.Tensor:
        """`parts` concatenated into this layer's own buffer `name`, kept at a stable address."""
        rows = sum(p.shape[0] for p in parts)
        buf = self._copies.get(name)
        if buf is None or buf.shape[0] != rows or buf.dtype != parts[0].dtype or buf.device != parts[0].device:
            buf = self._copies[name] = torch.empty((rows, *parts[0].shape[1:]), dtype=parts[0].dtype,
                                                   device=parts[0].device)
        return torch.cat(parts, out=buf)

    def _in_place_or_merged(self, name: str, module: Any) -> torch.Tensor:
        weight, adapters = _linear_parts(module)
        return self._buffer(name, [_effective(module)]) if adapters else weight

    def refresh(self) -> None:
        attn, mlp = self.layer.self_attn, self.layer.mlp
        self.qkv = self._buffer("qkv", [_effective(attn.q_proj), _effective(attn.k_proj), _effective(attn.v_proj)])
        biases = [_bias(attn.q_proj), _bias(attn.k_proj), _bias(attn.v_proj)]
        self.qkv_bias = self._buffer("qkv_bias", biases) if all(b is not None for b in biases) else None
        self.gate_up = self._buffer("gate_up", [_effective(mlp.gate_proj), _effective(mlp.up_proj)])
        self.o = self._in_place_or_merged("o", attn.o_proj)
        self.down = self._in_place_or_merged("down", mlp.down_proj)
        self.o_bias, self.down_bias = _bias(attn.o_proj), _bias(mlp.down_proj)
        self.ln1, self.ln2 = self.layer.input_layernorm, self.layer.post_attention_layernorm


class DecoderWeights:
    def __init__(self, lm: Any):
        self.lm = lm
        self.layers = [LayerWeights(layer) for layer in lm.model.layers]

    @torch.no_grad()
    def refresh(self) -> None:
        for layer in self.layers:
            layer.refresh()

    def signature(self) -> tuple[int, ...]:
        """Addresses of the tensors a captured graph reads."""
        out = [self.lm.model.embed_tokens.weight.data_ptr(), self.lm.lm_head.weight.data_ptr()]
        for w in self.layers:
            out += [w.qkv.data_ptr(), w.gate_up.data_ptr(), w.o.data_ptr(), w.down.data_ptr(),
                    w.ln1.weight.data_ptr(), w.ln2.weight.data_ptr()]
        return tuple(out)
