"""Where a native decode step spends its time on a GPU (a development tool, not a benchmark).

    python3 benchmarks/profile_native.py --model PATH [--batch 512] [--span 384]

Prints the CUDA-graph step time for greedy / temperature / temperature+top-p sampling, the
top CUDA kernels of one eager step, and the host share of a whole generate() call.
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    from halo_forge.generation import GenerationRequest
    from halo_forge.models import load_model

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--span", type=int, default=384)
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    model, tok = load_model(args.model, device="cuda", dtype="bfloat16")
    texts = [tok.decode(torch.randint(100, 40000, (128,))) for _ in range(args.batch)]
    reqs = [GenerationRequest(f"p{i}", t) for i, t in enumerate(texts)]
    st = measure(model, tok, reqs, args)
    from torch.profiler import ProfilerActivity, profile

    with torch.no_grad(), profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(3):
            st.advance(None, args.span)
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=18, max_name_column_width=60))


def measure(model, tok, reqs, args):
    from halo_forge.generation import SamplingParams
    from halo_forge.generation.native import NativeEngine

    eng = NativeEngine(model, tok, max_batch=args.batch, compile=not args.no_compile)
    for name, p in (("greedy", SamplingParams(temperature=0, max_new_tokens=256, min_new_tokens=256)),
                    ("T=0.7", SamplingParams(temperature=0.7, max_new_tokens=256, min_new_tokens=256)),
                    ("T=0.7 top_p=0.95", SamplingParams(temperature=0.7, top_p=0.95, max_new_tokens=256, min_new_tokens=256))):
        eng.generate(reqs, p, batch_size=args.batch)
        torch.cuda.synchronize()
        t = time.perf_counter()
        eng.generate(reqs, p, batch_size=args.batch)
        torch.cuda.synchronize()
        whole = time.perf_counter() - t
        st = eng._state
        for span in (128, args.span):
            st.replay(span)
            torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(20):
                st.replay(span)
            torch.cuda.synchronize()
            print(f"{name:18s} span {span:4d}: graph step {1000 * (time.perf_counter() - t) / 20:.2f} ms", flush=True)
        print(f"{name:18s} whole generate: {whole:.2f} s = {1000 * whole / 256:.2f} ms/step "
              f"({args.batch * 256 / whole:,.0f} tok/s) {eng.last_stats}", flush=True)
    return st


if __name__ == "__main__":
    main()
