"""Checks of the native engine's Triton kernels against PyTorch references, for Triton's CPU
interpreter. Run as a separate process by test_native_kernels.py: TRITON_INTERPRET must be set
before Triton is imported, and Triton's interpreter leaves process state behind that changed
later CPU generations in the same test session.
"""

import os
import sys

import torch


def rotary_reference(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """transformers' rotate_half rotary: x [B, heads, D], cos/sin [B, D]."""
    half = x.shape[-1] // 2
    return x * cos[:, None] + torch.cat((-x[..., half:], x[..., :half]), -1) * sin[:, None]


def attention_reference(qkv, cos, sin, kc, vc, pos, n_heads):
    """Rotary, the cache write and masked SDPA in PyTorch (float32): (out, k cache, v cache)."""
    B, KV, L, D = kc.shape
    heads = qkv.float().view(B, n_heads + 2 * KV, D)
    q = rotary_reference(heads[:, :n_heads], cos, sin)
    kn = rotary_reference(heads[:, n_heads:n_heads + KV], cos, sin).to(kc.dtype)
    kc, vc = kc.clone(), vc.clone()
    rows = torch.arange(B, device=kc.device)
    kc[rows, :, pos], vc[rows, :, pos] = kn, heads[:, n_heads + KV:].to(vc.dtype)
    visible = (torch.arange(L, device=kc.device)[None] <= pos[:, None])[:, None, None, :]
    rep = n_heads // KV
    out = torch.nn.functional.scaled_dot_product_attention(
        q[:, :, None], kc.float().repeat_interleave(rep, 1), vc.float().repeat_interleave(rep, 1), attn_mask=visible)
    return out[:, :, 0], kc, vc


def check_decode_attention(kernels):
    torch.manual_seed(0)
    B, H, KV, D, L, span = 3, 6, 2, 16, 40, 32
    qkv = torch.randn(B, (H + 2 * KV) * D)
    angle = torch.rand(B, D // 2) * 6.3
    cos, sin = torch.cat((angle, angle), -1).cos(), torch.cat((angle, angle), -1).sin()
    kc, vc = torch.randn(B, KV, L, D), torch.randn(B, KV, L, D)
    pos = torch.tensor([0, 7, 30])
    kc2, vc2 = kc.clone(), vc.clone()
    out = kernels.decode_attention(qkv, cos, sin, kc2, vc2, pos, span, H)
    ref, kc, vc = attention_reference(qkv, cos, sin, kc, vc, pos, H)
    # the rotated key and the value land at pos, nothing else moves
    assert torch.allclose(kc2, kc, atol=1e-6) and torch.equal(vc2, vc)
    assert torch.allclose(out, ref, atol=1e-5)


def _nucleus(logits: torch.Tensor, temperature: float, top_p: float):
    """Reference top-p set: a token is in when the mass strictly above it is <= top_p."""
    p = (logits.double() / temperature).softmax(-1)
    above = torch.stack([(p * (p > p[:, i:i + 1])).sum(-1) for i in range(p.shape[1])], -1)
    return p, above <= top_p


def check_top_p_sample(kernels, dtype):
    torch.manual_seed(1)
    V, draws = 300, 32
    logits = (torch.randn(3, V) * 3).to(dtype)
    logits[1] = logits[1, 0]  # every token tied
    logits[2, 5] = float("-inf")
    u = (torch.arange(draws, dtype=torch.float64) + 0.5) / draws  # a stratified grid of uniforms per row
    tok, lp = kernels.top_p_sample(logits.repeat_interleave(draws, 0), u.repeat(3), 0.7, 0.9)
    p, keep = _nucleus(logits, 0.7, 0.9)
    assert keep.sum(-1).tolist()[1] == V
    for r in range(3):
        kept = torch.where(keep[r], p[r], 0.0)
        cdf = kept.cumsum(0) / kept.sum()
        expected = torch.searchsorted(cdf, u, right=True)  # inverse CDF in vocabulary order
        got = tok[r * draws:(r + 1) * draws]
        assert torch.equal(got, expected), r
        assert torch.allclose(lp[r * draws:(r + 1) * draws].double(), (kept[got] / kept.sum()).log(), atol=1e-4)
    everything, _ = kernels.top_p_sample(logits, torch.tensor([0.999, 0.5, 0.001], dtype=torch.float64), 0.7, 1.0)
    assert everything[2] != 5  # -inf is never drawn, even with top_p = 1


def main() -> None:
    assert os.environ.get("TRITON_INTERPRET") == "1", "run with TRITON_INTERPRET=1"
    from halo_forge.generation.native import kernels

    check_decode_attention(kernels)
    for dtype in (torch.float32, torch.bfloat16):
        check_top_p_sample(kernels, dtype)
    print("kernel checks passed", file=sys.stderr)


if __name__ == "__main__":
    main()
