"""Run the same verifier at each isolation level this machine supports (shared by sandbox tests)."""

from __future__ import annotations

import pytest

from halo_forge.verify.registry import get_verifier
from halo_forge.verify.sandbox import isolation
from tests.helpers import mbpp_like

LEVELS = ["pool", "one-shot", "fallback"]
ADD_TESTS = ["assert add(2, 3) == 5", "assert add(-1, 1) == 0", "assert add(10, 5) == 15"]


def use_level(monkeypatch, level: str) -> None:
    """Force `level`; skip when the machine cannot provide it."""
    real = isolation.bwrap_path()
    if level == "fallback":
        monkeypatch.setattr(isolation, "_find_bwrap", lambda: (None, "forced by the test"))
        monkeypatch.setattr(isolation, "_warned", True)
    elif real is None:
        pytest.skip("bubblewrap does not work on this machine")
    elif level == "pool" and not isolation.is_root():
        pytest.skip("the warm pool needs root")


def mbpp_at(level: str, code: str, tests=ADD_TESTS, entry: str = "add", **limits):
    v = get_verifier("mbpp", pool=(level == "pool"), limits={"wall_seconds": 4, "cpu_seconds": 4, **limits})
    return v.verify(mbpp_like("attack", entry, tests), f"```python\n{code}\n```")
