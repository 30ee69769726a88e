"""`benchmark full`: the pipeline validation demo.

baseline -> RAFT cycles -> final, trained on the built-in `cpp_basics` train split and
reported on its held-out test split only, with per-stage timing (and hardware metrics).
Small enough for the embedded SmolLM2 on 2 CPU cores.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from halo_forge.config.schema import GenerationConfig, LoraConfig, RaftConfig, TrainingConfig
from halo_forge.data.jsonl import write_json_atomic

HELDOUT_SAMPLES = 4


def run_full(model: str, cycles: int, output_dir: str, limit: int | None = None, device: str = "auto",
             seed: int = 42, hardware_metrics: bool = False) -> dict[str, Any]:
    import torch

    from halo_forge.bench.hardware import HardwareMonitor
    from halo_forge.bench.runner import evaluate_tasks
    from halo_forge.data.registry import load_source_tasks
    from halo_forge.models import load_model
    from halo_forge.tasks import get_task_kind
    from halo_forge.train.raft import run_raft
    from halo_forge.verify.registry import get_verifier

    out = Path(output_dir)
    kind = get_task_kind("code")
    heldout = load_source_tasks("cpp_basics", None, "test", limit)
    verifier = get_verifier("execution")
    params = GenerationConfig(temperature=0.7, top_p=0.95, max_new_tokens=256).sampling(HELDOUT_SAMPLES, seed)
    stages: list[dict[str, Any]] = []

    def evaluate(label: str, m: Any, tok: Any) -> dict[str, Any]:
        t0 = time.monotonic()
        res, _ = evaluate_tasks(m, tok, heldout, kind, verifier, params, 16, out / "eval" / label,
                                {"model": f"{model}:{label}", "verifier": "execution"})
        res["label"] = label
        res["stage_time_s"] = round(time.monotonic() - t0, 2)
        write_json_atomic(out / "eval" / f"{label}.json", res)
        stages.append({"stage": label, "pass_at_k": res["pass_at_k"], "compile_rate": res["compile_rate"],
                       "mean_reward": res["mean_reward"], "time_s": res["stage_time_s"]})
        return {"pass_at_k": res["pass_at_k"], "compile_rate": res["compile_rate"], "mean_reward": res["mean_reward"]}

    monitor = HardwareMonitor() if hardware_metrics else None
    start = time.monotonic()
    if monitor:
        monitor.__enter__()
    try:
        torch.manual_seed(seed)
        base, tok = load_model(model, device)
        evaluate("baseline", base, tok)
        del base
        cfg = RaftConfig(model=model, device=device, seed=seed, dataset="cpp_basics", split="train", limit=limit,
                         output_dir=str(out / "raft"), cycles=cycles, samples_per_prompt=4,
                         generation=GenerationConfig(max_new_tokens=256, batch_size=16, temperature=0.7),
                         lora=LoraConfig(r=16, alpha=32), keep_top_percent=1.0, max_per_prompt=2,
                         training=TrainingConfig(learning_rate=2e-4, epochs=1, batch_size=4, max_seq_len=768))
        raft = run_raft(cfg, after_cycle=lambda n, m, t: evaluate(f"cycle_{n}", m, t))
    finally:
        if monitor:
            monitor.__exit__(None, None, None)
    result = {"stages": stages, "raft": raft["cycles"], "wall_time_s": round(time.monotonic() - start, 2),
              "heldout": {"dataset": "cpp_basics", "split": "test", "problems": len(heldout),
                          "samples_per_problem": HELDOUT_SAMPLES}}
    if monitor:
        result["hardware"] = monitor.summary()
    write_json_atomic(out / "benchmark_full.json", result)
    return result
