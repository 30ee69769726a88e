"""`halo-forge benchmark {run,eval,compare,full}`."""

from __future__ import annotations

import json
from pathlib import Path

from halo_forge.cli import common
from halo_forge.cli.options import Opt, add_options, config_overrides, opt
from halo_forge.errors import HaloForgeError


BENCH_OPTS = [opt("verifier.name", "--verifier", "-v"), opt("samples", "--samples", "--samples-per-prompt", "-n"),
              opt("k", "--k", type=common.parse_k), opt("output", "--output", "-o"),
              opt("hardware_metrics", "--hardware-metrics"), opt("verifier.workers", "--verify-workers"),
              opt("verifier.processes", "--verify-processes")]


def bench_options(source: bool = True, task: bool = True) -> list[Opt]:
    opts = [*common.MODEL_OPTS, *(common.SOURCE_OPTS if source else []), *common.GEN_OPTS, *common.SANDBOX_OPTS,
            *common.REPORT_OPTS, *BENCH_OPTS]
    return opts if task else common.without_task(opts)


def _add_run_flags(p, source: bool = False, task: bool = True) -> None:
    from halo_forge.config import BenchmarkConfig

    common.add_config_flag(p)
    add_options(p, BenchmarkConfig, bench_options(source, task))
    p.add_argument("--json", dest="print_json", action="store_true",
                   help="print the result as JSON instead of the summary table (the output file is JSON either way)")


def register(sub) -> None:
    p = sub.add_parser("benchmark", help="pass@k benchmarks")
    g = p.add_subparsers(dest="benchmark_command", metavar="ACTION")
    r = g.add_parser("run", help="N samples per task, verified in the sandbox, pass@k")
    _add_run_flags(r, source=True)
    r.set_defaults(handler=cmd_run)
    e = g.add_parser("eval", help="a standard suite on its held-out split")
    _add_run_flags(e)
    e.add_argument("--suite", required=True, help="humaneval, mbpp, gsm8k, ... (the suite fixes dataset, split, task)")
    e.add_argument("--limit", type=common.positive_int, help="use only the first N tasks")
    e.set_defaults(handler=cmd_eval)
    c = g.add_parser("compare", help="paired comparison of result files (Δ, bootstrap CI, McNemar / permutation p)")
    c.add_argument("results", nargs="+", help="result JSONs (the first is the baseline), or directories of "
                                              "per-seed result JSONs, one directory per arm")
    c.add_argument("--k", type=common.parse_k, default=[1, 5, 10], help="pass@k values to compare (default 1,5,10)")
    c.add_argument("--json", dest="json_out", help="also write the comparison as JSON here")
    c.add_argument("--allow-different-tasks", action="store_true", help="compare on the intersection of task ids")
    c.add_argument("--allow-different-verifiers", action="store_true",
                   help="compare runs scored by different verifiers or verifier versions")
    c.add_argument("--plot", help="write a PNG of pass@k and compile rate per run")
    c.set_defaults(handler=cmd_compare)
    f = g.add_parser("full", help="pipeline demo: baseline -> RAFT cycles -> final on held-out prompts")
    from halo_forge.config import BenchmarkConfig

    add_options(f, BenchmarkConfig, common.MODEL_OPTS)
    f.add_argument("--cycles", type=int, default=2, help="RAFT cycles between the baseline and the final eval")
    f.add_argument("--output-dir", "-o", dest="output_dir", default="runs/benchmark_full", help="run folder")
    f.add_argument("--limit", type=int, help="use only the first N held-out tasks")
    f.add_argument("--hardware-metrics", dest="hardware_metrics", action="store_true",
                   help="sample GPU power, memory and utilisation")
    f.set_defaults(handler=cmd_full)


def bench_config(args, extra: dict | None = None):
    from halo_forge.config import BenchmarkConfig, load_config

    ov = config_overrides(args, bench_options())
    ov.update(extra or {})
    return load_config(BenchmarkConfig, getattr(args, "config", None), ov)


def report(result: dict, as_json: bool = False) -> None:
    """A readable table by default; `--json` prints the headline keys as JSON for scripts."""
    keys = ("problems", "total", "passed", "pass_rate", "compile_rate", "pass_at_k", "pass_at_1_ci95", "mean_reward",
            *sorted(k for k in result if k.startswith("mean_") and k != "mean_reward"), "errors",
            "timing", "hardware", "isolation", "note", "samples_file")
    if as_json:
        print(json.dumps({k: result[k] for k in keys if k in result}, indent=2))
        return
    from halo_forge.cli.tables import console, result_table

    console().print(result_table(result))
    if result.get("note"):
        print(f"note: {result['note']}")
    print(f"result: {(result.get('config') or {}).get('output')}  samples: {result.get('samples_file')}")


def finish(result: dict, as_json: bool) -> int:
    """Print the result, then write its report (last line) unless --no-report; rank 0 only."""
    from halo_forge.distributed import world_from_env

    if not world_from_env().is_main:
        return 0
    report(result, as_json)
    cfg = result.get("config") or {}
    if cfg.get("report", True):
        common.write_report_after([cfg["output"]], to_stderr=as_json)  # --json keeps stdout pure JSON
    return 0


def cmd_run(args) -> int:
    from halo_forge.bench.runner import run_benchmark

    return finish(run_benchmark(bench_config(args)), getattr(args, "print_json", False))


def cmd_eval(args) -> int:
    from halo_forge.bench.runner import SUITES, run_benchmark

    if args.suite not in SUITES:
        raise HaloForgeError(f"unknown suite '{args.suite}' (known: {', '.join(SUITES)})")
    dataset, split, task = SUITES[args.suite]
    result = run_benchmark(bench_config(args, {"dataset": dataset, "split": split, "task": task}))
    return finish(result, getattr(args, "print_json", False))


def cmd_compare(args) -> int:
    from halo_forge.bench import paired
    from halo_forge.cli.tables import console, paired_table, seed_table

    ks = getattr(args, "k", None) or [1, 5, 10]
    args.allow_different_tasks = getattr(args, "allow_different_tasks", False)
    args.allow_different_verifiers = getattr(args, "allow_different_verifiers", False)
    if any(Path(r).is_dir() for r in args.results):
        arms = {Path(d).name: [paired.load_run(str(f)) for f in _result_files(d)] for d in args.results}
        report = {"seeds": paired.seed_summary(arms, ks), "per_seed": _per_seed(arms, ks, args)}
        ids, _ = paired.shared_ids([r for runs in arms.values() for r in runs], args.allow_different_tasks)
        report["pooled"] = paired.pooled_over_seeds(arms, ids, ks)
        console().print(seed_table(report["seeds"], ks))
        first = next(iter(arms.values()))
        for i, comp in enumerate(report["per_seed"]):
            _print_comparison(comp, f"seed #{i + 1} ({Path(first[i].path).stem} of each arm)")
        console().print(paired_table({"tasks": len(ids), "pairs": report["pooled"]},
                                     "seeds pooled (each task's pass@k averaged over its arm's seeds)"))
    else:
        runs = [paired.load_run(r) for r in args.results]
        report = paired.compare_runs(runs, ks, args.allow_different_tasks, args.allow_different_verifiers)
        _print_comparison(report, "paired comparison")
        if getattr(args, "plot", None):
            from halo_forge.bench.compare import plot

            plot([(r.name, r.result) for r in runs], args.plot)
            print(f"plot written to {args.plot}")
    if getattr(args, "json_out", None):
        from halo_forge.data.jsonl import write_json_atomic

        write_json_atomic(args.json_out, report)
        print(f"comparison written to {args.json_out}")
    return 0


def _result_files(directory: str) -> list[Path]:
    files = sorted(f for f in Path(directory).glob("*.json") if not f.name.endswith(".samples.json"))
    if not files:
        raise HaloForgeError(f"{directory}: no result JSON files in this directory")
    return files


def _per_seed(arms: dict, ks: list[int], args) -> list[dict]:
    from halo_forge.bench import paired

    sizes = {len(v) for v in arms.values()}
    if len(sizes) != 1:
        raise HaloForgeError("every arm needs the same number of seeds: " +
                             ", ".join(f"{k}: {len(v)}" for k, v in arms.items()))
    names = list(arms)
    return [paired.compare_runs([arms[n][i] for n in names], ks, args.allow_different_tasks,
                                args.allow_different_verifiers) for i in range(sizes.pop())]


def _print_comparison(report: dict, title: str) -> None:
    from halo_forge.cli.tables import console, paired_table

    for w in report["warnings"]:
        print(w)
    if report.get("note"):
        print(report["note"])
    console().print(paired_table(report, title))


def cmd_full(args) -> int:
    from halo_forge.recipes.full import run_full

    result = run_full(model=getattr(args, "model", "smollm2-135m-instruct"), cycles=args.cycles,
                      output_dir=args.output_dir, limit=getattr(args, "limit", None),
                      device=getattr(args, "device", "auto"), seed=getattr(args, "seed", 42),
                      hardware_metrics=getattr(args, "hardware_metrics", False))
    print(json.dumps(result["stages"], indent=2))
    return 0
