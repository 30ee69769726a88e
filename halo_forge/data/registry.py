"""Dataset registry: a dataset is one module in `data/sources/` plus one `register_dataset` call.

Like lm-evaluation-harness's task registry, names map to loaders; `data prepare --list`
prints this table. Bundled datasets load offline; hub datasets go through `datasets`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from halo_forge.data.task import Task
from halo_forge.errors import DataError

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


DATASETS: dict[str, DatasetInfo] = {}

_SOURCE_MODULES = ("mbpp", "humaneval", "codeforces", "gsm8k", "math500", "bfcl", "cpp_basics", "cpp_translated",
                   "speech_synth", "vision_synth", "hub", "hub_media")


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    for name in (info.name, *info.aliases):
        DATASETS[name] = info
    return info


_loaded = False


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    for mod in _SOURCE_MODULES:
        importlib.import_module(f"halo_forge.data.sources.{mod}")
    _loaded = True


def dataset_names() -> list[str]:
    _ensure_loaded()
    return sorted({info.name for info in DATASETS.values()})


def get_dataset(name: str) -> DatasetInfo:
    from halo_forge.config.legacy import dataset_name

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
    """Task rows from a local JSONL (as written by `data prepare`); each bad row names its line."""
    from halo_forge.data.jsonl import iter_jsonl

    tasks, first_line = [], {}
    for line, obj in iter_jsonl(path):
        task = Task.from_dict(obj, where=f"{path}:{line}")
        if task.id in first_line:
            raise DataError(f"{path}:{line}: duplicate task id '{task.id}' (first at line {first_line[task.id]})")
        first_line[task.id] = line
        tasks.append(task)
    if not tasks:
        raise DataError(f"{path}: no task rows")
    return tasks[:limit] if limit else tasks


def load_source_tasks(dataset: str | None, prompts: str | None, split: str, limit: int | None) -> list[Task]:
    """The tasks a run works on: a task file (`prompts`) or a registered dataset's split, with
    their media checked to exist before any model is loaded. Shared by RAFT, benchmarks and
    `data generate`."""
    from halo_forge.data.media import check_media

    tasks = load_task_file(prompts, limit) if prompts else load_tasks(dataset or "", split, limit)
    check_media(tasks)
    return tasks
