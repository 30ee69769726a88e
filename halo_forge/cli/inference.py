"""`halo-forge inference {export,optimize,benchmark}`."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("inference", help="export (GGUF / ONNX / safetensors), optimize and benchmark trained models")
    g = p.add_subparsers(dest="inference_command", metavar="ACTION")
    e = g.add_parser("export", help="write a model (LoRA merged first) as GGUF, ONNX or a merged safetensors dir")
    e.add_argument("--model", "-m", required=True, help="model dir, LoRA adapter dir, .gguf, hub id or alias")
    e.add_argument("--format", "-f", dest="fmt", required=True, choices=["gguf", "onnx", "safetensors"],
                   help="gguf (llama.cpp, Ollama), onnx (ONNX Runtime) or safetensors (transformers)")
    e.add_argument("--output", "-o", required=True, help="file (gguf) or directory (onnx, safetensors) to create")
    e.add_argument("--dtype", help="gguf: f32, f16 (default), bf16, q8_0, q4_0; onnx: f32; safetensors: fp32 "
                                   "weights as trained")
    e.add_argument("--force", action="store_true", help="replace an existing output")
    e.add_argument("--check", action="store_true",
                   help="afterwards compare greedy tokens of 8 prompts with the source model in an independent "
                        "runtime (llama.cpp for gguf, ONNX Runtime for onnx)")
    e.set_defaults(handler=cmd_export)
    b = g.add_parser("benchmark", help="TTFT, inter-token latency p50/p95/p99, requests/s, tokens/s, peak memory")
    b.add_argument("--model", "-m", required=True, help="source model (gives the tokenizer and config)")
    b.add_argument("--runtime", default="native", choices=["native", "hf", "onnx", "gguf"],
                   help="what runs the model (onnx/gguf need --path to an export)")
    b.add_argument("--path", help="the exported file (gguf) or folder (onnx) for those runtimes")
    b.add_argument("--batch", default="1,8", type=_ints, help="comma-separated batch sizes (default 1,8)")
    b.add_argument("--prompt-len", dest="prompt_len", type=int, default=64, help="prompt tokens (default 64)")
    b.add_argument("--new-tokens", dest="new_tokens", type=int, default=32, help="tokens generated (default 32)")
    b.add_argument("--device", help="auto (default), cpu, cuda")
    b.add_argument("--output", "-o", help="also write the rows as JSON here")
    b.set_defaults(handler=cmd_benchmark)
    o = g.add_parser("optimize", help="weight-only int8 / int4 quantization (torchao), then a before/after table")
    o.add_argument("--model", "-m", required=True, help="model dir, LoRA adapter dir, .gguf, hub id or alias")
    o.add_argument("--quant", "-q", required=True, choices=["int8", "int4"], help="weight-only quantization")
    o.add_argument("--method", default="auto", choices=["auto", "weight-only", "intx"],
                   help="auto: int8 weight-only; int4 intx (int4 values per group of 32, stored in int8)")
    o.add_argument("--output", "-o", required=True, help="directory to create (loads with from_pretrained)")
    o.add_argument("--device", default="auto", help="auto (default), cpu, cuda")
    o.add_argument("--force", action="store_true", help="replace an existing output")
    o.add_argument("--no-compare", dest="compare", action="store_false",
                   help="skip the before/after table (size, memory, tokens/s, perplexity, greedy agreement)")
    o.add_argument("--json", dest="json_out", help="also write the before/after rows as JSON here")
    o.set_defaults(handler=cmd_optimize)


def cmd_export(args) -> int:
    from halo_forge.export import export_model

    dtype = getattr(args, "dtype", None) or ("f16" if args.fmt == "gguf" else "f32")
    out = export_model(args.model, args.fmt, args.output, dtype, getattr(args, "force", False))
    print(f"exported: {out} ({args.fmt}, {dtype})")
    if getattr(args, "check", False):
        return _check(args.model, args.fmt, str(out))
    return 0


def _check(model_spec: str, fmt: str, path: str) -> int:
    from halo_forge.export.parity import compare, hf_greedy, llama_cpp_greedy, onnx_greedy
    from halo_forge.models import load_model

    model, tok = load_model(model_spec, device="cpu", dtype="float32")
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    ref = hf_greedy(model.eval(), tok)
    if fmt == "gguf":
        from halo_forge.export.parity import llama_cpp_forced_agreement

        result = compare("llama.cpp", ref, llama_cpp_greedy(path))
        forced = llama_cpp_forced_agreement(path, ref)
        print(f"check (llama.cpp): teacher-forced token agreement {100 * forced:.1f}% "
              f"(quantized files: >= 95% expected at q8_0)")
    elif fmt == "onnx":
        result = compare("onnxruntime", ref, onnx_greedy(path, tok))
    else:
        reloaded, _ = load_model(path, device="cpu", dtype="float32")
        result = compare("transformers (reloaded)", ref, hf_greedy(reloaded.eval(), tok))
    print(f"check ({result.runtime}): prompt tokens {'equal' if result.prompt_tokens_equal else 'DIFFER'}, "
          f"greedy agreement {100 * result.agreement:.1f}%, first divergence per prompt {result.first_divergence}")
    return 0 if result.exact else 1


def _ints(text: str) -> list[int]:
    import argparse

    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be >= 1, got '{text}'")
    return values


def cmd_benchmark(args) -> int:
    from rich.table import Table

    from halo_forge.cli.tables import console
    from halo_forge.export.latency import as_dicts, benchmark

    rows = benchmark(args.model, args.runtime, args.batch, args.prompt_len, args.new_tokens,
                     getattr(args, "path", None), getattr(args, "device", None) or "auto")
    t = Table(title=f"inference benchmark — {args.runtime} — prompt {args.prompt_len}, {args.new_tokens} new tokens")
    for col in ("batch", "TTFT ms", "ITL p50 ms", "p95", "p99", "req/s", "tokens/s", "peak MB", "note"):
        t.add_column(col, justify="left" if col == "note" else "right")
    fmt = lambda v: "—" if v is None else str(v)  # noqa: E731
    for r in rows:
        t.add_row(str(r.batch), fmt(r.ttft_ms), fmt(r.itl_p50_ms), fmt(r.itl_p95_ms), fmt(r.itl_p99_ms),
                  fmt(r.requests_per_s), fmt(r.tokens_per_s), fmt(r.peak_memory_mb), r.note)
    console().print(t)
    if getattr(args, "output", None):
        from halo_forge.data.jsonl import write_json_atomic

        write_json_atomic(args.output, {"model": args.model, "runtime": args.runtime, "rows": as_dicts(rows)})
    return 0


def cmd_optimize(args) -> int:
    from rich.table import Table

    from halo_forge.cli.tables import console
    from halo_forge.export.optimize import before_after, figures_json, optimize_model

    device = getattr(args, "device", "auto")
    out, method = optimize_model(args.model, args.quant, args.output, getattr(args, "method", "auto"), device,
                                 getattr(args, "force", False))
    print(f"quantized: {out} ({args.quant}, torchao {method})")
    if not getattr(args, "compare", True):
        return 0
    rows = before_after(args.model, out, device)
    t = Table(title=f"inference optimize — {args.quant} ({method}) — held-out: 32 GSM8K test rows")
    for col in ("model", "disk MB", "weights MB", "tokens/s (batch 8)", "perplexity", "greedy agreement"):
        t.add_column(col, justify="left" if col == "model" else "right")
    for r in rows:
        agree = "—" if r.greedy_agreement is None else f"{100 * r.greedy_agreement:.1f}%"
        t.add_row(r.label, str(r.disk_mb), str(r.weight_memory_mb), str(r.tokens_per_s), str(r.perplexity), agree)
    console().print(t)
    if getattr(args, "json_out", None):
        from halo_forge.data.jsonl import write_json_atomic

        write_json_atomic(args.json_out, {"model": args.model, "quant": args.quant, "method": method,
                                          "output": str(out), "rows": figures_json(rows)})
    return 0
