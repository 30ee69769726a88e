"""Translate a Python benchmark problem (signature + asserts) into a C++ task with a test harness.

Each `assert f(args) == expected` (also `expected == f(...)`, `f(...) is True`, `abs(f(...) - x) <
tol`, `math.isclose(f(...), x)`) whose arguments and expected value are literals becomes one
check in a C++ `main` appended to the candidate's code. The harness prints a per-verification
nonce (see `halo_forge.verify.code.compiled`) only after every check passed, so exiting early
or printing "ok" earns nothing; a candidate that defines its own `main` fails to link.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from halo_forge.data.cpp import types as ct

HEADER = r"""
#include <bits/stdc++.h>
template <class T> bool hf_eq(const T& a, const T& b) { return a == b; }
inline bool hf_eq(const double& a, const double& b) {
    return std::fabs(a - b) <= 1e-6 * std::max(1.0, std::fabs(b));
}
template <class T> bool hf_eq(const std::vector<T>& a, const std::vector<T>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) if (!hf_eq(a[i], b[i])) return false;
    return true;
}
template <class T> bool hf_eq(const std::optional<T>& a, const std::optional<T>& b) {
    if (a.has_value() != b.has_value()) return false;
    return !a || hf_eq(*a, *b);
}
"""
NONCE_TOKEN = "@@HF_NONCE_BYTES@@"


@dataclass
class Check:
    args: tuple
    expected: Any
    approx: bool = False


@dataclass
class Translation:
    name: str
    arg_names: list[str]
    arg_types: list[tuple]
    ret_type: tuple
    checks: list[Check]
    dropped_asserts: int = 0
    notes: list[str] = field(default_factory=list)

    def signature(self) -> str:
        params = ", ".join(f"{ct.cpp_type(t)} {n}" for t, n in zip(self.arg_types, self.arg_names))
        return f"{ct.cpp_type(self.ret_type)} {self.name}({params})"


def _call_parts(node: ast.AST, name: str) -> tuple | None:
    """(args, expected, approx) for one assert's test expression, or None."""
    def is_call(n):
        return isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name and not n.keywords
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.Is)):
        left, right = node.left, node.comparators[0]
        if is_call(right) and not is_call(left):
            left, right = right, left
        if is_call(left):
            return left.args, right, False
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Lt, ast.LtE)):
        inner = node.left  # abs(f(x) - y) < tol
        if (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "abs"
                and len(inner.args) == 1 and isinstance(inner.args[0], ast.BinOp)
                and isinstance(inner.args[0].op, ast.Sub) and is_call(inner.args[0].left)):
            return inner.args[0].left.args, inner.args[0].right, True
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "isclose"
            and len(node.args) == 2 and is_call(node.args[0])):
        return node.args[0].args, node.args[1], True
    if is_call(node):  # assert f(x)  ->  f(x) == True
        return node.args, ast.Constant(True), False
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and is_call(node.operand):
        return node.operand.args, ast.Constant(False), False
    return None


def extract_checks(asserts: list[ast.AST], name: str) -> tuple[list[Check], int]:
    checks, dropped = [], 0
    for node in asserts:
        parts = _call_parts(node, name)
        try:
            if parts is None:
                raise ValueError
            args = tuple(ast.literal_eval(a) for a in parts[0])
            expected = ast.literal_eval(parts[1])
        except (ValueError, SyntaxError, TypeError):
            dropped += 1
            continue
        checks.append(Check(args, expected, parts[2]))
    return checks, dropped


def asserts_in(source: str, func: str | None = None) -> list[ast.AST]:
    """Test expressions of the top-level asserts (or those inside `def func`)."""
    tree = ast.parse(source)
    body = tree.body
    if func:
        fns = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == func]
        body = fns[0].body if fns else []
    return [n.test for n in body if isinstance(n, ast.Assert)]


def infer_types(checks: list[Check], n_args: int, declared: list[tuple | None] | None, declared_ret: tuple | None):
    """Declared types where the signature has them, else the unified types of the asserted values."""
    declared = declared or [None] * n_args
    arg_types = [d or ct.unify_all(ct.infer(c.args[i]) for c in checks) for i, d in enumerate(declared)]
    ret = declared_ret or ct.unify_all(ct.infer(c.expected) for c in checks)
    if any(c.approx for c in checks) and ret in (ct.INT, None):
        ret = ct.FLOAT
    for t in [*arg_types, ret]:
        ct.cpp_type(t)  # raises Untranslatable for unknown/unsupported types
    return arg_types, ret


def harness(tr: Translation) -> str:
    """The C++ main appended to the candidate's code."""
    lines = ["int main() {", "    int hf_failed = 0;"]
    ret = ct.cpp_type(tr.ret_type)
    for c in tr.checks:
        args = ", ".join(ct.literal(v, t) for v, t in zip(c.args, tr.arg_types))
        lines.append(f"    try {{ {ret} hf_got = {tr.name}({args}); "
                     f"if (!hf_eq(hf_got, {ct.literal(c.expected, tr.ret_type)})) hf_failed++; }} "
                     f"catch (...) {{ hf_failed++; }}")
    lines += ["    if (hf_failed == 0) {",
              f"        const unsigned char hf_k[] = {{{NONCE_TOKEN}}};",
              "        for (unsigned char c : hf_k) std::putchar(c ^ 0x5a);",
              "        std::putchar('\\n');",
              "    }",
              "    return 0;", "}"]
    return "\n".join(lines) + "\n"


def translate(name: str, arg_names: list[str], asserts: list[ast.AST], declared: list[tuple] | None = None,
              declared_ret: tuple | None = None) -> Translation:
    checks, dropped = extract_checks(asserts, name)
    checks = [c for c in checks if len(c.args) == len(arg_names)]
    if not checks:
        raise ct.Untranslatable("no translatable assert")
    arg_types, ret = infer_types(checks, len(arg_names), declared, declared_ret)
    kept = []
    for c in checks:  # a value the types cannot render drops its assert, not the task
        try:
            [ct.literal(v, t) for v, t in zip(c.args, arg_types)] + [ct.literal(c.expected, ret)]
            kept.append(c)
        except ct.Untranslatable:
            dropped += 1
    if not kept:
        raise ct.Untranslatable("no assert survives the type translation")
    return Translation(name, arg_names, arg_types, ret, kept, dropped)
