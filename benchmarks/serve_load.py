"""Load test for `halo-forge serve`: N concurrent streaming chat requests from the official
`openai` async client on loopback; requests/s, tokens/s, time to first token and latency
percentiles, failures. Bounded: stops by itself after --max-seconds (default 120).

    python benchmarks/serve_load.py --model smollm2-135m-instruct --requests 256 --concurrency 256 --clients 4
    python benchmarks/serve_load.py --model M --engine hf ...        # HF generate behind the same server
    python benchmarks/serve_load.py --url http://127.0.0.1:8000 ...  # an already running server
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from halo_forge.serve.launch import ServerProcess  # noqa: E402

QUESTIONS = ["Explain why the sky is blue.", "Write a haiku about rivers.", "What is 17 times 23?",
             "List three uses of a paperclip.", "Describe a cat to someone who has never seen one.",
             "Give a tip for learning to cook.", "What causes tides?", "Name a famous bridge and describe it."]


async def one(client, model: str, i: int, max_tokens: int, seeded: bool) -> dict:
    t0 = time.perf_counter()
    first, tokens = None, 0
    try:
        stream = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}], max_tokens=max_tokens,
            temperature=0.7, seed=i if seeded else None, stream=True, stream_options={"include_usage": True})
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content and first is None:
                first = time.perf_counter() - t0
            if chunk.usage is not None:
                tokens = chunk.usage.completion_tokens
    except Exception as exc:  # counted, not raised: the run reports failures
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
    return {"ok": True, "ttft": first if first is not None else time.perf_counter() - t0,
            "latency": time.perf_counter() - t0, "tokens": tokens}


async def wave(url: str, model: str, indices: list[int], concurrency: int, max_tokens: int, max_seconds: float,
               seeded: bool = False, start_at: float | None = None) -> tuple[list[dict], int, float]:
    """One client event loop: (finished results, requests still pending at the deadline, wall s)."""
    import openai

    client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=max_seconds)
    gate = asyncio.Semaphore(concurrency)

    async def gated(i: int) -> dict:
        async with gate:
            return await one(client, model, i, max_tokens, seeded)

    if start_at is not None:  # every client process starts together (spawn + imports take a while)
        await asyncio.sleep(max(0.0, start_at - time.time()))
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(gated(i)) for i in indices]
    done, pending = await asyncio.wait(tasks, timeout=max_seconds) if tasks else (set(), set())
    for t in pending:
        t.cancel()
    return [t.result() for t in done], len(pending), time.perf_counter() - t0


def _client_process(job: tuple) -> tuple[list[dict], int, float]:
    return asyncio.run(wave(*job))


def load(url: str, model: str, requests: int, concurrency: int, max_tokens: int, max_seconds: float,
         clients: int = 1, seeded: bool = False) -> dict:
    """The load from `clients` processes (one Python event loop parsing every SSE chunk of 256
    streams is itself a bottleneck: it measures the client, not the server)."""
    if clients == 1:
        results, pending, wall = asyncio.run(wave(url, model, list(range(requests)), concurrency, max_tokens,
                                                  max_seconds, seeded))
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        start_at = time.time() + 5.0
        jobs = [(url, model, list(range(c, requests, clients)), -(-concurrency // clients), max_tokens, max_seconds,
                 seeded, start_at) for c in range(clients)]
        with ProcessPoolExecutor(clients, mp_context=multiprocessing.get_context("spawn")) as pool:
            parts = list(pool.map(_client_process, jobs))
        results = [r for part in parts for r in part[0]]
        pending, wall = sum(p[1] for p in parts), max(p[2] for p in parts)
    return summarise(results, pending, wall) | {"requests": requests, "concurrency": concurrency,
                                                "max_tokens": max_tokens, "client_processes": clients,
                                                "seeded": seeded}


def summarise(results: list[dict], pending: int, wall: float) -> dict:
    ok = [r for r in results if r["ok"]]
    pct = lambda xs, q: round(float(np.percentile(xs, q)) * 1000, 1) if xs else None  # noqa: E731
    ttft, lat = [r["ttft"] for r in ok], [r["latency"] for r in ok]
    return {"completed": len(ok), "failed": len(results) - len(ok) + pending, "wall_s": round(wall, 2),
            "requests_per_s": round(len(ok) / wall, 2), "tokens_per_s": round(sum(r["tokens"] for r in ok) / wall, 1),
            "ttft_ms": {q: pct(ttft, q) for q in (50, 95, 99)}, "latency_ms": {q: pct(lat, q) for q in (50, 95, 99)},
            "errors": sorted({r["error"] for r in results if not r["ok"]})[:5]}


def provenance(url: str | None) -> dict:
    """Which code, on which machine: the load figures are meaningless without it."""
    import os
    import platform

    import torch

    from halo_forge.provenance import code_version

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {**code_version(), "device": gpu or f"cpu ({platform.processor() or platform.machine()})",
            "cpu_count": os.cpu_count(), "torch": torch.__version__, "external_server": url}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--url", help="use this running server instead of starting one")
    ap.add_argument("--engine", default="auto", choices=["auto", "native", "hf"])
    ap.add_argument("--requests", type=int, default=256)
    ap.add_argument("--concurrency", type=int, default=256)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--max-batch", default="256")
    ap.add_argument("--max-model-len", default="1024")
    ap.add_argument("--max-seconds", type=float, default=120)
    ap.add_argument("--clients", type=int, default=1, help="client processes sharing the load (default 1)")
    ap.add_argument("--seeded", action="store_true",
                    help="send a seed per request (HF generate then batches only equal seeds: one at a time)")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="skip the one untimed request of the same settings sent before the timed load")
    ap.add_argument("--output", help="write the result JSON here")
    args = ap.parse_args(argv)
    server = None
    if args.url is None:
        server = ServerProcess(args.model, "--engine", args.engine, "--max-batch", args.max_batch,
                               "--max-model-len", args.max_model_len, "--max-queue", str(max(1024, args.requests)))
    try:
        url = args.url or server.url
        cold = None
        if args.warmup:  # the first request of a sampling shape may pay for graph capture: report it apart
            first, _, _ = asyncio.run(wave(url, args.model, [0], 1, args.max_tokens, args.max_seconds))
            cold = round(first[0]["latency"] * 1000, 1) if first and first[0]["ok"] else None
        result = load(url, args.model, args.requests, args.concurrency, args.max_tokens, args.max_seconds,
                      args.clients, args.seeded)
        result["warmup_request_ms"] = cold
    finally:
        if server is not None:
            server.stop()
    result.update(model=args.model, engine=args.engine, provenance=provenance(url if args.url else None))
    print(json.dumps(result, indent=2))
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["failed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
