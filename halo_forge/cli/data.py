"""`halo-forge data {prepare,generate,validate}`."""

from __future__ import annotations

import json

from halo_forge.cli import common
from halo_forge.errors import DataError


def register(sub) -> None:
    p = sub.add_parser("data", help="prepare, generate and validate datasets")
    g = p.add_subparsers(dest="data_command", metavar="ACTION")

    prep = g.add_parser("prepare", help="write a registered dataset as task/prompt files")
    prep.add_argument("--list", action="store_true", help="list registered datasets")
    prep.add_argument("--dataset", "-d")
    prep.add_argument("--split")
    prep.add_argument("--limit", type=int)
    prep.add_argument("--output-dir", "-o", dest="output_dir")
    prep.set_defaults(handler=cmd_prepare)

    gen = g.add_parser("generate", help="sample completions for a task file with a model (every sample kept)")
    common.add_config_flag(gen)
    common.add_model_flags(gen)
    common.add_source_flags(gen)
    common.add_generation_flags(gen)
    common.add_sandbox_flags(gen)
    gen.add_argument("--samples", "-n", type=int, help="samples per task")
    gen.add_argument("--output", "-o", required=True, help="samples JSONL to write")
    gen.set_defaults(handler=cmd_generate)

    val = g.add_parser("validate", help="check a JSONL file's format, naming every bad line")
    val.add_argument("file")
    val.set_defaults(handler=cmd_validate)


def cmd_prepare(args) -> int:
    from halo_forge.data.registry import DATASETS, dataset_names
    from halo_forge.data.prepare import prepare_dataset

    if getattr(args, "list", False):
        from rich.console import Console
        from rich.table import Table

        table = Table(title="datasets")
        for col in ("name", "kind", "splits", "offline", "description"):
            table.add_column(col)
        for name in dataset_names():
            info = DATASETS[name]
            table.add_row(name, info.kind, ",".join(info.splits), "yes" if info.offline else "hub", info.description)
        Console().print(table)
        return 0
    if not getattr(args, "dataset", None) or not getattr(args, "output_dir", None):
        raise DataError("data prepare needs --dataset NAME and --output-dir DIR (or --list)")
    summary = prepare_dataset(args.dataset, args.output_dir, getattr(args, "split", None), getattr(args, "limit", None))
    print(json.dumps(summary, indent=2))
    return 0


def cmd_generate(args) -> int:
    from halo_forge.bench.runner import generate_samples_cli

    return generate_samples_cli(args)


def cmd_validate(args) -> int:
    from halo_forge.data.validate import validate_file

    rep = validate_file(args.file)
    for problem in rep.problems[:50]:
        print(problem)
    if len(rep.problems) > 50:
        print(f"... and {len(rep.problems) - 50} more problems")
    print(f"{args.file}: format={rep.format or 'unknown'} rows={rep.rows} problems={len(rep.problems)}")
    return 0 if rep.ok else 2
