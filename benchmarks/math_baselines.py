"""Trivial baselines for GSM8K test, scored by the project's own `math` verifier.

    .venv/bin/python benchmarks/math_baselines.py [--json OUT]

A model's GSM8K score means something only above what copying a number achieves: the last
number of the question, the most frequent training answer, or (an upper bound for copying) the
gold answer appearing anywhere among the question's numbers.
"""

from __future__ import annotations

import argparse
import collections
import json
import re

from halo_forge.data import load_tasks
from halo_forge.data.sources.gsm8k import read_split
from halo_forge.verify.math import MathVerifier

NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    args = ap.parse_args()
    tasks = load_tasks("gsm8k", "test")
    questions = [r["question"] for r in read_split("test")]
    train_answers = [t.verifier["answer"] for t in load_tasks("gsm8k", "train")]
    most_common = collections.Counter(train_answers).most_common(1)[0][0]
    v = MathVerifier()
    scores = collections.Counter()
    for t, q in zip(tasks, questions):
        nums = [n.replace(",", "") for n in NUM.findall(q)]
        if nums and v.check(t, f"#### {nums[-1]}").passed:
            scores["last_number_of_question"] += 1
        if v.check(t, f"#### {most_common}").passed:
            scores["most_frequent_train_answer"] += 1
        if any(v.check(t, f"#### {n}").passed for n in nums):
            scores["gold_among_question_numbers (copying ceiling)"] += 1
    out = {k: {"correct": c, "of": len(tasks), "rate": round(c / len(tasks), 4)} for k, c in scores.items()}
    out["most_frequent_train_answer"]["answer"] = most_common
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
