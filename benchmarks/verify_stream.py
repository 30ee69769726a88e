"""A RAFT cycle's verification, replayed: saved samples go through the real rollout (verification
overlapped with "generation") from an engine that hands out the saved completions batch by batch at
a fixed pace, so the verify tail of a code cycle can be measured without a GPU.

    .venv/bin/python benchmarks/verify_stream.py SAMPLES.jsonl [SAMPLES.jsonl ...] [--batch 512] [--seconds-per-batch 1.5]
        [--workers W] [--processes P] [--limit N]

SAMPLES.jsonl: a RAFT cycle's samples.jsonl or a benchmark's per-sample file (each row carries its task);
with several files each file's rows get sample indices of their own (one file = one sample per task). Prints one JSON line:
generation time (the pacing), verifier busy time, verify tail, and whether every verdict equals the
saved one.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    from halo_forge.data.jsonl import read_jsonl
    from halo_forge.data.task import Task
    from halo_forge.generation.base import Completion, GenerationRequest, PlannedEngine, SamplingParams
    from halo_forge.rollout import rollout
    from halo_forge.verify.registry import get_verifier

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("samples", type=Path, nargs="+")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--seconds-per-batch", type=float, default=1.5)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--processes", type=int, default=1, help="judging processes (verifier.processes)")
    args = ap.parse_args()

    rows = read_jsonl(args.samples[0]) if len(args.samples) == 1 else [
        {**r, "sample_index": i} for i, path in enumerate(args.samples) for r in read_jsonl(path)]
    rows = rows[:args.limit]
    n = max(r["sample_index"] for r in rows) + 1
    tasks = {r["task_id"]: Task.from_dict(r["task"]) for r in rows}
    saved = {(r["task_id"], r["sample_index"]): r for r in rows}
    requests = [GenerationRequest(tid, "") for tid in tasks]

    class ReplayEngine(PlannedEngine):
        name = "replay"

        def run(self, batches, params, on_batch=None, stop_event=None):
            out = []
            for b in batches:
                time.sleep(args.seconds_per_batch)
                comps = [Completion(it.request.id, it.index, saved[(it.request.id, it.index)]["completion"], [0],
                                    "stop", 0) for it in b.items if (it.request.id, it.index) in saved]
                out += comps
                on_batch(b.number, comps)
            return out

    verifier = get_verifier(rows[0]["verifier"])
    verifier.processes = args.processes
    with tempfile.TemporaryDirectory() as tmp:
        try:
            records, stats = rollout(list(tasks.values()), requests, ReplayEngine(), SamplingParams(n=n), args.batch,
                                     verifier, Path(tmp), {}, workers=args.workers, progress=lambda *a: None)
        finally:
            if verifier._judges is not None:
                verifier._judges.close()
    same = sum(r["passed"] == saved[(r["task_id"], r["sample_index"])]["passed"] for r in records)
    print(json.dumps({"samples": len(records), "batches": -(-len(requests) * n // args.batch),
                      "generate_s": round(stats.generation_time, 2), "verify_busy_s": round(stats.verification_time, 2),
                      "verify_tail_s": round(stats.verify_tail_time, 2), "verdicts_as_saved": f"{same}/{len(records)}",
                      "workers": args.workers, "processes": args.processes}))


if __name__ == "__main__":
    main()
