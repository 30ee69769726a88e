"""Sanitized MBPP (Austin et al. 2021) with its standard splits by task id.

Splits: prompt 1-10, test 11-510, validation 511-600, train 601-974. The entry point is the
reference solution's function that the tests call, so the prompt can name the function to write.
"""

from __future__ import annotations

import ast
import json
import re
import warnings

from halo_forge.data.registry import ASSETS, DatasetInfo, register_dataset
from halo_forge.data.task import Task

SPLITS = {"prompt": (1, 10), "test": (11, 510), "validation": (511, 600), "train": (601, 974)}
POOLS = {"nontest": ("prompt", "validation", "train")}  # every task outside the test ids (a training pool)
# Near-twins of a test problem outside the test ids (`halo-forge data overlap --dataset mbpp`): the same
# question, or the same solution up to renaming and an operator (569 is test 104 with other quotes;
# 608 is test 67's Bell number with identical code; 800/451, 756/434, 584/440 ...). The standard
# splits stay as published; the training pool `nontest` leaves them out (dataset version 2; version 1
# left out only 569).
TEST_DUPLICATES = frozenset({569, 4, 8, 562, 574, 577, 584, 588, 599, 600, 608, 616, 618, 624, 726, 736, 756, 764,
                             787, 794, 800})

PROMPT = (
    "You are an expert Python programmer, and here is your task: {text}\n"
    "Write a Python function named `{entry_point}`. Your code should pass these tests:\n\n{tests}\n\n"
    "Answer with the complete function in a ```python code block."
)


def entry_point_of(code: str, tests: list[str]) -> str:
    """The function defined by the reference code that the tests call first."""
    with warnings.catch_warnings():  # reference solutions with "\." in plain strings: noise in a RAFT run's terminal
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # the same warning before Python 3.12
        tree = ast.parse(code)
    defined = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    joined = "\n".join(tests)
    called = [m.group(1) for m in re.finditer(r"\b([A-Za-z_]\w*)\s*\(", joined)]
    for name in called:
        if name in defined:
            return name
    return defined[0] if defined else called[0]


def _rows() -> list[dict]:
    path = ASSETS / "mbpp" / "sanitized-mbpp.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def mbpp_task(row: dict) -> Task:
    tests = row["test_list"]
    entry = entry_point_of(row["code"], tests)
    prompt = PROMPT.format(text=row["prompt"] if "prompt" in row else row["text"], entry_point=entry, tests="\n".join(tests))
    return Task(
        id=f"mbpp/{row['task_id']}",
        prompt=prompt,
        reference=row["code"],
        verifier={
            "type": "mbpp",
            "entry_point": entry,
            "tests": tests,
            "setup": row.get("test_setup_code") or "",
            "imports": [ln for ln in row["code"].splitlines() if ln.startswith(("import ", "from "))],
        },
        meta={"source": "mbpp", "task_id": row["task_id"], "category": "python"},
    )


def load(split: str) -> list[Task]:
    ranges = [SPLITS[s] for s in POOLS.get(split, (split,))]
    return [mbpp_task(r) for r in _rows() if any(lo <= r["task_id"] <= hi for lo, hi in ranges)
            and (split not in POOLS or r["task_id"] not in TEST_DUPLICATES)]


register_dataset(
    DatasetInfo(
        name="mbpp",
        description="Sanitized MBPP: 427 Python problems with asserts (CC-BY-4.0)",
        kind="code",
        splits=(*SPLITS, *POOLS),
        loader=load,
        source="bundled: google-research mbpp sanitized",
        version="2",
    )
)
