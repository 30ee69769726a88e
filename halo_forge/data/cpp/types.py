"""Python types -> C++ types and Python values -> C++ literals, for the test translator.

The approach is MultiPL-E's (Cassano et al. 2022, "MultiPL-E: A Scalable and Extensible Approach to
Benchmarking Neural Code Generation"): translate the *tests*, not the solutions, with the types
taken from the signature's annotations (HumanEval) or inferred from the asserted values (MBPP),
and let each literal be rendered by the type it must have. Written here (not imported) because
MultiPL-E ships as a research repository, not a library; this covers the types our benchmarks use.
A type is a tuple: ("int",), ("float",), ("str",), ("bool",), ("list", T), ("tuple", (T, ...)),
("dict", K, V), ("optional", T).
"""

from __future__ import annotations

import ast
import math
from typing import Any

INT, FLOAT, STR, BOOL = ("int",), ("float",), ("str",), ("bool",)


class Untranslatable(ValueError):
    """A type or value the C++ translation does not cover; the assert or task is dropped."""


def from_annotation(node: ast.AST | None) -> tuple:
    if node is None:
        raise Untranslatable("missing annotation")
    if isinstance(node, ast.Constant) and node.value is None:
        raise Untranslatable("None type")
    if isinstance(node, ast.Name):
        simple = {"int": INT, "float": FLOAT, "str": STR, "bool": BOOL}
        if node.id in simple:
            return simple[node.id]
        raise Untranslatable(f"type {node.id}")
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        name, arg = node.value.id.lower(), node.slice
        args = list(arg.elts) if isinstance(arg, ast.Tuple) else [arg]
        if name == "list" and len(args) == 1:
            return ("list", from_annotation(args[0]))
        if name == "tuple" and not (len(args) == 2 and isinstance(args[1], ast.Constant)):
            return ("tuple", tuple(from_annotation(a) for a in args))
        if name == "dict" and len(args) == 2:
            return ("dict", from_annotation(args[0]), from_annotation(args[1]))
        if name == "optional" and len(args) == 1:
            return ("optional", from_annotation(args[0]))
    raise Untranslatable(f"annotation {ast.unparse(node)}")


def infer(value: Any) -> tuple | None:
    """The type of a literal value; None for an empty container's unknown element type."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return STR
    if isinstance(value, list):
        return ("list", unify_all(infer(v) for v in value))
    if isinstance(value, tuple):
        return ("tuple", tuple(infer(v) for v in value))
    if isinstance(value, dict):
        return ("dict", unify_all(infer(k) for k in value), unify_all(infer(v) for v in value.values()))
    if value is None:
        return ("optional", None)
    raise Untranslatable(f"value of type {type(value).__name__}")


def unify(a: tuple | None, b: tuple | None) -> tuple | None:
    if a is None:
        return b
    if b is None or a == b:
        return a
    if {a, b} == {INT, FLOAT}:
        return FLOAT
    if a[0] == b[0] == "list":
        return ("list", unify(a[1], b[1]))
    if a[0] == b[0] == "dict":
        return ("dict", unify(a[1], b[1]), unify(a[2], b[2]))
    if a[0] == b[0] == "tuple" and len(a[1]) == len(b[1]):
        return ("tuple", tuple(unify(x, y) for x, y in zip(a[1], b[1])))
    if a[0] == "optional" or b[0] == "optional":
        inner = unify(a[1] if a[0] == "optional" else a, b[1] if b[0] == "optional" else b)
        return ("optional", inner)
    raise Untranslatable(f"values of types {a} and {b} in one position")


def unify_all(types) -> tuple | None:
    out = None
    for t in types:
        out = unify(out, t)
    return out


def cpp_type(t: tuple | None) -> str:
    if t is None:
        raise Untranslatable("unknown element type (only empty containers seen)")
    kind = t[0]
    if kind == "int":
        return "long long"
    if kind == "float":
        return "double"
    if kind == "str":
        return "std::string"
    if kind == "bool":
        return "bool"
    if kind == "list":
        return f"std::vector<{cpp_type(t[1])}>"
    if kind == "tuple":
        return f"std::tuple<{', '.join(cpp_type(x) for x in t[1])}>"
    if kind == "dict":
        return f"std::map<{cpp_type(t[1])}, {cpp_type(t[2])}>"
    if kind == "optional":
        return f"std::optional<{cpp_type(t[1])}>"
    raise Untranslatable(f"type {t}")


def _string(s: str) -> str:
    out = []
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif 32 <= o < 127:
            out.append(ch)
        elif o < 128:
            out.append(f"\\x{o:02x}\"\"")
        else:
            raise Untranslatable("non-ASCII string")
    return 'std::string("' + "".join(out) + '")'


def literal(value: Any, t: tuple) -> str:
    """`value` rendered as a C++ expression of type `t`."""
    kind = t[0]
    if kind == "optional":
        return f"{cpp_type(t)}()" if value is None else f"{cpp_type(t)}({literal(value, t[1])})"
    if value is None:
        raise Untranslatable("None for a non-optional type")
    if kind == "bool":
        if not isinstance(value, bool):
            raise Untranslatable("bool expected")
        return "true" if value else "false"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2 ** 63:
            raise Untranslatable("int out of range or not an int")
        return f"{value}LL"
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise Untranslatable("finite number expected")
        return repr(float(value))
    if kind == "str":
        if not isinstance(value, str):
            raise Untranslatable("str expected")
        return _string(value)
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            raise Untranslatable("list expected")
        return f"{cpp_type(t)}{{{', '.join(literal(v, t[1]) for v in value)}}}"
    if kind == "tuple":
        if not isinstance(value, (list, tuple)) or len(value) != len(t[1]):
            raise Untranslatable("tuple of the right length expected")
        return f"{cpp_type(t)}{{{', '.join(literal(v, x) for v, x in zip(value, t[1]))}}}"
    if kind == "dict":
        if not isinstance(value, dict):
            raise Untranslatable("dict expected")
        items = ", ".join(f"{{{literal(k, t[1])}, {literal(v, t[2])}}}" for k, v in value.items())
        return f"{cpp_type(t)}{{{items}}}"
    raise Untranslatable(f"type {t}")
