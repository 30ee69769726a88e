"""The judge's call prediction: only calls whose order is certain, and verdicts unchanged."""

from halo_forge.data.task import Task
from halo_forge.verify.code.prefetch import plan_check, plan_tests
from halo_forge.verify.registry import get_verifier

CHECK = '''
def check(candidate):
    """doc"""
    assert candidate([1, 2], -3) == 4
    assert abs(candidate((), 1.5) - 2) < 1e-6, "close"
    assert candidate("a", {"k": 1}) == candidate("b", None)
    for x in range(3):
        assert candidate(x, x)
    assert candidate(9, 9)
'''


def test_plan_takes_the_leading_certain_asserts_in_order():
    # a literal message cannot call the candidate (HumanEval's "This prints if this assert fails")
    full = (("f", ([1, 2], -3)), ("f", ((), 1.5)), ("f", ("a", {"k": 1})), ("f", ("b", None)))
    assert plan_check(CHECK, "f") == full
    assert plan_check(CHECK.replace(', "close"', ""), "f") == full
    # a message that is an expression runs only when the assert fails, maybe calling the candidate: it ends the plan
    assert plan_check(CHECK.replace(', "close"', ", candidate(0)"), "f") == (("f", ([1, 2], -3)),)
    assert plan_check(CHECK.replace(', "close"', ', f"{x}"'), "f") == (("f", ([1, 2], -3)),)


def test_plan_refuses_skippable_or_escaping_calls():
    for line in ("assert candidate(1) == 1 or candidate(2) == 2",
                 "assert candidate(1) if x else candidate(2)",
                 "assert all(candidate(i) for i in range(3))",
                 "assert helper(candidate)",
                 "assert candidate(y) == 1",
                 "assert candidate(candidate(1)) == 1",
                 "assert candidate(1, key=2) == 1"):
        assert plan_check(f"def check(candidate):\n    {line}\n    assert candidate(5)\n", "f") == (), line
    assert plan_tests(("assert f(1) == 2", "x = 3", "assert f(2) == 3"), ("f",)) == (("f", (1,)),)


def _task(tests, code_name="f"):
    return Task(id="t", prompt="", verifier={"type": "mbpp", "entry_point": code_name, "tests": tests})


def test_verdicts_with_prediction_match_live_calls():
    """Stateful candidates and mid-batch exceptions: the judge sees what a live run would see."""
    mbpp = get_verifier("mbpp")
    tests = ["assert f(1) == 1", "assert f(2) == 2", "assert f(3) == 3"]
    counter = "```python\nn = [0]\ndef f(x):\n    n[0] += 1\n    return n[0]\n```"
    ok = mbpp.verify(_task(tests), counter)
    assert ok.passed and ok.details["predicted_calls"] == 3
    raises = "```python\ndef f(x):\n    if x == 2:\n        raise ValueError('no')\n    return x\n```"
    res = mbpp.verify(_task(tests), raises)
    assert not res.passed and res.details["tests_passed"] == 1
    partial = get_verifier("mbpp", partial_credit=True).verify(_task(tests), raises)
    assert partial.reward == 2 / 3 and partial.details["calls"] == 3 and partial.details["predicted_calls"] == 2
    wrong = "```python\ndef f(x):\n    return 1\n```"
    assert get_verifier("mbpp", partial_credit=True).verify(_task(tests), wrong).details["tests_passed"] == 1
