"""One-step arithmetic word problems from a seeded generator (the CPU demo's task).

Why it exists: the embedded 135M model solves ~10% of these when sampled — enough signal for
RAFT to learn from on two CPU cores, where GSM8K (~2%) gives it almost none. What it measures:
a drill. Held-out items are new number pairs on the same four templates (no (template, a, b)
triple is shared with train), so a held-out gain here is in-distribution skill on this family,
never evidence of general reasoning; `data overlap` would call every item a twin of another.
"""

from __future__ import annotations

import random

from halo_forge.data.registry import DatasetInfo, register_dataset
from halo_forge.data.task import Task

VERSION = "1"
ITEMS = 400
NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jun", "Kofi", "Lea")
THINGS = ("apples", "books", "coins", "marbles", "pencils", "stickers", "shells", "cards")
SUFFIX = " Give the final answer as \\boxed{N}."


def _add(rng: random.Random) -> tuple[str, int, int, int]:
    a, b = rng.randint(2, 60), rng.randint(2, 60)
    return "{name} has {a} {thing} and gets {b} more. How many {thing} does {name} have now?", a, b, a + b


def _sub(rng: random.Random) -> tuple[str, int, int, int]:
    a = rng.randint(10, 90)
    b = rng.randint(1, a - 1)
    return "{name} had {a} {thing} and gave {b} of them away. How many {thing} are left?", a, b, a - b


def _mul(rng: random.Random) -> tuple[str, int, int, int]:
    a, b = rng.randint(2, 25), rng.randint(2, 12)
    return "A bag holds {a} {thing}. How many {thing} are in {b} such bags?", a, b, a * b


def _days(rng: random.Random) -> tuple[str, int, int, int]:
    a, b = rng.randint(2, 30), rng.randint(2, 12)
    return "{name} collects {a} {thing} every day for {b} days. How many {thing} is that in total?", a, b, a * b


FAMILIES = (_add, _sub, _mul, _days)


def item(i: int) -> tuple[str, str, tuple[str, int, int], str]:
    """Item i: (prompt, answer, (template, a, b), family)."""
    rng = random.Random(f"arith_synth/{VERSION}/{i}")
    family = FAMILIES[i % len(FAMILIES)]
    template, a, b, answer = family(rng)
    text = template.format(name=rng.choice(NAMES), thing=rng.choice(THINGS), a=a, b=b)
    return text + SUFFIX, str(answer), (template, a, b), family.__name__.lstrip("_")


def load(split: str) -> list[Task]:
    items = [(i, *item(i)) for i in range(ITEMS)]
    train_keys = {key for i, _, _, key, _ in items if i % 5 != 4}
    tasks = []
    for i, prompt, answer, key, family in items:
        if (split == "test") != (i % 5 == 4) or (split == "test" and key in train_keys):
            continue
        tasks.append(Task(id=f"arith_synth/{i}", prompt=prompt, reference=f"{answer}\n\\boxed{{{answer}}}",
                          verifier={"type": "math", "answer": answer},
                          meta={"source": "arith_synth", "category": family}))
    return tasks


register_dataset(
    DatasetInfo(
        name="arith_synth",
        description="400 one-step arithmetic word problems from a seeded generator (the CPU demo's drill set; "
                    "320 train / up to 80 test, no shared number triple)",
        kind="reasoning",
        splits=("train", "test"),
        loader=load,
        source="generated: four templates, seeded numbers",
    )
)
