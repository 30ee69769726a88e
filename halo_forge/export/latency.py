"""`inference benchmark`: time to first token, inter-token latency percentiles, requests/s,
tokens/s and peak memory, per runtime and batch size, on fixed random-token prompts.

Each runtime is timed the way it decodes: `hf` and `onnx` by a step loop here (prefill, then
one forward per token with the cache — every step timed), `gguf` by llama.cpp's own eval of
the prompt and of each token (batch 1: llama-cpp-python decodes one sequence), `native` by the
engine's own counters (its CUDA-graph steps are not observable one by one, so its ITL is the
mean step time and the percentiles are left empty rather than invented).
"""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

RUNTIMES = ("native", "hf", "onnx", "gguf")


@dataclass
class LatencyRow:
    runtime: str
    batch: int
    ttft_ms: float
    itl_p50_ms: float | None
    itl_p95_ms: float | None
    itl_p99_ms: float | None
    requests_per_s: float
    tokens_per_s: float
    peak_memory_mb: float
    note: str = ""


def _prompts(vocab: int, batch: int, length: int) -> list[list[int]]:
    rng = np.random.default_rng(batch * 1000 + length)
    return rng.integers(100, min(vocab, 30000) - 1, size=(batch, length)).tolist()


def _peak_mb(on_gpu: bool) -> float:
    import torch

    if on_gpu and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _row(runtime: str, batch: int, ttft: float, steps: list[float], total: float, new: int, note: str = ""):
    ms = np.asarray(steps) * 1000 if steps else None
    pct = (lambda q: round(float(np.percentile(ms, q)), 2)) if ms is not None else (lambda q: None)
    return LatencyRow(runtime, batch, round(ttft * 1000, 2), pct(50), pct(95), pct(99), round(batch / total, 3),
                      round(batch * new / total, 1), round(_peak_mb(runtime in ("native", "hf")), 1), note)


def _hf(model: Any, prompts: list[list[int]], new: int) -> tuple[float, list[float], float]:
    import torch
    from transformers import DynamicCache

    ids = torch.tensor(prompts, device=model.device)
    cache, steps = DynamicCache(), []
    with torch.no_grad():
        t0 = time.perf_counter()
        logits = model(input_ids=ids, past_key_values=cache, use_cache=True).logits
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        _sync()
        ttft = time.perf_counter() - t0
        for _ in range(new - 1):
            t = time.perf_counter()
            nxt = model(input_ids=nxt, past_key_values=cache, use_cache=True).logits[:, -1].argmax(-1, keepdim=True)
            _sync()
            steps.append(time.perf_counter() - t)
    return ttft, steps, time.perf_counter() - t0


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _onnx(decoder: Any, prompts: list[list[int]], new: int) -> tuple[float, list[float], float]:
    from halo_forge.export.onnx_file import cache_shape

    b = len(prompts)
    ids = np.asarray(prompts, dtype=np.int64)
    mask = np.ones_like(ids)
    pos = np.tile(np.arange(ids.shape[1]), (b, 1))
    empty = np.zeros(cache_shape(decoder.config, b, 0), dtype=np.float32)
    steps = []
    t0 = time.perf_counter()
    logits, k, v = decoder.step(ids, mask, pos, empty, empty)
    ttft = time.perf_counter() - t0
    for _ in range(new - 1):
        t = time.perf_counter()
        nxt = logits[:, -1].argmax(-1)[:, None].astype(np.int64)
        mask = np.concatenate([mask, np.ones((b, 1), dtype=np.int64)], axis=1)
        pos = pos[:, -1:] + 1
        logits, k, v = decoder.step(nxt, mask, pos, k, v)
        steps.append(time.perf_counter() - t)
    return ttft, steps, time.perf_counter() - t0


def _gguf(llm: Any, prompt: list[int], new: int) -> tuple[float, list[float], float]:
    llm.reset()
    steps = []
    t0 = time.perf_counter()
    llm.eval(prompt)
    tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    ttft = time.perf_counter() - t0
    for _ in range(new - 1):
        t = time.perf_counter()
        llm.eval([tok])
        tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        steps.append(time.perf_counter() - t)
    return ttft, steps, time.perf_counter() - t0


def _native(engine: Any, tok: Any, prompts: list[list[int]], new: int) -> tuple[float, list[float], float, str]:
    from halo_forge.generation import GenerationRequest, SamplingParams

    reqs = [GenerationRequest(f"p{i}", tok.decode(p)) for i, p in enumerate(prompts)]
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=new, min_new_tokens=new)
    t0 = time.perf_counter()
    engine.generate(reqs, params, batch_size=len(reqs))
    total = time.perf_counter() - t0
    st = engine.last_stats
    ttft = st.get("setup_s", 0.0) + st.get("prefill_s", 0.0)
    mean_step = (total - ttft) / max(1, st.get("steps", new) - 1)
    return ttft, [], total, f"ITL mean {1000 * mean_step:.2f} ms"


def benchmark(model_spec: str, runtime: str, batches: list[int], prompt_len: int, new_tokens: int,
              path: str | None = None, device: str = "auto") -> list[LatencyRow]:
    """`path` is the exported file/dir for onnx and gguf; `model_spec` gives the tokenizer/config."""
    from halo_forge.models import load_model

    model, tok = load_model(model_spec, device=device if runtime in ("native", "hf") else "cpu")
    rows = []
    runner = _make_runner(runtime, model, tok, path)
    for b in batches:
        prompts = _prompts(len(tok), b, prompt_len)
        if runtime == "gguf" and b > 1:
            rows.append(LatencyRow(runtime, b, 0, None, None, None, 0, 0, 0, "llama-cpp-python decodes batch 1"))
            continue
        # Warm-up: caches, allocator; the native engine captures CUDA graphs per (slots, length),
        # so it warms up on the timed shape itself and its TTFT is prefill, not capture.
        runner(prompts, new_tokens) if runtime == "native" else runner(prompts[:1], 2)
        ttft, steps, total, note = runner(prompts, new_tokens)
        rows.append(_row(runtime, b, ttft, steps, total, new_tokens, note))
    return rows


def _make_runner(runtime: str, model: Any, tok: Any, path: str | None):
    """A callable (prompts, new tokens) -> (TTFT s, per-step s, total s, note) for the runtime."""
    from halo_forge.errors import HaloForgeError

    if runtime in ("onnx", "gguf") and not path:
        raise HaloForgeError(f"--runtime {runtime} needs --path (the exported {runtime} file or folder)")
    if runtime == "hf":
        return lambda prompts, new: (*_hf(model.eval(), prompts, new), "")
    if runtime == "onnx":
        from halo_forge.export.onnx_file import OnnxDecoder

        dec = OnnxDecoder(path)
        return lambda prompts, new: (*_onnx(dec, prompts, new), "")
    if runtime == "gguf":
        from halo_forge.export import require

        llm = require("llama_cpp", "llamacpp").Llama(model_path=str(path), n_ctx=2048, logits_all=True, verbose=False)
        return lambda prompts, new: (*_gguf(llm, prompts[0], new), "")
    if runtime == "native":
        from halo_forge.generation.native import NativeEngine

        engine = NativeEngine(model.eval(), tok)
        return lambda prompts, new: _native(engine, tok, prompts, new)
    raise HaloForgeError(f"unknown runtime '{runtime}' (known: {', '.join(RUNTIMES)})")


def as_dicts(rows: list[LatencyRow]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
