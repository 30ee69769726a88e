"""Math and tool-calling verifiers, checked against the datasets' own references."""

import json

import pytest

from halo_forge.data import load_tasks
from halo_forge.verify.math import answers_equal, extract_answer, last_boxed
from halo_forge.verify.registry import get_verifier


def test_gsm8k_gold_solutions_verify():
    tasks = load_tasks("gsm8k", "test")
    assert len(tasks) == 1319
    v = get_verifier("math")
    res = v.verify_batch([(t, t.reference) for t in tasks])
    assert [t.id for t, r in zip(tasks, res) if not r.passed] == []


def test_gsm8k_perturbed_answers_fail():
    tasks = load_tasks("gsm8k", "test", 300)
    v = get_verifier("math")
    for t in tasks:
        wrong = str(int(float(t.verifier["answer"])) + 1)
        r = v.verify(t, f"Some working here that shows steps.\n#### {wrong}")
        assert not r.passed and r.reward == 0.0, t.id


def test_math500_gold_answers_verify():
    tasks = load_tasks("math500", "test")
    assert len(tasks) == 500
    v = get_verifier("math")
    res = v.verify_batch([(t, f"The final answer is $\\boxed{{{t.verifier['answer']}}}$.") for t in tasks])
    assert [t.id for t, r in zip(tasks, res) if not r.passed] == []


def test_math500_reference_solutions_verify():
    tasks = load_tasks("math500", "test")
    v = get_verifier("math")
    res = v.verify_batch([(t, t.reference) for t in tasks])
    ok = sum(r.passed for r in res)
    assert ok >= 0.97 * len(tasks), ok  # worked solutions box the answer in varied forms


def test_math500_perturbed_fail():
    tasks = [t for t in load_tasks("math500", "test") if t.verifier["answer"].lstrip("-").isdigit()][:100]
    v = get_verifier("math")
    res = v.verify_batch([(t, f"\\boxed{{{int(t.verifier['answer']) + 7}}}") for t in tasks])
    assert not any(r.passed for r in res)


def test_extraction_and_equivalence():
    assert last_boxed(r"so \boxed{\frac{1}{\sqrt{2}}} done") == r"\frac{1}{\sqrt{2}}"
    assert extract_answer("blah\n#### 1,234")[0] == "1,234"
    assert extract_answer("So the answer is 42.")[0] == "42"
    assert extract_answer("x = 3, then y = 7")[0] == "7"
    assert answers_equal("1,234", "1234")
    assert answers_equal("50%", "0.5")
    assert answers_equal(r"\frac{3}{4}", "0.75")
    assert answers_equal(r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}")
    assert not answers_equal("3", "4")


def test_math_reward_table():
    t = {"id": "m", "prompt": "p", "verifier": {"type": "math", "answer": "12"}}
    v = get_verifier("math")
    assert v.verify(t, "#### 12").reward == 1.0
    assert v.verify(t, "#### 13").reward == 0.0
    assert v.verify(t, "First we add the apples to the oranges and then we divide them among the friends carefully.\n#### 13").reward == 0.2
    assert v.verify(t, "I am not sure.").reward == 0.1
    assert v.verify(t, "Let us think. We start with the numbers given and we combine them step by step to see.").reward == 0.2


def _hermes(call: dict) -> str:
    return "\n".join(f"<tool_call>\n{json.dumps(c)}\n</tool_call>" for c in call)


@pytest.mark.parametrize("category", ["simple", "multiple", "parallel", "parallel_multiple"])
def test_bfcl_ground_truths_score_one(category):
    tasks = load_tasks("bfcl", category)
    v = get_verifier("toolcall")
    res = v.verify_batch([(t, v.gold(t)) for t in tasks])
    bad = [(t.id, r.details) for t, r in zip(tasks, res) if r.reward != 1.0]
    assert bad == []


def test_bfcl_irrelevance():
    tasks = load_tasks("bfcl", "irrelevance")
    v = get_verifier("toolcall")
    assert all(v.verify(t, "None of the tools can help with that.").reward == 1.0 for t in tasks)
    t = tasks[0]
    spurious = _hermes([{"name": t.verifier["tools"][0]["name"], "arguments": {}}])
    assert v.verify(t, spurious).reward == -0.25


def test_toolcall_reward_table():
    t = load_tasks("bfcl", "simple", 1)[0]  # calculate_triangle_area(base=10, height=5)
    v = get_verifier("toolcall")
    name = t.verifier["ground_truth"][0].__iter__().__next__()
    assert v.verify(t, _hermes([{"name": name, "arguments": {"base": 10, "height": 5}}])).reward == 1.0
    assert v.verify(t, _hermes([{"name": name, "arguments": {"base": 11, "height": 5}}])).reward == 0.5
    assert v.verify(t, _hermes([{"name": "other_fn", "arguments": {}}])).reward == 0.25
    assert v.verify(t, "The area is 25.").reward == 0.0
    assert v.verify(t, "<tool_call>{not json</tool_call>").reward == 0.0


def test_symbolic_checks_off_the_main_thread_are_time_limited():
    import threading

    out = {}
    t = threading.Thread(target=lambda: out.update(eq=answers_equal(r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}"),
                                                    ne=answers_equal(r"\sqrt{3}", r"\frac{1}{\sqrt{2}}")))
    t.start()
    t.join(120)
    assert out == {"eq": True, "ne": False}
