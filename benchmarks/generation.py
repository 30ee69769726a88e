"""Generation throughput: hf (dynamic cache), hf (static cache) and native, one run, one table.

    python3 benchmarks/generation.py [--model PATH_OR_ALIAS] [--batches 64,256,512] [--prompt-len 128]
                                     [--new-tokens 256] [--dtype bfloat16] [--quick]

SmolLM2-135M shape by default (the embedded model, or a random-init copy of its config with
--random-weights, so no weights are needed). Every row decodes exactly --new-tokens tokens
(EOS suppressed with min_new_tokens in both engines), so tokens/s compare like for like.
The last rows are the n=8-samples-per-prompt case and the forward-pass ceiling (one forward over
64 x 512 tokens), measured in the same process.
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def load(args):
    from halo_forge.models import load_model

    model, tok = load_model(args.model, device=args.device, dtype=args.dtype)
    if args.random_weights:
        torch.manual_seed(0)
        model.apply(model._init_weights)
    return model.eval(), tok


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def prompts(tok, n, length):
    ids = torch.randint(100, tok.vocab_size - 100, (n, length))
    return [tok.decode(r) for r in ids]


def run_hf(model, tok, texts, new, cache):
    tok.padding_side = "left"
    enc = tok(texts, return_tensors="pt", padding=True, truncation=True).to(model.device)
    kw = dict(max_new_tokens=new, min_new_tokens=new, do_sample=True, temperature=0.7, top_p=0.95,
              pad_token_id=tok.pad_token_id)
    if cache == "static":
        kw["cache_implementation"] = "static"
    model.generate(**{k: v[:2] for k, v in enc.items()}, **{**kw, "max_new_tokens": 4, "min_new_tokens": 4})
    sync()
    t = time.perf_counter()
    out = model.generate(**enc, **kw)
    sync()
    dt = time.perf_counter() - t
    return (out.shape[1] - enc["input_ids"].shape[1]) * out.shape[0] / dt


def run_native(model, tok, texts, new, n=1, graphs=None, top_p=0.95, kernels=None):
    """Second of two identical calls: the first builds the cache and captures the CUDA graphs
    (reported separately as set-up time)."""
    from halo_forge.generation import GenerationRequest, SamplingParams
    from halo_forge.generation.native import NativeEngine

    eng = NativeEngine(model, tok, max_batch=len(texts) * n, cuda_graphs=graphs, kernels=kernels)
    reqs = [GenerationRequest(f"p{i}", t) for i, t in enumerate(texts)]
    params = SamplingParams(n=n, temperature=0.7, top_p=top_p, max_new_tokens=new, min_new_tokens=new)
    times = []
    for _ in range(2):
        sync()
        t = time.perf_counter()
        out = eng.generate(reqs, params, batch_size=len(texts) * n)
        sync()
        times.append(time.perf_counter() - t)
    print(json.dumps({"native_stats": eng.last_stats, "batch": len(texts) * n}), flush=True)
    return sum(len(c.token_ids) for c in out) / times[1], round(times[0] - times[1], 2)


def forward_ceiling(model, batch=64, length=512):
    ids = torch.randint(100, 1000, (batch, length), device=model.device)
    with torch.no_grad():
        model(ids)
        sync()
        t = time.perf_counter()
        for _ in range(3):
            model(ids)
        sync()
    return 3 * batch * length / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--batches", default="64,256,512")
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--random-weights", action="store_true")
    ap.add_argument("--ceiling", default="64x512", help="batch x length of the forward-pass ceiling run")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, a smoke test on CPU")
    ap.add_argument("--engines", default="hf dynamic,hf static,native,native (PyTorch kernels)",
                    help="comma-separated subset of the per-batch rows")
    args = ap.parse_args()
    if args.quick:
        args.batches, args.prompt_len, args.new_tokens, args.dtype = "4", 16, 8, "float32"
    model, tok = load(args)
    rows = []
    for b in [int(x) for x in args.batches.split(",")]:
        texts = prompts(tok, b, args.prompt_len)
        for name, fn in (("hf dynamic", lambda: run_hf(model, tok, texts, args.new_tokens, "dynamic")),
                         ("hf static", lambda: run_hf(model, tok, texts, args.new_tokens, "static")),
                         ("native", lambda: run_native(model, tok, texts, args.new_tokens)),
                         ("native (PyTorch kernels)", lambda: run_native(model, tok, texts, args.new_tokens, kernels=False))):
            if name not in args.engines.split(","):
                continue
            try:
                value = fn()
                extra = {"setup_s": value[1]} if isinstance(value, tuple) else {}
                rows.append({"engine": name, "batch": b, "tokens_per_s": round(value[0] if extra else value, 1), **extra})
            except Exception as exc:  # report, keep measuring the others
                rows.append({"engine": name, "batch": b, "error": f"{type(exc).__name__}: {str(exc)[:120]}"})
            print(json.dumps(rows[-1]), flush=True)
    big = int(args.batches.split(",")[-1])
    tps, setup = run_native(model, tok, prompts(tok, big, args.prompt_len), args.new_tokens, top_p=1.0)
    rows.append({"engine": "native, top_p=1 (no sort)", "batch": big, "tokens_per_s": round(tps, 1), "setup_s": setup})
    b = max(1, big // 8)
    texts = prompts(tok, b, args.prompt_len)
    tps, setup = run_native(model, tok, texts, args.new_tokens, 8)
    rows.append({"engine": "native n=8", "batch": b * 8, "tokens_per_s": round(tps, 1), "setup_s": setup})
    rows.append({"engine": "hf n=8 (num_return_sequences)", "batch": b * 8,
                 "tokens_per_s": round(run_hf(model, tok, [t for t in texts for _ in range(8)], args.new_tokens, "dynamic"), 1)})
    fb, fl = (2, 16) if args.quick else (int(x) for x in args.ceiling.split("x"))
    rows.append({"engine": "forward ceiling", "batch": fb, "tokens_per_s": round(forward_ceiling(model, fb, fl), 1)})
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    print(f"\n{device} · {args.dtype} · prompt {args.prompt_len} · {args.new_tokens} new tokens")
    print(f"{'engine':32s} {'batch':>6s} {'tokens/s':>12s}")
    for r in rows:
        print(f"{r['engine']:32s} {r['batch']:6d} {r.get('tokens_per_s', r.get('error')):>12}"
              + (f"   (first call +{r['setup_s']} s: cache + graph capture)" if "setup_s" in r else ""))
    print(json.dumps({"device": device, "rows": rows}))


if __name__ == "__main__":
    main()
