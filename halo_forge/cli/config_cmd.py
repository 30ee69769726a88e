"""`halo-forge config validate FILE`: check a config without running anything."""

from __future__ import annotations

from pathlib import Path

from halo_forge.errors import ConfigError


def register(sub) -> None:
    p = sub.add_parser("config", help="work with config files")
    g = p.add_subparsers(dest="config_command", metavar="ACTION")
    v = g.add_parser("validate", help="load a YAML config into its typed schema and report problems")
    v.add_argument("file", help="YAML config to check")
    v.add_argument("--type", dest="config_type", choices=["sft", "raft", "benchmark"],
                   help="config type (default: from the file name, else tried in turn)")
    v.set_defaults(handler=cmd_validate)


def config_type_for(path: str, explicit: str | None = None) -> list[str]:
    if explicit:
        return [explicit]
    stem = Path(path).stem.lower()
    for name in ("sft", "benchmark", "raft"):
        if stem.startswith(name) or f"_{name}" in stem:
            return [name]
    return ["raft", "sft", "benchmark"]


def cmd_validate(args) -> int:
    from halo_forge.config import CONFIG_TYPES, load_config

    candidates = config_type_for(args.file, getattr(args, "config_type", None))
    first_error: ConfigError | None = None
    for name in candidates:
        try:
            cfg = load_config(CONFIG_TYPES[name], args.file)
        except ConfigError as exc:
            first_error = first_error or exc
            continue
        print(f"{args.file}: valid {name} config ({len(cfg.model_dump())} top-level keys)")
        return 0
    raise first_error  # type: ignore[misc]
