"""Tune the native engine's Triton kernels on a GPU (a development tool, not a benchmark).

    python3 benchmarks/native_kernels.py [--batch 512] [--vocab 49152]

Prints milliseconds per call for each configuration of the top-p kernel (and the sort-based
PyTorch path) and of the decode-attention kernel (and SDPA), SmolLM2-135M shapes, bf16.
"""

from __future__ import annotations

import argparse
import itertools

import torch


def timed(fn, reps: int = 20) -> float:
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / reps


def main() -> None:
    from halo_forge.generation.base import SamplingParams
    from halo_forge.generation.native import kernels
    from halo_forge.generation.native.sampling import pick_tokens

    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=49152)
    args = ap.parse_args()
    torch.manual_seed(0)
    logits = (torch.randn(args.batch, args.vocab, device="cuda") * 3).bfloat16()
    u = torch.rand(args.batch, device="cuda", dtype=torch.float64)
    keys = torch.arange(args.batch, device="cuda")
    params = SamplingParams(temperature=0.7, top_p=0.95)
    print(f"torch sort path: {timed(lambda: pick_tokens(logits, params, keys, False)):.3f} ms", flush=True)
    reference = kernels.top_p_sample(logits, u, 0.7, 0.95)[0]
    print(f"kernel, top_p=1: {timed(lambda: kernels.top_p_sample(logits, u, 0.7, 1.0)):.3f} ms", flush=True)
    for block, stages, warps in itertools.product((1024, 2048, 4096), (1, 3), (4, 8, 16)):
        cfg = dict(BLOCK=block, STAGES=stages, num_warps=warps)
        try:
            same = torch.equal(kernels.top_p_sample(logits, u, 0.7, 0.95, cfg)[0], reference)
            ms = timed(lambda: kernels.top_p_sample(logits, u, 0.7, 0.95, cfg))
            print(f"{cfg}: {ms:.3f} ms  same tokens: {same}", flush=True)
        except Exception as exc:  # a configuration that does not compile here
            print(f"{cfg}: {type(exc).__name__}: {str(exc)[:100]}", flush=True)
    attention(kernels, args.batch)


def attention(kernels, B: int, H: int = 9, KV: int = 3, D: int = 64, L: int = 512) -> None:
    """Decode attention at the benchmark's mid-generation shape (positions 128..384)."""
    q = torch.randn(B, H, D, device="cuda", dtype=torch.bfloat16)
    qkv = torch.randn(B, (H + 2 * KV) * D, device="cuda", dtype=torch.bfloat16)
    cos, sin = torch.rand(B, D, device="cuda"), torch.rand(B, D, device="cuda")
    kc, vc = (torch.randn(B, KV, L, D, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    for label, pos in (("pos 383", torch.full((B,), 383, device="cuda")),
                       ("pos 128..383", torch.randint(128, 384, (B,), device="cuda"))):
        visible = (torch.arange(384, device="cuda")[None] <= pos[:, None]).repeat_interleave(KV, 0)[:, None, None]
        sdpa = timed(lambda: torch.nn.functional.scaled_dot_product_attention(
            q.view(B * KV, 1, H // KV, D), kc[:, :, :384].reshape(B * KV, 1, 384, D),
            vc[:, :, :384].reshape(B * KV, 1, 384, D), attn_mask=visible))
        print(f"attention {label}: SDPA {sdpa * 1000:.1f} us", flush=True)
        for block, warps, stages in itertools.product((32, 64, 128), (2, 4, 8), (1, 2, 3)):
            cfg = dict(BLOCK_N=block, num_warps=warps, num_stages=stages)
            try:
                ms = timed(lambda: kernels.decode_attention(qkv, cos, sin, kc, vc, pos, 384, H, cfg))
                print(f"attention {label} {cfg}: {ms * 1000:.1f} us", flush=True)
            except Exception as exc:
                print(f"attention {label} {cfg}: {type(exc).__name__}: {str(exc)[:100]}", flush=True)


if __name__ == "__main__":
    main()
