"""Triton kernels for the native engine's decode step on GPUs: attention and top-p sampling.

Why hand-written (profile of a batch-512 SmolLM2 step on an H100, docs/performance.md):
- attention was 41% of the step. SDPA pads each grouped-query block (3 heads) to a full tile,
  needs a boolean mask tensor per step, reads every slot's cache up to the span bucket, and the
  new key/value go into the cache by two separate index_put kernels. `decode_attention` is one
  kernel per (slot, kv head): it applies rotary to the query group and the new key straight from
  the projection's output (no separate rotary kernel), writes the new key/value into the cache,
  reads only the slot's own positions, and serves the whole query group from one read of the keys.
- top-p was a full 16-bit radix sort of 512 x 49,152 logits plus a cumulative sum (20%).
  `top_p_sample` finds the nucleus without sorting: the nucleus is every token whose logit is
  at least a threshold, and that threshold is found by a 4-way search over the logits' ordered
  bit patterns (8 passes for bfloat16 logits, 16 for float32; each pass weighs 3 thresholds;
  one more pass for max and normaliser, one for the draw), then one inverse-CDF draw over the
  kept tokens in vocabulary order. Exact categorical sampling from the same renormalised nucleus
  as HF's (tokens tied with the last one in are all kept: the set does not depend on an order).

Only imported where Triton and a GPU exist; everything else uses the PyTorch path in
decoder.py / sampling.py.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _rotary(x, xp, cos, sin, dims, D: tl.constexpr):
    """Half-split rotary embedding (transformers' Llama layout): x * cos + rotate_half(x) * sin,
    with xp = x's partner elements (d + D/2 mod D) loaded alongside."""
    sign = tl.where(dims < D // 2, -1.0, 1.0)
    return x.to(tl.float32) * cos + sign * xp.to(tl.float32) * sin


@triton.jit
def _decode_attention(qkv_ptr, cos_ptr, sin_ptr, k_cache, v_cache, pos_ptr, out_ptr, span, scale,
                      s_qkv, s_slot, s_head, s_pos,
                      N_HEADS: tl.constexpr, N_KV: tl.constexpr, REP: tl.constexpr, REP_PAD: tl.constexpr,
                      D: tl.constexpr, BLOCK_N: tl.constexpr, IEEE: tl.constexpr):
    b = tl.program_id(0)
    h = tl.program_id(1)
    pos = tl.load(pos_ptr + b)
    rows = tl.arange(0, REP_PAD)
    dims = tl.arange(0, D)
    partner = (dims + D // 2) % D
    live = rows < REP
    cos = tl.load(cos_ptr + b * D + dims)
    sin = tl.load(sin_ptr + b * D + dims)
    row = qkv_ptr + b * s_qkv
    q_rows = (h * REP + rows)[:, None] * D
    q = _rotary(tl.load(row + q_rows + dims[None, :], mask=live[:, None], other=0.0),
                tl.load(row + q_rows + partner[None, :], mask=live[:, None], other=0.0),
                cos[None, :], sin[None, :], dims[None, :], D).to(k_cache.dtype.element_ty)
    k_row = row + (N_HEADS + h) * D
    kn = _rotary(tl.load(k_row + dims), tl.load(k_row + partner), cos, sin, dims, D).to(k_cache.dtype.element_ty)
    vn = tl.load(row + (N_HEADS + N_KV + h) * D + dims).to(v_cache.dtype.element_ty)
    k_base = k_cache + b * s_slot + h * s_head
    v_base = v_cache + b * s_slot + h * s_head
    tl.store(k_base + pos * s_pos + dims, kn)
    tl.store(v_base + pos * s_pos + dims, vn)
    # Earlier positions come from the cache; the new one from registers (no read-after-write).
    n_ctx = tl.minimum(pos, span)
    m = tl.full([REP_PAD], float("-inf"), tl.float32)
    denom = tl.zeros([REP_PAD], tl.float32)
    acc = tl.zeros([REP_PAD, D], tl.float32)
    for start in range(0, n_ctx, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        inside = cols < n_ctx
        k = tl.load(k_base + cols[:, None] * s_pos + dims[None, :], mask=inside[:, None], other=0.0)
        if IEEE:
            s = tl.dot(q, tl.trans(k), input_precision="ieee") * scale
        else:
            s = tl.dot(q, tl.trans(k)) * scale
        s = tl.where(inside[None, :], s, float("-inf"))
        m_new = tl.maximum(m, tl.max(s, 1))
        alpha = tl.exp(m - m_new)
        p = tl.exp(s - m_new[:, None])
        denom = denom * alpha + tl.sum(p, 1)
        v = tl.load(v_base + cols[:, None] * s_pos + dims[None, :], mask=inside[:, None], other=0.0)
        if IEEE:
            acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision="ieee")
        else:
            acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m = m_new
    s_new = tl.sum(q.to(tl.float32) * kn.to(tl.float32)[None, :], 1) * scale
    m_new = tl.maximum(m, s_new)
    alpha = tl.exp(m - m_new)
    p_new = tl.exp(s_new - m_new)
    denom = denom * alpha + p_new
    acc = acc * alpha[:, None] + p_new[:, None] * vn.to(tl.float32)[None, :]
    out = acc / denom[:, None]
    tl.store(out_ptr + b * N_HEADS * D + (h * REP + rows)[:, None] * D + dims[None, :],
             out.to(out_ptr.dtype.element_ty), mask=live[:, None])


ATTENTION_CONFIG = dict(BLOCK_N=64, num_warps=4, num_stages=2)


def decode_attention(qkv: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, k_cache: torch.Tensor,
                     v_cache: torch.Tensor, pos: torch.Tensor, span: int, n_heads: int,
                     config: dict | None = None) -> torch.Tensor:
    """qkv [B, (H + 2 KV) * D]: the fused projection's output before rotary. cos/sin [B, D]
    (float32): each row's rotary at its position. Rotates q and the new key, writes the new
    key/value at `pos` [B] of k_cache/v_cache [B, KV, L, D] (slot b = row b), and attends to
    positions < min(pos, span) and the new one. Returns [B, H, D]."""
    B = qkv.shape[0]
    KV, D = k_cache.shape[1], k_cache.shape[-1]
    assert qkv.shape[-1] == (n_heads + 2 * KV) * D and qkv.stride(-1) == 1
    assert cos.is_contiguous() and sin.is_contiguous() and cos.dtype == torch.float32
    out = torch.empty((B, n_heads, D), dtype=qkv.dtype, device=qkv.device)
    cfg = config or ATTENTION_CONFIG
    rep = n_heads // KV
    _decode_attention[(B, KV)](
        qkv, cos, sin, k_cache, v_cache, pos, out, span, D ** -0.5, qkv.stride(0),
        k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        N_HEADS=n_heads, N_KV=KV, REP=rep, REP_PAD=max(16, triton.next_power_of_2(rep)), D=D,
        IEEE=qkv.dtype == torch.float32, **cfg)
    return out


@triton.jit
def _ordered_key(x, SHIFT: tl.constexpr, KEY: tl.constexpr):
    """float32 -> integer with the same order (sign-magnitude to two's complement), shifted
    right by SHIFT (16 for bfloat16 values, whose low 16 float32 bits are zero)."""
    bits = x.to(tl.int32, bitcast=True)
    return (tl.where(bits < 0, bits ^ 0x7FFFFFFF, bits) >> SHIFT).to(KEY)


@triton.jit
def _load_row(base, start, offs, V):
    return tl.load(base + start + offs, mask=start + offs < V, other=float("-inf")).to(tl.float32)


@triton.jit
def _softmax_stats(base, offs, V, inv_temp, BLOCK: tl.constexpr, STAGES: tl.constexpr):
    """pass 1: the largest logit and the normaliser together (online softmax, per lane).
    Loops accumulate per lane and reduce once at the end: a reduction inside a loop is a
    cross-warp barrier every iteration, which is what made a first version slow."""
    m = tl.full([BLOCK], float("-inf"), tl.float32)
    z = tl.zeros([BLOCK], tl.float32)
    for start in tl.range(0, V, BLOCK, num_stages=STAGES):
        x = _load_row(base, start, offs, V)
        m_new = tl.maximum(m, x)
        z = tl.where(m_new > float("-inf"), z * tl.exp((m - m_new) * inv_temp) + tl.exp((x - m_new) * inv_temp), 0.0)
        m = m_new
    top = tl.max(m, 0)
    total = tl.sum(tl.where(m > float("-inf"), z * tl.exp((m - top) * inv_temp), 0.0), 0)
    return top, total


@triton.jit
def _nucleus_threshold(base, offs, V, inv_temp, top, total, bound, BLOCK: tl.constexpr, SHIFT: tl.constexpr,
                       PASSES: tl.constexpr, KEY: tl.constexpr, STAGES: tl.constexpr):
    """t* = the smallest key t with mass(key >= t) <= bound lies in (lo, lo + 4 * width]; each
    pass weighs the three inner thresholds at once and narrows that range 4-fold. The nucleus
    is then every token with key >= t* - 1 (returned, with the nucleus's mass). Three 1-D
    accumulators, not a [block, k] tile: broadcasting a block against k thresholds made Triton
    shuffle layouts every iteration. KEY is int64 for float32 logits (no overflow at the top end)."""
    lo = tl.full([], -(1 << (31 - SHIFT)), KEY)  # at or below every key
    mass_lo = total  # mass(key >= lo): at the end, the nucleus's own mass
    for level in tl.static_range(PASSES):
        width = tl.full([], 1, KEY) << (2 * (PASSES - 1 - level))
        acc1 = tl.zeros([BLOCK], tl.float32)
        acc2 = tl.zeros([BLOCK], tl.float32)
        acc3 = tl.zeros([BLOCK], tl.float32)
        for start in tl.range(0, V, BLOCK, num_stages=STAGES):
            x = _load_row(base, start, offs, V)
            key = _ordered_key(x, SHIFT, KEY)
            p = tl.exp((x - top) * inv_temp)
            acc1 += tl.where(key >= lo + width, p, 0.0)
            acc2 += tl.where(key >= lo + 2 * width, p, 0.0)
            acc3 += tl.where(key >= lo + 3 * width, p, 0.0)
        m1 = tl.sum(acc1, 0)
        m2 = tl.sum(acc2, 0)
        m3 = tl.sum(acc3, 0)
        # the first quarter whose top end qualifies (the top end of the last one always does)
        first = tl.where(m1 <= bound, 0, tl.where(m2 <= bound, 1, tl.where(m3 <= bound, 2, 3)))
        mass_lo = tl.where(first == 1, m1, tl.where(first == 2, m2, tl.where(first == 3, m3, mass_lo)))
        lo = lo + first * width
    return lo, mass_lo


@triton.jit
def _draw(base, offs, V, inv_temp, top, keep_from, target, BLOCK: tl.constexpr, SHIFT: tl.constexpr,
          KEY: tl.constexpr, STAGES: tl.constexpr):
    """Last passes: the block where the kept mass crosses the target, then the token inside it."""
    run = tl.zeros([], tl.float32)
    hit_start = tl.zeros([], tl.int32) - 1
    hit_before = tl.zeros([], tl.float32)
    last_start = tl.zeros([], tl.int32)
    last_before = tl.zeros([], tl.float32)
    for start in tl.range(0, V, BLOCK, num_stages=STAGES):
        x = _load_row(base, start, offs, V)
        mass_b = tl.sum(tl.where(_ordered_key(x, SHIFT, KEY) >= keep_from, tl.exp((x - top) * inv_temp), 0.0), 0)
        found = (hit_start < 0) & (run + mass_b > target)
        hit_start = tl.where(found, start, hit_start)
        hit_before = tl.where(found, run, hit_before)
        last_start = tl.where(mass_b > 0, start, last_start)
        last_before = tl.where(mass_b > 0, run, last_before)
        run += mass_b
    missed = hit_start < 0  # rounding left the target past the end: the last kept token
    hit_start = tl.where(missed, last_start, hit_start)
    hit_before = tl.where(missed, last_before, hit_before)
    x = _load_row(base, hit_start, offs, V)
    inside = _ordered_key(x, SHIFT, KEY) >= keep_from
    cum = hit_before + tl.cumsum(tl.where(inside, tl.exp((x - top) * inv_temp), 0.0), 0)
    choice = tl.min(tl.where(inside & (cum > target), hit_start + offs, V), 0)
    return tl.where(choice >= V, tl.max(tl.where(inside, hit_start + offs, -1), 0), choice)


@triton.jit
def _top_p_sample(logits_ptr, stride, u_ptr, tok_ptr, lp_ptr, V, inv_temp, top_p,
                  BLOCK: tl.constexpr, SHIFT: tl.constexpr, PASSES: tl.constexpr,
                  KEY: tl.constexpr, STAGES: tl.constexpr):
    row = tl.program_id(0)
    base = logits_ptr + row * stride
    offs = tl.arange(0, BLOCK)
    top, total = _softmax_stats(base, offs, V, inv_temp, BLOCK, STAGES)
    keep_from, mass_lo = _nucleus_threshold(base, offs, V, inv_temp, top, total, top_p * total, BLOCK, SHIFT, PASSES,
                                            KEY, STAGES)
    target = tl.load(u_ptr + row) * mass_lo
    choice = _draw(base, offs, V, inv_temp, top, keep_from, target, BLOCK, SHIFT, KEY, STAGES)
    tl.store(tok_ptr + row, choice.to(tl.int64))
    x_c = tl.load(logits_ptr + row * stride + choice).to(tl.float32)
    tl.store(lp_ptr + row, (x_c - top) * inv_temp - tl.log(mass_lo))


TOP_P_CONFIG = dict(BLOCK=2048, STAGES=1, num_warps=8)


def top_p_sample(logits: torch.Tensor, u: torch.Tensor, temperature: float, top_p: float, config: dict | None = None):
    """Tokens [B] drawn from the temperature-scaled top-p nucleus of logits [B, V] (the whole
    vocabulary when top_p >= 1) with one uniform per row u [B], and their log-probabilities
    under the renormalised nucleus."""
    B, V = logits.shape
    tokens = torch.empty(B, dtype=torch.long, device=logits.device)
    logprobs = torch.empty(B, dtype=torch.float32, device=logits.device)
    half = logits.dtype == torch.bfloat16
    passes = 0 if top_p >= 1.0 else 8 if half else 16  # top_p = 1: no search, every token is kept
    _top_p_sample[(B,)](logits, logits.stride(0), u.float().contiguous(), tokens, logprobs, V, 1.0 / temperature,
                        top_p, SHIFT=16 if half else 0, PASSES=passes, KEY=tl.int32 if half else tl.int64,
                        **(config or TOP_P_CONFIG))
    return tokens, logprobs
