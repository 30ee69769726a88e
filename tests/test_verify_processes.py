"""`verifier.processes`: the same verdicts, in the same order, from several judging processes; a
judging process that dies makes its share "could not verify" (errors), never a reward."""

import os

from halo_forge.data import load_tasks
from halo_forge.verify.base import Verifier, VerifyResult
from halo_forge.verify.registry import get_verifier

ATTACKS = ["```python\ndef f(*a):\n    class E:\n        def __eq__(self, o): return True\n    return E()\n```",
           "```python\nimport sys\nsys.exit(0)\n```",
           "```python\ndef f(*a):\n    return None\n```"]


def test_two_judging_processes_give_the_same_verdicts_in_order():
    tasks = load_tasks("mbpp", "test")[:12]
    plain = get_verifier("mbpp")
    items = [(t, plain.gold(t)) for t in tasks] + [(t, a) for t in tasks[:4] for a in ATTACKS]
    one = plain.verify_batch(items, 2)
    split = get_verifier("mbpp")
    split.processes = 2
    try:
        two = split.verify_batch(items, 2)
        again = split.verify_batch(items[:5], 2)  # the children stay up between batches
    finally:
        split._judges.close()
    key = [(r.reward, r.passed, r.error) for r in one]
    assert key == [(r.reward, r.passed, r.error) for r in two]
    assert key[:5] == [(r.reward, r.passed, r.error) for r in again]
    assert sum(r.passed for r in two[:12]) >= 10 and not any(r.passed for r in two[12:])  # attacks score 0
    assert all(r.error is None for r in two)


class DiesOnRequest(Verifier):
    """Passes everything, except that the judging process exits on the completion "die"."""

    name = "dies_on_request"

    def check(self, task, completion, slot=0):
        if completion == "die":
            os._exit(3)
        return VerifyResult(1.0, True, "answer")


def test_a_dead_judging_process_is_an_error_not_a_reward():
    task = load_tasks("gsm8k", "test")[0]
    v = DiesOnRequest()
    v.processes = 2
    try:
        res = v.verify_batch([(task, "ok"), (task, "die"), (task, "ok"), (task, "ok")], 2)  # one chunk
        assert all(r.reward is None and not r.passed and "judging process died" in r.error for r in res)
        after = v.verify_batch([(task, "ok")] * 4, 2)  # a fresh pool for the next batch
        assert [r.passed for r in after] == [True] * 4
    finally:
        v._judges.close()
