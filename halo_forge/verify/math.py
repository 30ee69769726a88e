"""`math`: final-answer checking for GSM8K / MATH-style problems.

Extraction order: the last `\\boxed{...}` (nested braces), `#### x`, "the answer is x",
then the last number. Equivalence: exact numbers first (commas, percentages, fractions,
decimals), then the `math-verify` library for LaTeX expressions. Model text is never
`eval`ed: math-verify parses to SymPy. Every symbolic check has a time limit: on the main
thread math-verify's own (SIGALRM); elsewhere (e.g. the rollout's verification thread, where
SIGALRM cannot fire) the check runs in a helper process that is killed and replaced when it
overruns, and the answer counts as not equal.

Reward table (option `rewards`): correct 1.0, wrong but showed work 0.2, no answer but
work 0.2, no answer and no work 0.1, wrong without work 0.0.
"""

from __future__ import annotations

import re
import threading
from fractions import Fraction

from halo_forge.data.task import Task
from halo_forge.verify.base import Verifier, VerifyResult
from halo_forge.verify.registry import register_verifier

DEFAULT_REWARDS = {"correct": 1.0, "wrong_with_work": 0.2, "no_answer_with_work": 0.2,
                   "no_answer_no_work": 0.1, "wrong_no_work": 0.0}
NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?%?|-?\.\d+")


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} / \\fbox{...}, honouring nested braces."""
    idx = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if idx < 0:
        return None
    i = text.find("{", idx)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    return None


def extract_answer(text: str) -> tuple[str | None, str]:
    """(answer, how it was found)."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed.strip(), "boxed"
    m = re.findall(r"####\s*([^\n]+)", text)
    if m:
        return m[-1].strip(), "marker"
    m = re.findall(r"answer is[:\s]*\$?([^\n]+?)(?:\$|\.\s|\.$|$)", text, re.I | re.M)
    if m:
        return m[-1].strip(), "phrase"
    nums = NUMBER.findall(text)
    if nums:
        return nums[-1], "last_number"
    return None, "none"


def to_number(s: str) -> Fraction | None:
    t = s.strip().strip("$ .").replace(",", "").replace("\\!", "").replace("\\$", "")
    t = re.sub(r"\\(?:text|mathrm)\{[^}]*\}", "", t).strip()
    pct = t.endswith("%") or t.endswith("\\%")
    t = t.rstrip("%").rstrip("\\").strip()
    m = re.fullmatch(r"\\[dt]?frac\{(-?\d+)\}\{(-?\d+)\}", t) or re.fullmatch(r"(-?\d+)\s*/\s*(-?\d+)", t)
    try:
        if m:
            val = Fraction(int(m.group(1)), int(m.group(2)))
        elif re.fullmatch(r"-?\d+(?:\.\d+)?|-?\.\d+", t):
            val = Fraction(t)
        else:
            return None
    except (ValueError, ZeroDivisionError):
        return None
    return val / 100 if pct else val


CHECK_SECONDS = 5


def symbolic_equal(pred: str, gold: str, timeout: int | None = CHECK_SECONDS) -> bool:
    try:
        from math_verify import parse, verify

        g = parse(f"${gold}$", parsing_timeout=timeout)
        p = parse(f"${pred}$", parsing_timeout=timeout)
        return bool(g and p and verify(g, p, timeout_seconds=timeout))
    except Exception:
        return False


class _CheckProcess:
    """One helper process for symbolic checks off the main thread; replaced after a timeout."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pool = None

    def equal(self, pred: str, gold: str) -> bool:
        import concurrent.futures as cf
        import multiprocessing as mp

        with self._lock:
            if self._pool is None:
                self._pool = cf.ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"))
            fut = self._pool.submit(symbolic_equal, pred, gold, CHECK_SECONDS)
            try:
                return bool(fut.result(timeout=CHECK_SECONDS * 3 + 30))  # the first call pays the spawn
            except cf.TimeoutError:
                for proc in list(getattr(self._pool, "_processes", {}).values()):
                    proc.kill()
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                return False


_checker = _CheckProcess()


def answers_equal(pred: str, gold: str) -> bool:
    a, b = to_number(pred), to_number(gold)
    if a is not None and b is not None:
        return a == b
    if pred.strip() == gold.strip():
        return True
    if threading.current_thread() is threading.main_thread():
        return symbolic_equal(pred, gold)
    return _checker.equal(pred, gold)


def shows_work(text: str, answer: str | None) -> bool:
    body = text.replace(answer, "") if answer else text
    return len(body.split()) >= 15 or len([ln for ln in body.splitlines() if ln.strip()]) >= 3


@register_verifier
class MathVerifier(Verifier):
    name = "math"
    default_workers = 1

    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        rewards = {**DEFAULT_REWARDS, **(self.options.get("rewards") or {})}
        gold = str(task.verifier["answer"])
        pred, how = extract_answer(completion)
        work = shows_work(completion, pred)
        details = {"extracted": pred, "how": how, "gold": gold, "work": work}
        if pred is None:
            key = "no_answer_with_work" if work else "no_answer_no_work"
            return VerifyResult(rewards[key], False, "format", details)
        if answers_equal(pred, gold):
            return VerifyResult(rewards["correct"], True, "answer", details)
        return VerifyResult(rewards["wrong_with_work" if work else "wrong_no_work"], False, "answer", details)
