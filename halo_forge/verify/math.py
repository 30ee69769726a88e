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

import logging
import re
import threading
from fractions import Fraction

from halo_forge.data.answers import last_boxed
from halo_forge.data.task import Task
from halo_forge.verify.base import Verifier, VerifyResult
from halo_forge.verify.registry import register_verifier

DEFAULT_REWARDS = {"correct": 1.0, "wrong_with_work": 0.2, "no_answer_with_work": 0.2,
                   "no_answer_no_work": 0.1, "wrong_no_work": 0.0}
NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?%?|-?\.\d+")


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


_UNIT_WORDS = r"(?:[a-zA-Z][a-zA-Z.']*\s*){0,3}"  # "dollars", "apples per box", "cm"


def parse_number(s: str) -> tuple[Fraction, bool] | None:
    """(value as written, had a percent sign) for a plain number with optional currency, units,
    thousands separators and a `x =` prefix; None for anything else (an expression, a hedge)."""
    t = s.strip().replace("\\!", "").replace("\\$", "$").replace("\\,", "")
    t = re.sub(r"\\(?:text|mathrm|textbf)\{([^}]*)\}", r" \1 ", t)
    t = re.sub(r"^\s*[a-zA-Z]\s*=\s*", "", t)  # "x = 18"
    t = re.sub(r"\([^()]*\)\s*$", "", t).strip()  # "18 (dollars)"
    t = t.strip(" .")
    t = re.sub(r"^(?:\$|US\$|USD|€|£)\s*", "", t)
    pct = False
    m = re.fullmatch(r"(.*?)\s*(?:\\?%|percent|per\s*cent)\s*", t, re.I)
    if m:
        t, pct = m.group(1), True
    else:
        t = re.sub(r"(?<=\d)\s*" + _UNIT_WORDS + r"$", "", t).strip()  # "18 dollars", "5 apples"
    t = t.strip("$ ")
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", t):
        t = t.replace(",", "")
    m = re.fullmatch(r"\\[dt]?frac\{(-?\d+)\}\{(-?\d+)\}", t) or re.fullmatch(r"(-?\d+)\s*/\s*(-?\d+)", t)
    try:
        if m:
            return Fraction(int(m.group(1)), int(m.group(2))), pct
        if re.fullmatch(r"-?\d+(?:\.\d+)?|-?\.\d+", t):
            return Fraction(t), pct
    except (ValueError, ZeroDivisionError):
        return None
    return None


def to_number(s: str) -> Fraction | None:
    """The number's value (a percentage as a fraction: 25% -> 1/4)."""
    got = parse_number(s)
    if got is None:
        return None
    value, pct = got
    return value / 100 if pct else value


def numbers_equal(pred: str, gold: str) -> bool | None:
    """None unless both are plain numbers. A percent sign on one side only is a unit, not a
    scale: '25%' answers a gold 25 (GSM8K writes percentages bare) and a gold 0.25."""
    p, g = parse_number(pred), parse_number(gold)
    if p is None or g is None:
        return None
    (pv, pp), (gv, gp) = p, g
    if pp == gp or pv == gv:
        return pv == gv
    if pp:  # '25%' for a gold 0.25; but never '1800%' for a whole-number gold 18
        return gv.denominator != 1 and pv / 100 == gv
    return pv == gv / 100


CHECK_SECONDS = 5


class _Quiet(logging.Handler):
    """math-verify logs "Timeout during comparison" and parse failures as warnings into the user's
    terminal; its records stop here instead, counted (a symbolic check that timed out is a 'not
    equal', and the count says how often that happened)."""

    count = 0

    def emit(self, record: logging.LogRecord) -> None:
        _Quiet.count += 1


for _name in ("math_verify", "latex2sympy2_extended"):
    _lg = logging.getLogger(_name)
    _lg.addHandler(_Quiet())
    _lg.propagate = False


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


def answers_equal(pred: str, gold: str, allow_expressions: bool = False) -> bool:
    """A numeric gold takes a number: `16 + 2` is not an answer of 18 (an unevaluated
    expression leaves the arithmetic undone) unless the task allows expressions."""
    same = numbers_equal(pred, gold)
    if same is not None:
        return same
    if pred.strip() == gold.strip():
        return True
    if parse_number(gold) is not None and not allow_expressions:
        return False
    if threading.current_thread() is threading.main_thread():
        return symbolic_equal(pred, gold)
    return _checker.equal(pred, gold)


def shows_work(text: str, answer: str | None) -> bool:
    body = text.replace(answer, "") if answer else text
    return len(body.split()) >= 15 or len([ln for ln in body.splitlines() if ln.strip()]) >= 3


@register_verifier
class MathVerifier(Verifier):
    name = "math"

    def gold(self, task: Task) -> str | None:
        answer = task.verifier.get("answer")
        return None if answer is None else f"The final answer is $\\boxed{{{answer}}}$."
    version = "2"
    # Numeric golds (GSM8K) never reach math-verify: ~8k samples/s on one core of the 2-core CPU machine.  # 2: percent/currency/unit answers accepted, unevaluated expressions rejected for numeric golds
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
        allow = bool(task.verifier.get("allow_expressions", self.options.get("allow_expressions", False)))
        if answers_equal(pred, gold, allow):
            return VerifyResult(rewards["correct"], True, "answer", details)
        return VerifyResult(rewards["wrong_with_work" if work else "wrong_no_work"], False, "answer", details)
