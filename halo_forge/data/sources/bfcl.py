"""Berkeley Function Calling Leaderboard v4 categories with their ground truths.

Each category is also a split (`simple`, `multiple`, `parallel`, `parallel_multiple`,
`irrelevance`); `test` is all of them (the benchmark suite). For training, `train` and
`heldout` split by the user's question text (about one question in five held out, by a hash of
the normalised text), so the same question asked in two categories never straddles the split,
and training items that are near-twins of a held-out question (`data overlap`) are left out of
`train`. Version 2 (version 1 split by position: 27 held-out items had a training twin). The
tools travel in the task's verifier spec.
"""

from __future__ import annotations

import hashlib
import json
import re

from halo_forge.data.registry import ASSETS, DatasetInfo, register_dataset
from halo_forge.data.task import Task

FILES = {
    "simple": "BFCL_v4_simple_python.json",
    "multiple": "BFCL_v4_multiple.json",
    "parallel": "BFCL_v4_parallel.json",
    "parallel_multiple": "BFCL_v4_parallel_multiple.json",
    "irrelevance": "BFCL_v4_irrelevance.json",
}


#: training items whose question is a near-twin of a held-out one (found by `halo-forge data overlap`)
HELDOUT_TWINS = frozenset({"bfcl/parallel_62", "bfcl/simple_python_95", "bfcl/multiple_67"})


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


def question_key(task: Task) -> str:
    text = " ".join(str(m.get("content", "")) for m in task.messages or [] if m.get("role") == "user")
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def is_heldout(task: Task) -> bool:
    return int(hashlib.sha256(question_key(task).encode()).hexdigest(), 16) % 5 == 4


def load(split: str) -> list[Task]:
    if split in ("train", "heldout"):
        want = split == "heldout"
        return [t for c in FILES for t in load_category(c)
                if is_heldout(t) == want and (want or t.id not in HELDOUT_TWINS)]
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
        version="2",
    )
)
