"""Test-based Python verifiers: `humaneval`, `mbpp`, `pytest`, `unittest`.

HumanEval and MBPP are binary by default (pass all tests = 1.0); `partial_credit: true`
gives the fraction of passed asserts (MBPP) instead. See python_judge for why the tests run
outside the sandbox and only the candidate runs inside it.
"""

from __future__ import annotations

from typing import Any

import functools
import warnings

from halo_forge.data.task import Task
from halo_forge.verify.base import RewardLadder, Verifier, VerifyResult
from halo_forge.verify.code.prefetch import plan_check, plan_tests
from halo_forge.verify.code.python_judge import (CandidateDied, CandidateProcess, RemoteFunction, WorkerDied,
                                                sandbox_python)
from halo_forge.verify.extract import extract_code, humaneval_program
from halo_forge.verify.registry import register_verifier
from halo_forge.verify.sandbox import SandboxLimits, isolation_level


# The syntax pre-check compiles model-written code in this process: a candidate with "\d" in a plain
# string made Python print "SyntaxWarning: invalid escape sequence" into the user's terminal, once per
# sample. Those warnings say nothing about the verdict; the filter is narrowed to the candidate's file
# name (a process-wide filter: warnings.catch_warnings is not thread-safe across verification slots).
warnings.filterwarnings("ignore", category=SyntaxWarning, module="candidate")
warnings.filterwarnings("ignore", category=DeprecationWarning, module="candidate")


@functools.lru_cache(maxsize=4096)
def _compiled(source: str, name: str):
    """Trusted test code is compiled once per distinct text (RAFT verifies many samples per task)."""
    return compile(source, name, "exec")


class _PythonTestVerifier(Verifier):
    runs_untrusted_code = True
    version = "2"  # 2: candidate control-flow exceptions and swallowed deaths fail the test

    def limits(self) -> SandboxLimits:
        opts = {"wall_seconds": 10.0, "cpu_seconds": 10, "memory_mb": 1024, "max_processes": 16}
        opts.update(self.options.get("limits") or {})
        return SandboxLimits.from_options(opts)

    def _syntax_ok(self, program: str) -> str | None:
        try:
            compile(program, "candidate.py", "exec")
            return None
        except (SyntaxError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"

    def _run_tests(self, program: str, tests: list[str], prelude: str, names: list[str], slot: int,
                   partial: bool, predicted=None) -> VerifyResult:
        """Run test snippets (trusted) against the sandboxed candidate; count passes."""
        ladder = RewardLadder.from_options(self.options)
        syntax = self._syntax_ok(program)
        base = {"isolation": isolation_level(), "tests_total": len(tests)}
        if syntax:
            return VerifyResult(ladder.compile_error, False, "compile", {**base, "message": syntax})
        if not sandbox_python():
            return VerifyResult.failure("no python3 under /usr for the sandbox")
        pooled = self.options.get("pool", True)
        try:
            return self._judge(program, tests, prelude, names, slot, partial, predicted, pooled, ladder, base)
        except WorkerDied:
            if not pooled:
                raise
            # The warm worker died (not the candidate's doing: each sample has its own namespaces):
            # the verdict comes from a fresh one-shot sandbox instead.
            return self._judge(program, tests, prelude, names, slot, partial, predicted, False, ladder, base)

    def _judge(self, program, tests, prelude, names, slot, partial, predicted, pooled, ladder, base) -> VerifyResult:
        with CandidateProcess(program, self.limits(), slot, pooled=pooled) as cand:
            if cand.load_error:
                stage = "timeout" if cand.timed_out else "run"
                return VerifyResult(0.0, False, stage, {**base, "message": cand.load_error,
                                                        "stderr": cand.session.stderr_tail(500)})
            cand.prefetch(plan_tests(tuple(tests), tuple(names)) if predicted is None else predicted)
            ns: dict[str, Any] = {"__name__": "__judge__"}
            exec(_compiled(prelude, "<prelude>"), ns)
            for name in names:
                ns[name] = RemoteFunction(cand, name)
            passed, failures = _run_snippets(cand, tests, ns, partial)
            cand._check_worker()
            details = {**base, "tests_passed": passed, "failures": failures[:5], "calls": cand.calls,
                       "predicted_calls": cand.predicted_calls}
            if cand.timed_out:
                return VerifyResult(0.0, False, "timeout", details)
        ok = passed == len(tests) and not failures
        if ok:
            return VerifyResult(ladder.correct, True, "test", details)
        reward = ladder.correct * passed / max(1, len(tests)) if partial else 0.0
        return VerifyResult(reward, False, "test", details)


def _run_snippets(cand: CandidateProcess, tests: list[str], ns: dict[str, Any], partial: bool) -> tuple[int, list[str]]:
    """Execute each trusted test snippet; a snippet passes only if it ran to its end *and* the
    candidate was alive throughout (test code that swallowed the candidate's death does not pass)."""
    passed, failures = 0, []
    for i, test in enumerate(tests):
        try:
            exec(_compiled(test, f"<test {i}>"), ns)
            if cand.died:
                raise CandidateDied(cand.died)
            passed += 1
        except CandidateDied as exc:
            failures.append(f"test {i}: candidate died: {exc}")
            break
        except AssertionError:
            failures.append(f"test {i}: assertion failed")
        except Exception as exc:
            failures.append(f"test {i}: {type(exc).__name__}: {str(exc)[:200]}")
        if failures and not partial:
            break
    return passed, failures


@register_verifier
class HumanEvalVerifier(_PythonTestVerifier):
    """HumanEval's own check program: `check(candidate)` from the task's test code."""

    name = "humaneval"

    def gold(self, task: Task) -> str | None:
        """HumanEval's reference is prompt + canonical body: the body is the completion."""
        ref, prompt = task.reference, task.verifier.get("prompt", "")
        return ref[len(prompt):] if ref and ref.startswith(prompt) else ref

    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        spec = task.verifier
        prompt, entry = spec["prompt"], spec["entry_point"]
        program = humaneval_program(prompt, completion, entry)
        # The prompt (trusted) provides helper functions the tests may call, e.g. encode_cyclic.
        prelude = prompt + "\n    pass\n" + spec["test"]
        return self._run_tests(program, [f"check({entry})"], prelude, [entry], slot, partial=False,
                               predicted=plan_check(spec["test"], entry))


@register_verifier
class MBPPVerifier(_PythonTestVerifier):
    """MBPP's assert lines, each one a test; binary unless `partial_credit: true`."""

    name = "mbpp"

    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        spec = task.verifier
        program = extract_code(completion, "python")
        # MBPP tests lean on modules the reference solution imported (math.isclose, re...).
        prelude = "import math\n" + "\n".join(spec.get("imports") or []) + "\n" + (spec.get("setup") or "")
        names = [spec["entry_point"], *spec.get("extra_names", [])]
        return self._run_tests(program, list(spec["tests"]), prelude, names, slot,
                               partial=bool(self.options.get("partial_credit", False)))


@register_verifier
class PythonAssertsVerifier(_PythonTestVerifier):
    """`pytest`/`unittest`-style task tests given as a list of assert snippets plus a prelude.

    Task spec: {"tests": [...], "functions": [names], "prelude": "..."}. Test functions
    (`def test_x(): ...`) in a single `test_code` string are expanded into one test each.
    """

    name = "pytest"

    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        spec = task.verifier
        program = extract_code(completion, "python")
        tests, prelude = _expand_test_code(spec)
        return self._run_tests(program, tests, prelude, list(spec["functions"]), slot,
                               partial=bool(self.options.get("partial_credit", spec.get("partial_credit", False))))


@register_verifier
class UnittestVerifier(PythonAssertsVerifier):
    name = "unittest"


def _expand_test_code(spec: dict) -> tuple[list[str], str]:
    """Turn `def test_*` functions or `unittest.TestCase` methods into individual tests."""
    import ast

    prelude = spec.get("prelude", "")
    if "tests" in spec:
        return list(spec["tests"]), prelude
    code = spec["test_code"]
    tree = ast.parse(code)
    tests: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            tests.append(f"{node.name}()")
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name.startswith("test"):
                    tests.append(_unittest_call(node.name, item.name))
    if not tests:
        raise ValueError("test_code defines no test functions")
    return tests, prelude + "\n" + code


def _unittest_call(cls: str, method: str) -> str:
    return (f"_r = __import__('unittest').TestResult()\n{cls}('{method}').run(_r)\n"
            f"assert _r.wasSuccessful() and _r.testsRun == 1 and not _r.skipped, "
            f"(_r.failures + _r.errors)[:1]")
