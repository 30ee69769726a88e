"""`halo-forge test --level {smoke,standard,full}`: check this installation.

smoke: verifiers on gold answers + config loading (seconds); standard: the test suite
without the slow real-model tests; full: everything, including SmolLM2 runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("test", help="check this installation")
    p.add_argument("--level", choices=["smoke", "standard", "full"], default="smoke",
                   help="smoke: verifiers on gold answers (seconds); standard/full: the test suite")
    p.set_defaults(handler=cmd_test)


def smoke() -> int:
    """Each verifier the bundled datasets name, on the gold answers of a few of their rows."""
    from halo_forge.data import load_tasks
    from halo_forge.verify.registry import get_verifier

    checks = [("humaneval", "test", 5), ("mbpp", "test", 5), ("cpp_basics", "test", 3), ("gsm8k", "test", 20),
              ("bfcl", "simple", 5)]
    failed = 0
    auto = get_verifier("auto")
    for dataset, split, n in checks:
        tasks = load_tasks(dataset, split, n)
        auto.preflight(tasks)
        res = auto.verify_batch([(t, auto.gold(t)) for t in tasks])
        ok = sum(r.passed for r in res)
        kinds = ",".join(sorted({t.verifier["type"] for t in tasks}))
        print(f"{kinds:10s} gold answers of {dataset}: {ok}/{len(res)} pass")
        failed += ok != len(res)
    return 1 if failed else 0


def cmd_test(args) -> int:
    if args.level == "smoke":
        return smoke()
    tests = Path(__file__).resolve().parents[2] / "tests"
    if not tests.is_dir():
        print("the test suite ships with the source checkout; smoke level only in an installed package")
        return smoke()
    cmd = [sys.executable, "-m", "pytest", "-q", str(tests)]
    if args.level == "standard":
        cmd += ["-m", "not slow"]
    return subprocess.call(cmd)
