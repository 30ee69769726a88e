"""Dataset registry: a dataset is one module in `data/sources/` plus one `register_dataset` call.

Like lm-evaluation-harness's task registry, names map to loaders; `data prepare --list`
prints this table. Bundled datasets load offline; hub datasets go through `datasets`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from halo_forge.data.task import Task
from halo_forge.errors import DataError
from halo_forge.registry import Registry

ASSETS = Path(__file__).parent / "assets"


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    kind: str  # task kind: code | reasoning | agentic | audio | vision
    splits: tuple[str, ...]
    loader: Callable[[str], list[Task]]
    source: str
    offline: bool = True
    sft_only: bool = False  # rows carry a reference answer but no verifier data
    aliases: tuple[str, ...] = field(default_factory=tuple)
    version: str = "1"  # bumped when the rows of any split change (recorded in results' provenance)


DATASETS: Registry[DatasetInfo] = Registry("dataset", ("halo_forge.data.sources",))


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    """A dataset is found by its name and each alias (a name taken by another dataset raises)."""
    for name in (info.name, *info.aliases):
        DATASETS.add(name, info)
    return info


def _ensure_loaded() -> None:
    DATASETS.discover()


def dataset_names() -> list[str]:
    _ensure_loaded()
    return sorted({info.name for info in DATASETS.values()})


def get_dataset(name: str) -> DatasetInfo:
    from halo_forge.data.legacy_names import dataset_name

    _ensure_loaded()
    name = dataset_name(name)
    if name not in DATASETS:
        raise DataError(f"unknown dataset '{name}' (known: {', '.join(dataset_names())})")
    return DATASETS[name]


def load_tasks(name: str, split: str, limit: int | None = None) -> list[Task]:
    info = get_dataset(name)
    if split not in info.splits:
        raise DataError(f"dataset '{name}' has no split '{split}' (splits: {', '.join(info.splits)})")
    tasks = info.loader(split)
    return tasks[:limit] if limit else tasks


def load_task_file(path: str, limit: int | None = None) -> list[Task]:
    """Task rows from a local JSONL; each bad row names its line. Accepts what `data prepare`
    writes: its folder (reads tasks.jsonl), tasks.jsonl, or prompts.jsonl — prompt-only rows,
    which take their verification data from the tasks.jsonl beside them by id."""
    from halo_forge.data.jsonl import iter_jsonl

    p = Path(path)
    if p.is_dir():
        if not (p / "tasks.jsonl").is_file():
            raise DataError(f"{path}: a folder given as a task file must hold tasks.jsonl (as `data prepare` writes)")
        p = p / "tasks.jsonl"
    sibling = _sibling_verifiers(p)
    tasks, first_line = [], {}
    for line, obj in iter_jsonl(p):
        if isinstance(obj, dict) and "verifier" not in obj and obj.get("id") in sibling:
            obj = {**sibling[obj["id"]], **obj}
        task = Task.from_dict(obj, where=f"{p}:{line}")
        if task.id in first_line:
            raise DataError(f"{p}:{line}: duplicate task id '{task.id}' (first at line {first_line[task.id]})")
        first_line[task.id] = line
        tasks.append(task)
    if not tasks:
        raise DataError(f"{p}: no task rows")
    return tasks[:limit] if limit else tasks


def _sibling_verifiers(path: Path) -> dict[str, dict]:
    """For a `data prepare` prompts.jsonl: the verification fields of each id in tasks.jsonl beside it."""
    from halo_forge.data.jsonl import iter_jsonl

    twin = path.with_name("tasks.jsonl")
    if path.name != "prompts.jsonl" or not twin.is_file():
        return {}
    return {row["id"]: {k: v for k, v in row.items() if k in ("verifier", "reference", "media", "meta")}
            for _, row in iter_jsonl(twin) if isinstance(row, dict) and "id" in row}


def load_source_tasks(dataset: str | None, prompts: str | None, split: str, limit: int | None) -> list[Task]:
    """The tasks a run works on: a task file or seed-prompt template file (`prompts`, .jsonl or
    .yaml) or a registered dataset's split, with
    their media checked to exist before any model is loaded. Shared by RAFT, benchmarks and
    `data generate`."""
    from halo_forge.data.media import check_media
    from halo_forge.data.seed_prompts import is_seed_file, load_seed_file

    if prompts:
        tasks = load_seed_file(prompts, limit) if is_seed_file(prompts) else load_task_file(prompts, limit)
    else:
        tasks = load_tasks(dataset or "", split, limit)
    check_media(tasks)
    return tasks
