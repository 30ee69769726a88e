"""Output comparison modes for stdin/stdout tests: exact, whitespace, numeric, regex."""

from __future__ import annotations

import math
import re


def outputs_match(actual: str, expected: str, mode: str = "whitespace", tolerance: float = 1e-6) -> bool:
    if mode == "exact":
        return actual == expected
    if mode == "whitespace":
        return actual.split() == expected.split()
    if mode == "numeric":
        a, e = actual.split(), expected.split()
        return len(a) == len(e) and all(_token_eq(x, y, tolerance) for x, y in zip(a, e))
    if mode == "regex":
        return re.fullmatch(expected, actual.strip(), re.S) is not None
    raise ValueError(f"unknown match mode '{mode}' (exact, whitespace, numeric, regex)")


def _token_eq(a: str, e: str, tol: float) -> bool:
    if a == e:
        return True
    try:
        x, y = float(a), float(e)
    except ValueError:
        return False
    if math.isnan(x) or math.isnan(y):
        return False
    return abs(x - y) <= tol * max(1.0, abs(y))
