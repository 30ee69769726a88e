"""`data prepare`: write a dataset's prompt file, full task file, validation subset and summary."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

from halo_forge.data.jsonl import write_json_atomic, write_jsonl_atomic
from halo_forge.data.registry import get_dataset, load_tasks
from halo_forge.data.task import Task

VALIDATION_SIZE = 50


def _validation_subset(name: str, split: str, tasks: list[Task]) -> tuple[list[Task], list[Task], str]:
    """A small validation set that never overlaps the training rows written beside it."""
    info = get_dataset(name)
    for other in ("validation", "test"):
        if other != split and other in info.splits:
            val = load_tasks(name, other)[:VALIDATION_SIZE]
            return tasks, val, f"first {len(val)} rows of split '{other}'"
    n = max(1, min(VALIDATION_SIZE, len(tasks) // 10))
    if len(tasks) <= 1:
        return tasks, [], "none (too few rows)"
    return tasks[:-n], tasks[-n:], f"last {n} rows of split '{split}' (removed from tasks.jsonl)"


def prepare_dataset(name: str, output_dir: str, split: str | None = None, limit: int | None = None) -> dict[str, Any]:
    info = get_dataset(name)
    split = split or ("train" if "train" in info.splits else info.splits[0])
    tasks = load_tasks(name, split, limit)
    train, val, how = _validation_subset(name, split, tasks)
    out = Path(output_dir)
    write_jsonl_atomic(out / "tasks.jsonl", [t.to_dict() for t in train])
    write_jsonl_atomic(out / "prompts.jsonl",
                       [{"id": t.id, **({"messages": t.messages} if t.messages else {"prompt": t.prompt})} for t in train])
    write_jsonl_atomic(out / "validation.jsonl", [t.to_dict() for t in val])
    cats = collections.Counter(str(t.meta.get("category", "uncategorized")) for t in train)
    summary = {
        "dataset": name,
        "split": split,
        "source": info.source,
        "description": info.description,
        "tasks": len(train),
        "validation": len(val),
        "validation_from": how,
        "verifier_types": sorted({t.verifier["type"] for t in train}),
        "categories": dict(cats),
        "files": {"tasks": "tasks.jsonl", "prompts": "prompts.jsonl", "validation": "validation.jsonl"},
    }
    write_json_atomic(out / "dataset_summary.json", summary)
    return summary
