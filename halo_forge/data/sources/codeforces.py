"""Codeforces C++ problems with reference solutions (no tests): compile-verified tasks.

The 500 upstream rows hold only 104 distinct problems (several solutions each), so tasks
are de-duplicated by statement (one task per problem, id = its first row) and split by
problem: every fifth distinct problem is held out as `test` (20 problems), so the held-out
compile rate is measured on problems never seen in training, under any of their solutions.
"""

from __future__ import annotations

import json

from halo_forge.data.registry import ASSETS, DatasetInfo, register_dataset
from halo_forge.data.task import Task
from halo_forge.data.answers import extract_code

PROMPT = "Solve this competitive programming problem in C++17. Read from stdin, write to stdout. Answer with one ```cpp code block.\n\n{statement}"


def load(split: str) -> list[Task]:
    path = ASSETS / "codeforces_cpp" / "codeforces_cpp_500.jsonl"
    tasks = []
    seen: dict[str, int] = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        if row["prompt"] in seen:
            continue
        seen[row["prompt"]] = len(seen)
        held_out = seen[row["prompt"]] % 5 == 4
        if (split == "test") != held_out:
            continue
        tasks.append(
            Task(
                id=f"codeforces_cpp/{i}",
                prompt=PROMPT.format(statement=row["prompt"]),
                reference=extract_code(row["response"], language="cpp"),
                verifier={"type": "gcc", "language": "cpp"},
                meta={"source": "codeforces_cpp", "title": row.get("title"), "category": str(row.get("difficulty", "unknown"))},
            )
        )
    return tasks


register_dataset(
    DatasetInfo(
        name="codeforces_cpp",
        description="104 distinct Codeforces problems with reference C++ (compile-verified; 84 train / 20 test)",
        kind="code",
        splits=("train", "test"),
        loader=load,
        source="bundled: open-r1/codeforces-cots sample",
    )
)
