"""`halo-forge data {prepare,generate,overlap,validate}`."""

from __future__ import annotations

import json
import sys

from halo_forge.cli import common
from halo_forge.cli.options import add_options, config_overrides, opt
from halo_forge.config.schema import BenchmarkConfig
from halo_forge.errors import DataError


GENERATE_OPTS = [*common.MODEL_OPTS, *common.SOURCE_OPTS, *common.GEN_OPTS, *common.SANDBOX_OPTS,
                 opt("samples", "--samples", "--samples-per-prompt", "-n"), opt("verifier.name", "--verifier", "-v")]


def register(sub) -> None:
    p = sub.add_parser("data", help="prepare, generate and validate datasets")
    g = p.add_subparsers(dest="data_command", metavar="ACTION")

    prep = g.add_parser("prepare", help="write a registered dataset as task/prompt files")
    prep.add_argument("--list", action="store_true", help="list registered datasets")
    prep.add_argument("--dataset", "-d", help="registered dataset")
    prep.add_argument("--split", help="split to write (default: train, or the first split)")
    prep.add_argument("--limit", type=common.positive_int, help="only the first N tasks (N >= 1)")
    prep.add_argument("--output-dir", "-o", dest="output_dir", help="folder for tasks.jsonl, prompts.jsonl, ...")
    prep.set_defaults(handler=cmd_prepare)

    gen = g.add_parser("generate", help="sample completions for a task file with a model (every sample kept)")
    common.add_config_flag(gen)
    add_options(gen, BenchmarkConfig, GENERATE_OPTS)
    gen.add_argument("--output", "-o", required=True, help="samples JSONL to write (teacher backends: SFT rows)")
    teacher = gen.add_argument_group("teacher backends (rejection-sampled distillation: only verified answers kept)")
    teacher.add_argument("--backend", default="local", choices=["local", "openai", "deepseek", "anthropic", "ollama"],
                         help="local: sample --model here (default); others: ask a teacher LLM's API")
    teacher.add_argument("--teacher-model", dest="teacher_model", help="the model name the teacher API serves")
    teacher.add_argument("--base-url", dest="base_url", help="API base URL (any OpenAI-compatible server; Ollama's)")
    teacher.add_argument("--api-key-env", dest="api_key_env",
                         help="environment variable with the key (default OPENAI_API_KEY, DEEPSEEK_API_KEY, "
                              "ANTHROPIC_API_KEY)")
    teacher.add_argument("--concurrency", type=common.positive_int, default=4, help="requests in flight")
    teacher.add_argument("--requests-per-s", dest="requests_per_s", type=float, default=0.0,
                         help="start at most this many requests a second (0: no limit)")
    gen.set_defaults(handler=cmd_generate)

    ov = g.add_parser("overlap", help="exact and near duplicates between two splits (question and reference)")
    ov.add_argument("--dataset", "-d", help="registered dataset")
    ov.add_argument("--between", nargs=2, metavar=("TRAIN", "HELDOUT"), help="training pool and held-out split")
    ov.add_argument("--all", dest="check_all", action="store_true",
                    help="every bundled dataset's training pool against its held-out split")
    ov.add_argument("--question-threshold", type=float, help="flag at this question similarity (default 0.8)")
    ov.add_argument("--reference-threshold", type=float, help="flag at this reference similarity (default 0.95)")
    ov.add_argument("--json", dest="json_out", help="write the flagged pairs here")
    ov.set_defaults(handler=cmd_overlap)

    val = g.add_parser("validate", help="check a JSONL file's format, naming every bad line")
    val.add_argument("file", help="the JSONL file to check")
    val.set_defaults(handler=cmd_validate)


def cmd_prepare(args) -> int:
    from halo_forge.data.registry import DATASETS, dataset_names
    from halo_forge.data.prepare import prepare_dataset

    if getattr(args, "list", False):
        from rich.table import Table

        from halo_forge.cli.tables import console

        table = Table(title="datasets")
        for col in ("name", "kind", "splits", "offline", "description"):
            table.add_column(col, no_wrap=col != "description")
        for name in dataset_names():
            info = DATASETS[name]
            table.add_row(name, info.kind, ",".join(info.splits), "yes" if info.offline else "hub", info.description)
        console().print(table)
        return 0
    if not getattr(args, "dataset", None) or not getattr(args, "output_dir", None):
        raise DataError("data prepare needs --dataset NAME and --output-dir DIR (or --list)")
    summary = prepare_dataset(args.dataset, args.output_dir, getattr(args, "split", None), getattr(args, "limit", None))
    print(json.dumps(summary, indent=2))
    return 0


def cmd_generate(args) -> int:
    """`data generate`: N samples per task, each saved with its verdict (re-score later with
    `verify`). The samples go to --output; the run's summary (pass@k, provenance) beside it as
    OUTPUT.summary.json."""
    from pathlib import Path

    from halo_forge.bench.runner import run_benchmark
    from halo_forge.config import BenchmarkConfig, load_config
    from halo_forge.data.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic

    out = Path(args.output)
    summary = out.with_name(out.name.removesuffix(".gz").removesuffix(".jsonl") + ".summary.json")
    ov = config_overrides(args, GENERATE_OPTS)
    ov.update(output=str(summary), report=False)
    cfg = load_config(BenchmarkConfig, getattr(args, "config", None), ov)
    if getattr(args, "backend", "local") != "local":
        return _generate_with_teacher(args, cfg, out, summary)
    result = run_benchmark(cfg)
    written = Path(result["samples_file"])
    if written != out:
        write_jsonl_atomic(out, read_jsonl(written))
        written.unlink()
        result["samples_file"] = str(out)
        write_json_atomic(summary, result)
    print(json.dumps({k: result[k] for k in ("total", "passed", "pass_rate", "pass_at_k", "samples_file")}, indent=2))
    print(f"summary: {summary}")
    return 0


def _generate_with_teacher(args, cfg, out, summary) -> int:
    """Teacher answers for each task, verified by the task's verifier; passing ones become SFT rows."""
    from halo_forge.data.jsonl import write_json_atomic
    from halo_forge.data.registry import load_source_tasks
    from halo_forge.data.teacher.backends import make_backend
    from halo_forge.data.teacher.distill import Settings, distill
    from halo_forge.tasks import get_task_kind, resolve_verifier
    from halo_forge.verify.sandbox.guard import require_isolation

    if not out.parent.is_dir():
        raise DataError(f"{out.parent}: output folder does not exist")
    kind = get_task_kind(cfg.task)
    tasks = load_source_tasks(cfg.dataset, cfg.prompts, cfg.split, cfg.limit)
    verifier = resolve_verifier(kind, cfg.verifier, tasks)
    vname = verifier.name
    isolation = require_isolation(verifier, tasks, cfg.sandbox.allow_weak)
    backend = make_backend(args.backend, getattr(args, "teacher_model", None) or "", getattr(args, "base_url", None),
                           getattr(args, "api_key_env", None))
    settings = Settings(args.backend, args.teacher_model, cfg.samples, cfg.generation.temperature,
                        cfg.generation.max_new_tokens, cfg.seed, getattr(args, "concurrency", 4),
                        getattr(args, "requests_per_s", 0.0))
    result = distill(tasks, kind, verifier, backend, settings, out)
    result["isolation"] = isolation
    write_json_atomic(summary, result)
    print(f"{result['kept']} of {result['asked']} teacher answers passed {vname} "
          f"({result['answered']} tasks answered, {result['skipped_done']} done earlier); "
          f"tokens in {result['tokens_in']}, out {result['tokens_out']}")
    print(f"rows: {out}  summary: {summary}")
    if result["failed_tasks"]:
        print(f"error: {len(result['failed_tasks'])} tasks failed after retries (first: {result['failed_tasks'][0]});"
              " re-run the same command to retry them", file=sys.stderr)
        return 1
    return 0


def cmd_overlap(args) -> int:
    """Exit 0 when clean, 1 when any pair is at or above a threshold, 2 on bad input."""
    from halo_forge.data import load_tasks
    from halo_forge.data.overlap import CHECKED_SPLITS, QUESTION_THRESHOLD, REFERENCE_THRESHOLD, find_overlaps

    if getattr(args, "check_all", False):
        checks = list(CHECKED_SPLITS)
    elif getattr(args, "dataset", None) and getattr(args, "between", None):
        checks = [(args.dataset, *args.between)]
    else:
        raise DataError("data overlap needs --dataset X --between TRAIN HELDOUT, or --all")
    q = getattr(args, "question_threshold", None) or QUESTION_THRESHOLD
    r = getattr(args, "reference_threshold", None) or REFERENCE_THRESHOLD
    report = {}
    for name, train, heldout in checks:
        pairs = find_overlaps(load_tasks(name, train), load_tasks(name, heldout), q, r)
        report[f"{name}:{train}~{heldout}"] = [p.to_dict() for p in pairs]
        print(f"{name}: {train} vs {heldout}: {len(pairs)} pair(s) at question >= {q} or reference >= {r}")
        for p in pairs[:50]:
            print(f"  {p.heldout}  ~  {p.train}   question {p.question:.2f}  reference {p.reference:.2f}")
    if getattr(args, "json_out", None):
        from halo_forge.data.jsonl import write_json_atomic

        write_json_atomic(args.json_out, report)
    return 1 if any(report.values()) else 0


def cmd_validate(args) -> int:
    from halo_forge.data.validate import validate_file

    rep = validate_file(args.file)
    for problem in rep.problems[:50]:
        print(problem)
    if len(rep.problems) > 50:
        print(f"... and {len(rep.problems) - 50} more problems")
    print(f"{args.file}: format={rep.format or 'unknown'} rows={rep.rows} problems={len(rep.problems)}")
    return 0 if rep.ok else 2
