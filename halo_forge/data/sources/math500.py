"""MATH-500: 500 competition problems with LaTeX answers (test split only)."""

from __future__ import annotations

import json

from halo_forge.data.registry import ASSETS, DatasetInfo, register_dataset
from halo_forge.data.task import Task

PROMPT = "{problem}\nReason step by step and put your final answer within \\boxed{{}}."


def load(split: str) -> list[Task]:
    path = ASSETS / "math500" / "test.jsonl"
    tasks = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        tasks.append(
            Task(
                id=f"math500/{row['unique_id']}",
                prompt=PROMPT.format(problem=row["problem"]),
                reference=row["solution"],
                verifier={"type": "math", "answer": row["answer"]},
                meta={"source": "math500", "category": row.get("subject", "math"), "level": row.get("level")},
            )
        )
    return tasks


register_dataset(
    DatasetInfo(
        name="math500",
        description="MATH-500 competition math (Hendrycks et al.), 500 test problems (MIT)",
        kind="reasoning",
        splits=("test",),
        loader=load,
        source="bundled: math-evaluation-harness",
    )
)
