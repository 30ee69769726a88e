"""Verdicts do not depend on how many workers verify them: 2,000 mixed samples (sandboxed Python
tests, math answers, tool calls; gold and broken answers) get identical rewards from 1 worker, from
several, and from several split over two judging processes."""

import pytest

from halo_forge.data import load_tasks
from halo_forge.verify.registry import get_verifier

BROKEN = {"mbpp": "```python\ndef f(*a):\n    return None\n```", "math": "The answer is \\boxed{-1}.",
          "toolcall": '<tool_call>{"name": "nothing", "arguments": {}}</tool_call>'}


def _mixed(total: int = 2000) -> list[tuple[str, object, str]]:
    sources = {"mbpp": load_tasks("mbpp", "test"), "math": load_tasks("gsm8k", "test"),
               "toolcall": load_tasks("bfcl", "heldout")}
    out = []
    for i in range(total):
        name = ("mbpp", "math", "toolcall")[i % 3]
        pool = sources[name]
        task = pool[(i // 3) % len(pool)]
        verifier = get_verifier(name)
        completion = verifier.gold(task) if i % 2 == 0 else BROKEN[name]
        out.append((name, task, completion if completion is not None else BROKEN[name]))
    return out


@pytest.mark.slow
def test_two_thousand_mixed_samples_get_the_same_rewards_from_1_and_n_workers():
    samples = _mixed()
    assert len(samples) == 2000
    rewards = {}
    for workers, processes in ((1, 1), (4, 1), (4, 2)):  # (4, 2): two judging processes (verifier.processes)
        got = [None] * len(samples)
        for name in ("mbpp", "math", "toolcall"):
            idx = [i for i, s in enumerate(samples) if s[0] == name]
            verifier = get_verifier(name)
            verifier.processes = processes
            res = verifier.verify_batch([(samples[i][1], samples[i][2]) for i in idx], workers)
            if verifier._judges is not None:
                verifier._judges.close()
            for i, r in zip(idx, res):
                got[i] = (r.reward, r.passed, r.error is None)
        rewards[(workers, processes)] = got
    assert rewards[(1, 1)] == rewards[(4, 1)] == rewards[(4, 2)]
    rewards[1] = rewards[(1, 1)]
    assert all(ok for _, _, ok in rewards[1])  # nothing "could not verify"
    passed = sum(p for _, p, _ in rewards[1])
    assert 900 <= passed <= 1000  # the gold half passes (a few upstream rows have no passing gold)
