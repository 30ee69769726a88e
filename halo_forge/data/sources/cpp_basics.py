"""Built-in C++ stdin/stdout exercises with tests: the demo's and `benchmark full`'s prompts."""

from __future__ import annotations

import json

from halo_forge.data.registry import ASSETS, DatasetInfo, register_dataset
from halo_forge.data.task import Task

PROMPT = (
    "Write a complete C++17 program for this task. {statement} "
    "Read from standard input and write to standard output. Answer with one ```cpp code block."
)


#: training exercises that are near-twins of a test one (`halo-forge data overlap --dataset cpp_basics`):
#: sum_array ~ average/min_array, palindrome ~ reverse_string, sort_numbers ~ reverse_array. Left out
#: of `train` since dataset version 2.
TRAIN_TWINS_OF_TEST = frozenset({"sum_array", "palindrome", "sort_numbers"})


def load(split: str) -> list[Task]:
    path = ASSETS / "cpp_basics" / "tasks.jsonl"
    tasks = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if split != "all" and row["split"] != split or split == "train" and row["name"] in TRAIN_TWINS_OF_TEST:
            continue
        tasks.append(
            Task(
                id=f"cpp_basics/{row['name']}",
                prompt=PROMPT.format(statement=row["statement"]),
                reference=row["reference"],
                verifier={"type": "execution", "language": "cpp", "tests": row["tests"], "match": "whitespace"},
                meta={"source": "cpp_basics", "category": "cpp"},
            )
        )
    return tasks


register_dataset(
    DatasetInfo(
        name="cpp_basics",
        description="30 built-in C++ stdin/stdout exercises with tests (17 train / 10 test)",
        kind="code",
        splits=("train", "test", "all"),
        loader=load,
        source="bundled: written for halo-forge",
        version="2",
    )
)
