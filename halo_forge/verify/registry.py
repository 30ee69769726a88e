"""Verifiers registered by name (`--verifier gcc`); one file plus one decorator per verifier."""

from __future__ import annotations

import importlib
from typing import Any

from halo_forge.errors import HaloForgeError
from halo_forge.verify.base import Verifier

VERIFIERS: dict[str, type[Verifier]] = {}

_MODULES = (
    "halo_forge.verify.code.python_tests",
    "halo_forge.verify.code.compiled",
    "halo_forge.verify.code.custom",
    "halo_forge.verify.code.remote",
    "halo_forge.verify.math",
    "halo_forge.verify.toolcall",
    "halo_forge.verify.asr",
    "halo_forge.verify.label",
    "halo_forge.verify.vision",
    "halo_forge.verify.auto",
)


def register_verifier(cls: type[Verifier]) -> type[Verifier]:
    VERIFIERS[cls.name] = cls
    return cls


def _ensure_loaded() -> None:
    for mod in _MODULES:
        importlib.import_module(mod)


def verifier_names() -> list[str]:
    _ensure_loaded()
    return sorted(VERIFIERS)


def get_verifier(name: str, **options: Any) -> Verifier:
    _ensure_loaded()
    if name not in VERIFIERS:
        raise HaloForgeError(f"unknown verifier '{name}' (known: {', '.join(sorted(VERIFIERS))})")
    return VERIFIERS[name](**options)
