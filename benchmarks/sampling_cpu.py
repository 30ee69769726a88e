"""Top-p sampling cost on a CPU: the full vocabulary sort against the top-1,024 candidates.

    .venv/bin/python benchmarks/sampling_cpu.py [--batch 32] [--vocab 49152]

Times torch.sort and torch.topk over batch x vocab logits, and `pick_tokens` (T=0.7, top-p 0.95)
on logits shaped like a trained model's (peaked: the candidates path) and flat ones (every row
falls back to the sort), so the cost of each path is visible on its own.
"""

from __future__ import annotations

import argparse
import time

import torch


def timed_ms(fn, reps: int = 20) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return 1000 * (time.perf_counter() - t) / reps


def main() -> None:
    from halo_forge.generation.base import SamplingParams
    from halo_forge.generation.native.sampling import CPU_CANDIDATES, pick_tokens

    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--vocab", type=int, default=49152)
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    peaked = torch.randn(args.batch, args.vocab, generator=g) * 3
    flat = torch.randn(args.batch, args.vocab, generator=g) * 0.1
    keys = torch.arange(args.batch)
    params = SamplingParams(temperature=0.7, top_p=0.95)
    print(f"{args.batch} x {args.vocab} float32 logits, {torch.get_num_threads()} threads")
    print(f"torch.sort                      {timed_ms(lambda: torch.sort(peaked, descending=True, dim=-1)):8.2f} ms")
    print(f"torch.topk {CPU_CANDIDATES:<5d}                {timed_ms(lambda: torch.topk(peaked, CPU_CANDIDATES, dim=-1)):8.2f} ms")
    print(f"pick_tokens, peaked (candidates) {timed_ms(lambda: pick_tokens(peaked, params, keys, False)):8.2f} ms")
    print(f"pick_tokens, flat (full sort)    {timed_ms(lambda: pick_tokens(flat, params, keys, False)):8.2f} ms")


if __name__ == "__main__":
    main()
