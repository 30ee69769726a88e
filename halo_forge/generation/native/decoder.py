"""The model side of the native engine: a static KV cache and token-wise forward passes.

Weights come from `DecoderWeights` (the live model's tensors, q/k/v and gate/up fused, LoRA
folded in); rotary tables come from the model's own rotary module, so RoPE scaling variants
behave as in transformers. A decode layer, compiled on GPUs, is 8 kernels: [residual add +
RMSNorm], q/k/v matmul, attention, o_proj matmul, [residual add + RMSNorm], gate/up matmul,
[SiLU x up], down matmul — the down projection's residual add waits for the next layer's norm.
On GPUs with Triton the attention kernel (kernels.py) also applies rotary and writes the new
key/value into the cache, and reads only each slot's own positions; elsewhere rotary, index_put
and SDPA with a mask over the span do that.

Cache layout is [layer, slot, kv_head, position, head_dim]: a decode step over every slot reads a
plain view of it, and grouped-query heads are folded into the batch (each kv head serves its
group of query heads as a short query block), so keys are never repeated.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch
import torch.nn.functional as F

from halo_forge.errors import UnsupportedModel
from halo_forge.generation.native.weights import DecoderWeights

log = logging.getLogger(__name__)


def load_kernels(device: torch.device) -> Any:
    """The Triton decode kernels (kernels.py) on CUDA/ROCm GPUs where Triton imports, else None.
    HALO_FORGE_NATIVE_KERNELS=0 turns them off (the PyTorch path, for comparison)."""
    if device.type != "cuda" or os.environ.get("HALO_FORGE_NATIVE_KERNELS") == "0":
        return None
    try:
        from halo_forge.generation.native import kernels
    except ImportError as exc:  # no Triton in this install: the PyTorch path still works
        log.info("native engine: Triton kernels unavailable (%s)", exc)
        return None
    return kernels


def base_model(model: Any) -> Any:
    """The Llama-family causal LM inside a possible PeftModel wrapper."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    body = getattr(inner, "model", None)
    ok = body is not None and hasattr(body, "layers") and hasattr(inner, "lm_head") and hasattr(body, "rotary_emb")
    if ok:
        layer = body.layers[0]
        ok = all(hasattr(layer.self_attn, n) for n in ("q_proj", "k_proj", "v_proj", "o_proj")) and all(
            hasattr(layer.mlp, n) for n in ("gate_proj", "up_proj", "down_proj"))
        ok = ok and getattr(inner.config, "hidden_act", "silu") == "silu"
    if not ok:
        raise UnsupportedModel(f"native engine supports Llama-family decoders, not {type(inner).__name__}")
    if getattr(inner.config, "quantization_config", None) is not None:  # torchao / bitsandbytes tensors
        raise UnsupportedModel("native engine fuses plain weight matrices; a quantized model runs on the hf engine")
    return inner


def generation_dtype(model: Any, requested: str = "auto") -> torch.dtype:
    """The precision to decode in. `auto`: bf16 when the model holds fp32 weights on a GPU that
    has bf16 (RAFT's fp32 training masters: a bf16 shadow decodes ~10x faster there), else the
    model's own dtype; any other value is taken as asked (`float32` keeps fp32 generation)."""
    if requested != "auto":
        return getattr(torch, requested)
    p = next(model.parameters())
    if p.dtype == torch.float32 and p.device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return p.dtype


def slot_bucket(wanted: int, cap: int) -> int:
    """How many KV-cache slots to allocate for `wanted` rows when memory allows `cap`: a power of two up to
    64, a multiple of 64 above, never more than `cap` (nor fewer than 1).

    Why: each slot count is a new shape for the compiled decode step, so a count taken straight from free
    memory or from the request size (30 validation prompts, 257 held-out, 512 rollout rows, a variable number
    of unsolved-prompt extras, three runs sharing a GPU) recompiled it every call until torch.compile's
    recompile limit made the engine fall back to eager decoding for the rest of the run (Qwen MBPP RAFT,
    2026-12-06: 24k instead of ~60k tok/s). A few buckets keep the shapes few; a slot or two more than asked
    costs little in a memory-bound decode step."""
    n = max(1, min(wanted, cap))
    up = 1 << (n - 1).bit_length() if n <= 64 else -(-n // 64) * 64
    if up <= cap:
        return up
    return 1 << (cap.bit_length() - 1) if cap <= 64 else cap // 64 * 64


def _eps(norm: Any) -> float:
    return float(getattr(norm, "variance_epsilon", None) or getattr(norm, "eps", 1e-6))


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding, half-split layout (as transformers' Llama): x [..., heads, D], cos/sin [..., 1, D]."""
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), -1) * sin


def enter(h, delta, ln_w, eps: float, qkv_w, qkv_b):
    """A layer's start: the previous layer's MLP output `delta` is added to the residual stream
    here (None for the first layer), so the add fuses with this layer's norm; then the fused
    q/k/v projection. Returns (residual stream, qkv [B, T, (H + 2 KV) * D])."""
    if delta is not None:
        h = h + delta
    return h, F.linear(F.rms_norm(h, (h.shape[-1],), ln_w, eps), qkv_w, qkv_b)


def split_rotate(qkv, cos, sin, n_heads: int, n_kv: int):
    """qkv [B, T, (H + 2 KV) * D] -> q [B, T, H, D], k and v [B, T, KV, D], rotary on q and k."""
    B, T, _ = qkv.shape
    qkv = qkv.view(B, T, n_heads + 2 * n_kv, -1)
    qk = _rotate(qkv[:, :, : n_heads + n_kv], cos, sin)
    return qk[:, :, :n_heads], qk[:, :, n_heads:], qkv[:, :, n_heads + n_kv:]


def mlp(h, o, o_w, o_b, ln_w, eps: float, gate_up_w, down_w, down_b):
    """o_proj + residual, norm, SwiGLU MLP. Returns (residual stream, MLP output): the MLP's
    residual add is left to the next layer's `enter` (or the final norm), where it fuses with a
    norm — an add of its own would be one more kernel per layer."""
    h = h + F.linear(o, o_w, o_b)
    gate, up = F.linear(F.rms_norm(h, (h.shape[-1],), ln_w, eps), gate_up_w).chunk(2, -1)
    return h, F.linear(F.silu(gate) * up, down_w, down_b)


class _Steps:
    """The three per-layer functions, plain or compiled."""

    def __init__(self, compile_fn=None):
        wrap = compile_fn or (lambda f: f)
        self.enter, self.split_rotate, self.mlp = wrap(enter), wrap(split_rotate), wrap(mlp)


class LlamaDecoder:
    """`dtype`: the precision to decode in; another than the model's makes a cast shadow of the
    weights (weights.py), e.g. bf16 generation from an fp32 training copy."""

    def __init__(self, model: Any, kernels: bool | None = None, dtype: torch.dtype | None = None):
        self.lm = base_model(model)
        cfg = self.lm.config
        self.n_layers = len(self.lm.model.layers)
        self.n_heads = cfg.num_attention_heads
        self.n_kv = cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        p = next(self.lm.parameters())
        self.device, self.dtype, self.source_dtype = p.device, dtype or p.dtype, p.dtype
        self.kernels = load_kernels(self.device) if kernels is not False else None
        with torch.no_grad():
            self.w = DecoderWeights(self.lm, None if self.dtype == p.dtype else self.dtype)
        self.eager = _Steps()
        self.compiled: _Steps | None = None
        self.rope_table: tuple[torch.Tensor, torch.Tensor] | None = None  # float32 cos, sin [length, D]
        self.cache: torch.Tensor | None = None  # [layer, 2 (k, v), slot, kv_head, position, head_dim]

    def bytes_per_slot(self, length: int) -> int:
        return 2 * self.n_layers * self.n_kv * length * self.head_dim * torch.finfo(self.dtype).bits // 8

    def allocate(self, slots: int, length: int) -> None:
        shape = (self.n_layers, 2, slots, self.n_kv, length, self.head_dim)
        if self.cache is None or self.cache.shape != shape:
            self.cache = None  # free the old cache before the new one
            self.cache = torch.zeros(shape, dtype=self.dtype, device=self.device)

    def _enter(self, li: int, h: torch.Tensor, delta: torch.Tensor | None, steps: _Steps):
        w = self.w.layers[li]
        return steps.enter(h, delta, w.ln1_w, _eps(w.ln1), w.qkv, w.qkv_bias)

    def _mlp(self, li: int, h: torch.Tensor, o: torch.Tensor, steps: _Steps):
        """o: attention output [B, T, H * D] -> (residual stream, MLP output)."""
        w = self.w.layers[li]
        return steps.mlp(h, o, w.o, w.o_bias, w.ln2_w, _eps(w.ln2), w.gate_up, w.down, w.down_bias)

    def compile_decode(self) -> None:
        """Fuse each layer's small element-wise kernels (residual adds with norms, rotary, SiLU x
        up) with torch.compile. The functions take weights as arguments, so one compiled artifact
        serves every layer; the cache write and attention stay eager (in-place on the cache)."""
        import torch._dynamo

        # each slot bucket (slot_bucket) and the first layer's delta=None are shapes of their own; the
        # default limit of 8 made a long run fall back to eager decoding once it had seen a few of them
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
        self.compiled = _Steps(lambda f: torch.compile(f, dynamic=False, fullgraph=True))

    def _rotary(self, h: torch.Tensor, pos: torch.Tensor):
        cos, sin = self.lm.model.rotary_emb(h, pos)
        return cos.unsqueeze(2), sin.unsqueeze(2)  # [B, T, 1, D]: broadcast over heads

    def _rope_rows(self, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """float32 cos/sin [B, D] at each row's position: from a table made once per cache size
        (the model's own rotary module over every position), or computed per step for RoPE types
        whose tables depend on the sequence length (dynamic NTK, longrope)."""
        rope = self.lm.model.rotary_emb
        probe = torch.zeros(1, device=self.device, dtype=torch.float32)
        if getattr(rope, "rope_type", "default") in ("dynamic", "longrope"):
            cos, sin = rope(probe, pos[:, None])
            return cos[:, 0].contiguous(), sin[:, 0].contiguous()
        length = self.cache.shape[4]
        if self.rope_table is None or self.rope_table[0].shape[0] != length:
            cos, sin = rope(probe, torch.arange(length, device=self.device)[None])
            self.rope_table = (cos[0].contiguous(), sin[0].contiguous())
        return self.rope_table[0][pos], self.rope_table[1][pos]

    def prefill(self, ids: torch.Tensor, lengths: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
        """Right-padded prompts ids [P, T] written into cache `slots` [P] at positions 0..T-1.
        Returns the logits after each prompt's last real token, [P, vocab]."""
        P, T = ids.shape
        pos = torch.arange(T, device=ids.device)[None].expand(P, T)
        h = F.embedding(ids, self.w.embed)
        cos, sin = self._rotary(h, pos)
        delta = None
        for li in range(self.n_layers):
            h, qkv = self._enter(li, h, delta, self.eager)
            q, k, v = split_rotate(qkv, cos, sin, self.n_heads, self.n_kv)
            self.cache[li, 0][slots[:, None], :, pos] = k.to(self.dtype)
            self.cache[li, 1][slots[:, None], :, pos] = v.to(self.dtype)
            o = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                               is_causal=True, enable_gqa=True)
            h, delta = self._mlp(li, h, o.transpose(1, 2).reshape(P, T, -1), self.eager)
        rows = torch.arange(P, device=ids.device)
        last = h[rows, lengths - 1] + delta[rows, lengths - 1]
        return self._logits(last)

    def decode(self, ids: torch.Tensor, pos: torch.Tensor, slots: torch.Tensor | None, span: int) -> torch.Tensor:
        """One token per row: ids, pos [B]. Rows are cache slots `slots` [B], or every slot in order
        when None (the CUDA-graph path: a view, no gather). Attends to positions < span that are
        <= the row's own position. Returns logits [B, vocab]."""
        B = ids.shape[0]
        h = F.embedding(ids[:, None], self.w.embed)
        cos, sin = self._rope_rows(pos)
        steps = self.compiled if (self.compiled and slots is None) else self.eager
        fused = self.kernels is not None and slots is None  # rotary, cache write and attention in one kernel
        if not fused:
            attend = self._attend_sdpa(B, pos, slots, span)
            cos, sin = (t.to(self.dtype)[:, None, None, :] for t in (cos, sin))  # as transformers rounds them
        delta = None
        for li in range(self.n_layers):
            h, qkv = self._enter(li, h, delta, steps)  # qkv [B, 1, (H + 2 KV) * D]
            if fused:
                cache = self.cache[li]
                o = self.kernels.decode_attention(qkv[:, 0], cos, sin, cache[0], cache[1], pos, span, self.n_heads)
            else:
                q, k, v = steps.split_rotate(qkv, cos, sin, self.n_heads, self.n_kv)
                o = attend(li, q[:, 0], k[:, 0].to(self.dtype), v[:, 0].to(self.dtype), pos, span)
            h, delta = self._mlp(li, h, o.reshape(B, 1, self.n_heads * self.head_dim), steps)
        return self._logits(h + delta)[:, 0]

    def _logits(self, h: torch.Tensor) -> torch.Tensor:
        norm = self.lm.model.norm
        return F.linear(F.rms_norm(h, (h.shape[-1],), self.w.norm_w, _eps(norm)), self.w.lm_head)

    def _attend_sdpa(self, B: int, pos: torch.Tensor, slots: torch.Tensor | None, span: int):
        """PyTorch path: index_put the new k/v, SDPA over the span with a per-row mask."""
        rows = torch.arange(B, device=pos.device) if slots is None else slots
        rep = self.n_heads // self.n_kv
        visible = torch.arange(span, device=pos.device)[None, :] <= pos[:, None]
        visible = visible.repeat_interleave(self.n_kv, 0)[:, None, None, :]  # [B * KV, 1, 1, span]
        kv_shape = (B * self.n_kv, 1, span, self.head_dim)

        def attend(li, q, k, v, pos, span):
            cache = self.cache[li]
            cache[0][rows, :, pos] = k
            cache[1][rows, :, pos] = v
            keys = cache[0][:, :, :span] if slots is None else cache[0][slots, :, :span]
            vals = cache[1][:, :, :span] if slots is None else cache[1][slots, :, :span]
            return F.scaled_dot_product_attention(q.reshape(B * self.n_kv, 1, rep, self.head_dim),
                                                  keys.reshape(kv_shape), vals.reshape(kv_shape), attn_mask=visible)

        return attend

    def copy_prefix(self, src: int, dst: torch.Tensor, length: int) -> None:
        """Share a prefilled prompt: copy slot src's first `length` positions into slots dst."""
        self.cache[:, :, dst, :, :length] = self.cache[:, :, src : src + 1, :, :length]
