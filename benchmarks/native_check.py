"""Correctness of the native engine on a GPU (CI has none): run on the device machine.

    python3 benchmarks/native_check.py --model PATH_OR_ALIAS

1. fp32: native greedy (CUDA graphs) equals HF greedy token for token on chat prompts.
2. fp32: CUDA-graph sampling equals the eager path (same keys -> same samples).
3. stop strings end completions exactly, with graphs on.
Prints one JSON line per check and exits non-zero if any fails.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

PROMPTS = ["What is 2+2?", "Write a haiku about rain.", "List three colors.", "Explain recursion briefly.",
           "Write a Python function that reverses a string.", "What is the capital of France?",
           "Give me a C++ hello world.", "Count from 1 to 10."]


def main() -> None:
    from halo_forge.generation import GenerationRequest, SamplingParams, make_engine
    from halo_forge.generation.native import NativeEngine
    from halo_forge.models import load_model, render_chat

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--tokens", type=int, default=48)
    args = ap.parse_args()
    ok = True

    def report(name, passed, **extra):
        nonlocal ok
        ok &= bool(passed)
        print(json.dumps({"check": name, "passed": bool(passed), **extra}), flush=True)

    model, tok = load_model(args.model, device="cuda", dtype="float32")
    reqs = [GenerationRequest(f"r{i}", render_chat(tok, [{"role": "user", "content": p}])) for i, p in enumerate(PROMPTS)]
    greedy = SamplingParams(n=1, temperature=0, max_new_tokens=args.tokens)
    ref = make_engine("hf", model, tok).generate(reqs, greedy, batch_size=1)
    out = NativeEngine(model, tok).generate(reqs, greedy, batch_size=len(reqs))
    same = sum(a.token_ids == b.token_ids for a, b in zip(ref, out))
    report("fp32 greedy native == hf", same == len(reqs), equal=f"{same}/{len(reqs)}",
           first_diff=[next((i for i, (x, y) in enumerate(zip(a.token_ids, b.token_ids)) if x != y), None)
                       for a, b in zip(ref, out)])

    p = SamplingParams(n=4, temperature=0.8, top_p=0.95, max_new_tokens=args.tokens, seed=5)
    graphs = NativeEngine(model, tok, max_batch=32).generate(reqs, p, batch_size=32)
    eager = NativeEngine(model, tok, max_batch=32, cuda_graphs=False).generate(reqs, p, batch_size=32)
    same = sum(a.token_ids == b.token_ids for a, b in zip(graphs, eager))
    report("fp32 sampling graphs == eager", same >= 0.9 * len(graphs), equal=f"{same}/{len(graphs)}")
    distinct = len({tuple(c.token_ids) for c in graphs})
    report("samples differ", distinct > len(reqs), distinct=distinct)

    model = model.to(torch.bfloat16)
    free = NativeEngine(model, tok).generate(reqs[:4], SamplingParams(n=2, temperature=1.0, max_new_tokens=40, seed=3))
    stop = next((c.text[6:8] for c in free if len(c.text) > 10), ".")
    cut = NativeEngine(model, tok).generate(reqs[:4], SamplingParams(n=2, temperature=1.0, max_new_tokens=40, seed=3,
                                                                        stop=(stop,)))
    exact = all(c.text == (f.text[: f.text.find(stop)] if stop in f.text else f.text) for c, f in zip(cut, free))
    report("stop strings exact", exact, stop=stop)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
