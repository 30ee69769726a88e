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


def nucleus(logits: torch.Tensor, temperature: float, top_p: float):
    """Reference: probabilities and the top-p set (a token is in when the mass strictly above it <= top_p)."""
    p = (logits.float() / temperature).softmax(-1)
    s, _ = p.sort(-1, descending=True)
    cs = s.cumsum(-1)
    greater = torch.searchsorted(-s.contiguous(), -p.contiguous(), right=False)
    above = torch.where(greater > 0, cs.gather(-1, (greater - 1).clamp(min=0)), torch.zeros_like(p))
    return p, above <= top_p + 1e-6


def check_kernels(report) -> None:
    """The Triton kernels against plain PyTorch references, on the GPU."""
    from halo_forge.generation.native.decoder import load_kernels
    from tests.kernel_checks import attention_reference  # the PyTorch references the CPU tests use

    K = load_kernels(torch.device("cuda"))
    if K is None:
        report("triton kernels present", False)
        return
    torch.manual_seed(0)
    for dtype in (torch.float32, torch.bfloat16):
        B, H, KV, D, L = 64, 9, 3, 64, 512
        qkv = torch.randn(B, (H + 2 * KV) * D, device="cuda", dtype=dtype)
        angle = torch.rand(B, D // 2, device="cuda") * 400
        cos, sin = torch.cat((angle, angle), -1).cos(), torch.cat((angle, angle), -1).sin()
        kc, vc = (torch.randn(B, KV, L, D, device="cuda", dtype=dtype) for _ in range(2))
        pos = torch.randint(0, L, (B,), device="cuda")
        kc2, vc2 = kc.clone(), vc.clone()
        out = K.decode_attention(qkv, cos, sin, kc2, vc2, pos, L, H)
        ref, kc, vc = attention_reference(qkv, cos, sin, kc, vc, pos, H)
        err = (out.float() - ref).abs().max().item()
        cache_err = (kc2.float() - kc.float()).abs().max().item()
        report(f"decode attention {dtype}", err < (1e-4 if dtype == torch.float32 else 3e-2) and cache_err < 1e-2
               and torch.equal(vc, vc2), max_err=err, cache_err=cache_err)
        logits = (torch.randn(8, 49152, device="cuda") * 2.5).to(dtype)
        logits[0, :50] += 9  # a peaked row
        draws = 4096
        u = (torch.arange(draws, device="cuda", dtype=torch.float64) + 0.5) / draws  # a stratified grid of uniforms
        tok, lp = K.top_p_sample(logits.repeat_interleave(draws, 0), u.repeat(8), 0.7, 0.9)
        p, keep = nucleus(logits, 0.7, 0.9)
        inside = keep.gather(1, tok.view(8, draws)).all().item()
        freq = torch.zeros_like(p).scatter_add_(1, tok.view(8, draws), torch.ones(8, draws, device="cuda")) / draws
        target = torch.where(keep, p, 0.0)
        target = target / target.sum(-1, keepdim=True)
        # Inverse CDF in vocabulary order over a stratified grid of uniforms: the empirical CDF is
        # within 1/draws of the nucleus's CDF everywhere, if and only if the draw is exact.
        ks = (freq.cumsum(-1) - target.cumsum(-1)).abs().max().item()
        lp_err = (lp.view(8, draws) - target.gather(1, tok.view(8, draws)).log()).abs().max().item()
        report(f"top-p kernel {dtype}", inside and ks < 2.0 / draws + 1e-4 and lp_err < 1e-3, cdf_distance=ks,
               logprob_err=lp_err)


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

    check_kernels(report)
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
