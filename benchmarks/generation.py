"""Generation throughput: hf (dynamic cache), hf (static cache) and native, one run, one table.

    python3 benchmarks/generation.py [--model PATH_OR_ALIAS] [--batches 64,256,512] [--prompt-len 128]
                                     [--new-tokens 256] [--dtype bfloat16] [--quick]

SmolLM2-135M shape by default (the embedded model, or a random-init copy of its config with
--random-weights, so no weights are needed). Native rows report the median of --repeats timed
calls (3) and list each; HF rows time one call (tens of seconds each at these sizes). Every row decodes exactly --new-tokens tokens
(EOS suppressed with min_new_tokens in both engines), so tokens/s compare like for like.
The last rows are top-p off, the n=8-samples-per-prompt case and the forward-pass ceiling (one
forward over 64 x 512 tokens). Each engine (and each of those rows) runs in a fresh process of its
own, so one engine's leftovers (compiled graphs, allocator state) cannot change another's number;
--one-process measures everything in one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
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
    """Random-token prompts, the same in every process (seeded by their shape)."""
    ids = torch.randint(100, tok.vocab_size - 100, (n, length), generator=torch.Generator().manual_seed(n * 1000 + length))
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


def run_native(model, tok, texts, args, n=1, top_p=0.95, kernels=None) -> dict:
    """After one untimed call that builds the cache and captures the CUDA graphs (its extra time
    is reported as set-up), --repeats timed calls: one ~1-s call varied by ±4% on an H100, so
    the row gives their median and every call's figure."""
    from halo_forge.generation import GenerationRequest, SamplingParams
    from halo_forge.generation.native import NativeEngine

    eng = NativeEngine(model, tok, max_batch=len(texts) * n, kernels=kernels)
    reqs = [GenerationRequest(f"p{i}", t) for i, t in enumerate(texts)]
    new = args.new_tokens
    params = SamplingParams(n=n, temperature=0.7, top_p=top_p, max_new_tokens=new, min_new_tokens=new)
    times, tokens = [], 0
    for _ in range(1 + max(1, args.repeats)):
        sync()
        t = time.perf_counter()
        out = eng.generate(reqs, params, batch_size=len(texts) * n)
        sync()
        times.append(time.perf_counter() - t)
        tokens = sum(len(c.token_ids) for c in out)
        print(json.dumps({"native_stats": eng.last_stats, "batch": len(texts) * n}), flush=True)
    timed = sorted(times[1:])
    median = timed[len(timed) // 2]
    return {"tokens_per_s": round(tokens / median, 1), "setup_s": round(times[0] - median, 2),
            "calls": [round(tokens / t, 1) for t in times[1:]]}


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


def per_batch(run):
    """A group that measures one engine at every --batches size."""
    def rows(model, tok, args):
        out = []
        for b in batches(args):
            try:
                value = run(model, tok, prompts(tok, b, args.prompt_len), args)
                row = value if isinstance(value, dict) else {"tokens_per_s": round(value, 1)}
                out.append({"batch": b, **row})
            except Exception as exc:  # report, keep measuring the others
                out.append({"batch": b, "error": f"{type(exc).__name__}: {str(exc)[:120]}"})
        return out
    return rows


def batches(args) -> list[int]:
    return [int(x) for x in args.batches.split(",")]


def native_top_p_off(model, tok, args):
    big = batches(args)[-1]
    return [{"batch": big, **run_native(model, tok, prompts(tok, big, args.prompt_len), args, top_p=1.0)}]


def n8_texts(tok, args):
    return prompts(tok, max(1, batches(args)[-1] // 8), args.prompt_len)


def native_n8(model, tok, args):
    texts = n8_texts(tok, args)
    return [{"batch": len(texts) * 8, **run_native(model, tok, texts, args, 8)}]


def hf_n8(model, tok, args):
    texts = [t for t in n8_texts(tok, args) for _ in range(8)]
    return [{"batch": len(texts), "tokens_per_s": round(run_hf(model, tok, texts, args.new_tokens, "dynamic"), 1)}]


def ceiling(model, tok, args):
    fb, fl = (2, 16) if args.quick else (int(x) for x in args.ceiling.split("x"))
    return [{"batch": fb, "tokens_per_s": round(forward_ceiling(model, fb, fl), 1)}]


# Each group runs in a process of its own (unless --one-process): in one process, native measured
# 115k tokens/s at batch 512 right after HF's static-cache generate (which torch.compiles the
# model) and 155k after HF's dynamic one (H100, 2026-11-22) — one engine's leftovers must not
# decide another's number.
GROUPS = {
    "hf dynamic": per_batch(lambda m, t, texts, args: run_hf(m, t, texts, args.new_tokens, "dynamic")),
    "hf static": per_batch(lambda m, t, texts, args: run_hf(m, t, texts, args.new_tokens, "static")),
    "native": per_batch(run_native),
    "native (PyTorch kernels)": per_batch(lambda m, t, texts, args: run_native(m, t, texts, args, kernels=False)),
    "native, top_p=1 (no sort)": native_top_p_off,
    "native n=8": native_n8,
    "hf n=8 (num_return_sequences)": hf_n8,
    "forward ceiling": ceiling,
}
PER_BATCH = ("hf dynamic", "hf static", "native", "native (PyTorch kernels)")


def run_group(args, name: str) -> list[dict]:
    """One group's rows, in a fresh Python process (same arguments, --group NAME)."""
    cmd = [sys.executable, __file__, *sys.argv[1:], "--group", name]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith('{"native_stats"'):
            print(line, flush=True)  # where the native engine's time went
        if line.startswith('{"group_rows"'):
            return json.loads(line)["group_rows"]
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return [{"engine": name, "batch": 0, "error": f"exit {proc.returncode}: {tail[:160]}"}]


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
    ap.add_argument("--engines", default=",".join(PER_BATCH), help="comma-separated subset of the per-batch rows")
    ap.add_argument("--one-process", action="store_true", help="every group in this process (not isolated)")
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per native row (median reported)")
    ap.add_argument("--group", help=argparse.SUPPRESS)  # internal: run one group, print its rows
    args = ap.parse_args()
    if args.quick:
        args.batches, args.prompt_len, args.new_tokens, args.dtype = "4", 16, 8, "float32"
    names = [g for g in GROUPS if g not in PER_BATCH or g in args.engines.split(",")]
    if args.group:
        names = [args.group]
    rows = []
    model = tok = None
    for name in names:
        if args.group or args.one_process:
            if model is None:
                model, tok = load(args)
            got = [{"engine": name, **r} for r in GROUPS[name](model, tok, args)]
        else:
            got = run_group(args, name)
        for r in got:
            print(json.dumps(r), flush=True)
        rows += got
    if args.group:
        print(json.dumps({"group_rows": rows}))
        return
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    print(f"\n{device} · {args.dtype} · prompt {args.prompt_len} · {args.new_tokens} new tokens"
          + ("" if args.one_process else " · each engine in its own process"))
    print(f"{'engine':32s} {'batch':>6s} {'tokens/s':>12s}")
    for r in rows:
        print(f"{r['engine']:32s} {r['batch']:6d} {r.get('tokens_per_s', r.get('error')):>12}"
              + (f"   median of {r['calls']}; first call +{r['setup_s']} s (cache, graph capture)"
                 if "calls" in r else ""))
    print(json.dumps({"device": device, "rows": rows}))


if __name__ == "__main__":
    main()
