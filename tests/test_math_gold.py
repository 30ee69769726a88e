"""The math checker on every GSM8K gold answer, the percent/unit cases and expression rejection."""

import pytest

from halo_forge.data.sources.gsm8k import read_split
from halo_forge.data.task import Task
from halo_forge.verify.math import MathVerifier, answers_equal


@pytest.mark.parametrize("split,count", [("train", 7473), ("test", 1319)])
def test_every_gold_solution_verifies_and_a_shuffled_one_does_not(split, count):
    rows = read_split(split)
    assert len(rows) == count
    v = MathVerifier()
    golds = [r["answer"].rpartition("####")[2].strip().replace(",", "") for r in rows]
    wrong = []
    for i, (row, gold) in enumerate(zip(rows, golds)):
        task = Task(id=str(i), prompt="q", verifier={"type": "math", "answer": gold})
        r = v.check(task, row["answer"])  # the gold solution text, calculator notes and all
        if not r.passed or r.details["how"] != "marker":
            wrong.append((i, gold, r.details))
        other = rows[(i + 1) % len(rows)]
        if golds[(i + 1) % len(rows)] != gold:
            assert not v.check(task, other["answer"]).passed, (i, gold)
    assert wrong == []


@pytest.mark.parametrize("pred,gold", [
    ("25%", "25"), ("25 percent", "25"), ("25 per cent", "25"), ("$18", "18"), ("18 dollars", "18"),
    ("18 (dollars)", "18"), ("18.00", "18"), ("1,000", "1000"), ("$1,250.50", "1250.5"), ("x = 18", "18"),
    ("\\$18", "18"), ("18 apples", "18"), ("\\frac{1}{2}", "0.5"), ("25%", "0.25"), ("\\text{18 cm}", "18"),
])
def test_accepted_forms(pred, gold):
    assert answers_equal(pred, gold)


@pytest.mark.parametrize("pred,gold", [
    ("16 + 2", "18"), ("9*2", "18"), ("36/2 + 0", "18"), ("17 or 18", "18"), ("17, 18", "18"), ("1800%", "18"),
    ("0.25", "25"), ("1,00", "100"), ("18 + x", "18"),
])
def test_rejected_forms(pred, gold):
    assert not answers_equal(pred, gold)


def test_expressions_allowed_when_the_task_says_so():
    v = MathVerifier()
    task = Task(id="t", prompt="q", verifier={"type": "math", "answer": "18", "allow_expressions": True})
    assert v.check(task, "#### 16 + 2").passed
    assert not v.check(Task(id="t", prompt="q", verifier={"type": "math", "answer": "18"}), "#### 16 + 2").passed


def test_extraction_route_is_recorded():
    v = MathVerifier()
    task = Task(id="t", prompt="q", verifier={"type": "math", "answer": "7"})
    assert v.check(task, "so \\boxed{7}").details["how"] == "boxed"
    assert v.check(task, "work\n#### 7").details["how"] == "marker"
    assert v.check(task, "I think 3 then 7").details["how"] == "last_number"
