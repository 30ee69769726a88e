"""Which candidate calls a trusted test will make, known before it runs: sent in one batch.

Why: each judge -> sandbox -> judge round trip costs CPU on three processes (judge, zygote
relay, candidate) and a HumanEval check makes ~9 of them. Most test code is a straight run
of `assert f(<literals>) == ...` lines, so the judge can tell the candidate every call up
front; the candidate then streams one answer line per call and the judge reads them as its
test code asks for them. Nothing else changes: the judge still runs the test code, does every
comparison itself, and a call that was not predicted goes out live.

Only calls whose order is certain are predicted: the leading top-level `assert` statements
(with no message or a literal one) whose candidate calls have literal arguments and whose
expressions cannot skip a call (no `and`/`or`, conditional expressions, comprehensions or lambdas). Stateless candidates see
the same calls in the same order either way; the harness stops a batch at the first
exception, exactly where the test would have stopped.
"""

from __future__ import annotations

import ast
import functools

_SKIPPING = (ast.BoolOp, ast.IfExp, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda,
             ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)


def _assert_calls(stmt: ast.stmt, aliases: dict[str, str]) -> list[tuple[str, tuple]] | None:
    """The candidate calls of one assert in evaluation order, or None if they are not certain."""
    if not isinstance(stmt, ast.Assert) or not (stmt.msg is None or isinstance(stmt.msg, ast.Constant)):
        return None  # a message runs only when the assert fails: a literal one cannot call the candidate
    calls, callee_names = [], set()
    for node in ast.walk(stmt.test):  # breadth first: a call comes before its function's name
        if isinstance(node, _SKIPPING):
            return None
        if isinstance(node, ast.Name) and node.id in aliases and id(node) not in callee_names:
            return None  # the function itself escapes (passed along, stored...): order unknown
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in aliases:
            if node.keywords:
                return None
            try:
                args = tuple(ast.literal_eval(a) for a in node.args)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return None
            calls.append((node.lineno, node.col_offset, aliases[node.func.id], args))
            callee_names.add(id(node.func))
    # Without short-circuits, calls run left to right; nested candidate calls were refused
    # above (a call's arguments must be literals), so source order is evaluation order.
    return [(name, args) for _, _, name, args in sorted(calls, key=lambda c: (c[0], c[1]))]


def plan_statements(statements: list[ast.stmt], aliases: dict[str, str], limit: int = 256) -> list[tuple[str, tuple]]:
    plan: list[tuple[str, tuple]] = []
    for stmt in statements:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring or a bare constant
        calls = _assert_calls(stmt, aliases)
        if calls is None or len(plan) + len(calls) > limit:
            break
        plan.extend(calls)
    return plan


@functools.lru_cache(maxsize=4096)
def plan_check(test_source: str, entry: str) -> tuple[tuple[str, tuple], ...]:
    """HumanEval: the predictable calls of `check(candidate)` in the task's test code."""
    try:
        tree = ast.parse(test_source)
    except SyntaxError:
        return ()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "check" and node.args.args:
            return tuple(plan_statements(node.body, {node.args.args[0].arg: entry}))
    return ()


@functools.lru_cache(maxsize=4096)
def plan_tests(tests: tuple[str, ...], names: tuple[str, ...]) -> tuple[tuple[str, tuple], ...]:
    """MBPP-style lists of assert snippets, run one after another."""
    statements: list[ast.stmt] = []
    for test in tests:
        try:
            body = ast.parse(test).body
        except SyntaxError:
            break
        statements.extend(body)
        if len(body) != 1:
            break
    return tuple(plan_statements(statements, {n: n for n in names}))
