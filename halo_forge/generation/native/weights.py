"""The decoder's weights in the layout a fast decode step wants, refreshed from the live model.

Why a copy at all: one decode step of a small model is dozens of tiny kernels per layer, and
their count, not their arithmetic, sets the speed. Fusing q/k/v into one matrix and gate/up into
another halves the projection launches. Why it is still "the live model": `refresh()` copies the
current weights (with any active LoRA adapter folded in through peft's own `get_delta_weight`)
into the same buffers before every generate() call — one device-to-device copy, so training
updates are seen without a reload, and captured CUDA graphs stay valid. Linear layers without an
active adapter (o_proj, down_proj) are used in place, not copied.

A `dtype` other than the model's (bf16 generation from fp32 training masters) makes every tensor
the decoder reads a cast copy — the "shadow" — refreshed the same way: ~2 bytes per parameter
of extra memory buys the bf16 decode speed while the optimizer keeps fp32 weights.
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


class _Buffers:
    """Tensors kept at stable addresses (captured CUDA graphs read them), in the decoder's dtype."""

    def __init__(self, dtype: torch.dtype | None):
        self.dtype = dtype
        self._copies: dict[str, torch.Tensor] = {}

    def buffer(self, name: str, parts: list[torch.Tensor]) -> torch.Tensor:
        """`parts` concatenated (and cast) into the buffer `name`."""
        rows = sum(p.shape[0] for p in parts)
        dtype = self.dtype or parts[0].dtype
        buf = self._copies.get(name)
        if buf is None or buf.shape[0] != rows or buf.dtype != dtype or buf.device != parts[0].device:
            buf = self._copies[name] = torch.empty((rows, *parts[0].shape[1:]), dtype=dtype, device=parts[0].device)
        if all(p.dtype == dtype for p in parts):
            return torch.cat(parts, out=buf)
        offset = 0
        for p in parts:
            buf[offset:offset + p.shape[0]].copy_(p)
            offset += p.shape[0]
        return buf

    def in_place_or_copy(self, name: str, tensor: torch.Tensor | None) -> torch.Tensor | None:
        """The model's own tensor when no cast is needed, else a cast copy."""
        if tensor is None or self.dtype is None or tensor.dtype == self.dtype:
            return tensor
        return self.buffer(name, [tensor])


class LayerWeights:
    """One layer's tensors. Modules are looked up again on every refresh, so adapters attached,
    enabled or disabled after the engine was made are seen (and never written into base weights)."""

    def __init__(self, layer: Any, dtype: torch.dtype | None = None):
        self.layer = layer
        self.b = _Buffers(dtype)
        self.refresh()

    def _in_place_or_merged(self, name: str, module: Any) -> torch.Tensor:
        weight, adapters = _linear_parts(module)
        return self.b.buffer(name, [_effective(module)]) if adapters else self.b.in_place_or_copy(name, weight)

    def refresh(self) -> None:
        attn, mlp, b = self.layer.self_attn, self.layer.mlp, self.b
        self.qkv = b.buffer("qkv", [_effective(attn.q_proj), _effective(attn.k_proj), _effective(attn.v_proj)])
        biases = [_bias(attn.q_proj), _bias(attn.k_proj), _bias(attn.v_proj)]
        self.qkv_bias = b.buffer("qkv_bias", biases) if all(x is not None for x in biases) else None
        self.gate_up = b.buffer("gate_up", [_effective(mlp.gate_proj), _effective(mlp.up_proj)])
        self.o = self._in_place_or_merged("o", attn.o_proj)
        self.down = self._in_place_or_merged("down", mlp.down_proj)
        self.o_bias = b.in_place_or_copy("o_bias", _bias(attn.o_proj))
        self.down_bias = b.in_place_or_copy("down_bias", _bias(mlp.down_proj))
        self.ln1, self.ln2 = self.layer.input_layernorm, self.layer.post_attention_layernorm
        self.ln1_w = b.in_place_or_copy("ln1", self.ln1.weight)
        self.ln2_w = b.in_place_or_copy("ln2", self.ln2.weight)


class DecoderWeights:
    """Every tensor a decode step reads; `dtype` None: the model's own dtype (no shadow)."""

    def __init__(self, lm: Any, dtype: torch.dtype | None = None):
        self.lm = lm
        self.b = _Buffers(dtype)
        self.layers = [LayerWeights(layer, dtype) for layer in lm.model.layers]
        self._refresh_ends()

    def _refresh_ends(self) -> None:
        embed, head = self.lm.model.embed_tokens.weight, self.lm.lm_head.weight
        self.embed = self.b.in_place_or_copy("embed", embed)
        self.lm_head = self.embed if head is embed else self.b.in_place_or_copy("lm_head", head)  # tied: one copy
        self.norm_w = self.b.in_place_or_copy("norm", self.lm.model.norm.weight)

    @torch.no_grad()
    def refresh(self) -> None:
        for layer in self.layers:
            layer.refresh()
        self._refresh_ends()

    def signature(self) -> tuple[int, ...]:
        """Addresses of the tensors a captured graph reads."""
        out = [self.embed.data_ptr(), self.lm_head.data_ptr(), self.norm_w.data_ptr()]
        for w in self.layers:
            out += [w.qkv.data_ptr(), w.gate_up.data_ptr(), w.o.data_ptr(), w.down.data_ptr(),
                    w.ln1_w.data_ptr(), w.ln2_w.data_ptr()]
        return tuple(out)
