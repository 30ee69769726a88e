"""Berkeley Function Calling Leaderboard v4 categories with their ground truths.

Each category is also a split (`simple`, `multiple`, `parallel`, `parallel_multiple`,
`irrelevance`); `test` is all of them (the benchmark suite). For training, `train` and
`heldout` split every category by position (every fifth item held out), so an agentic RAFT run
can be scored on items it never trained on. The tools travel in the task's verifier spec.
"""

from __future__ import annotations

import json

from halo_forge.data.registry import ASSETS, DatasetInfo, register_dataset
from halo_forge.data.task import Task

FILES = {
    "simple": "BFCL_v4_simple_python.json",
    "multiple": "BFCL_v4_multiple.json",
    "parallel": "BFCL_v4_parallel.json",
    "parallel_multiple": "BFCL_v4_parallel_multiple.json",
    "irrelevance": "BFCL_v4_irrelevance.json",
}


def _read(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_category(category: str) -> list[Task]:
    base = ASSETS / "bfcl"
    answers = {}
    gt_path = base / "possible_answer" / FILES[category]
    if gt_path.exists():
        answers = {r["id"]: r["ground_truth"] for r in _read(gt_path)}
    tasks = []
    for row in _read(base / FILES[category]):
        turn = row["question"][0]
        tasks.append(
            Task(
                id=f"bfcl/{row['id']}",
                messages=turn,
                verifier={"type": "toolcall", "tools": row["function"], "ground_truth": answers.get(row["id"], []),
                          "category": category},
                meta={"source": "bfcl", "category": category},
            )
        )
    return tasks


def load(split: str) -> list[Task]:
    if split in ("train", "heldout"):
        return [t for c in FILES for i, t in enumerate(load_category(c)) if (i % 5 == 4) == (split == "heldout")]
    cats = list(FILES) if split == "test" else [split]
    return [t for c in cats for t in load_category(c)]


register_dataset(
    DatasetInfo(
        name="bfcl",
        description="BFCL v4 function calling: simple/multiple/parallel/parallel_multiple/irrelevance (Apache-2.0)",
        kind="agentic",
        splits=("test", "train", "heldout", *FILES),
        loader=load,
        source="bundled: bfcl-eval 2026.3.23",
    )
)
