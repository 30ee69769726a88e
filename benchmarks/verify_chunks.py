"""HumanEval verified in one `verify_batch` call vs many small calls (what a judging process fed
chunks does), same samples, same slots: a per-call cost (e.g. warm sandbox workers that do not
survive a call) shows as the gap between the two rates.

    .venv/bin/python benchmarks/verify_chunks.py [--chunk 8] [--workers 2] [--repeat 3]

Prints one JSON line. Samples: benchmarks/verify_throughput.py's honest HumanEval set (164 canonical
solutions + two broken variants each).
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    from verify_throughput import samples

    from halo_forge.data import load_tasks
    from halo_forge.verify.registry import get_verifier

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunk", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    probs, honest, _ = samples()
    tasks = {t.id: t for t in load_tasks("humaneval", "test")}
    v = get_verifier("humaneval", limits={"wall_seconds": 3.0})
    items = [(tasks[tid], probs[tid]["prompt"] + code) for tid, code, _ in honest]
    v.verify_batch(items[:64], args.workers)  # warm the slots
    out = {"samples": len(items), "workers": args.workers, "chunk": args.chunk, "one_call_per_s": [], "chunks_per_s": []}
    for _ in range(args.repeat):
        t = time.perf_counter()
        whole = v.verify_batch(items, args.workers)
        out["one_call_per_s"].append(round(len(items) / (time.perf_counter() - t), 1))
        t = time.perf_counter()
        parts = [r for i in range(0, len(items), args.chunk) for r in v.verify_batch(items[i:i + args.chunk], args.workers)]
        out["chunks_per_s"].append(round(len(items) / (time.perf_counter() - t), 1))
        out["verdicts_equal"] = [a.reward for a in whole] == [b.reward for b in parts]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
