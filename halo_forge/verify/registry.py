"""Verifiers registered by name (`--verifier gcc`); one file plus one decorator per verifier."""

from __future__ import annotations

from typing import Any

from halo_forge.registry import Registry
from halo_forge.verify.base import Verifier

VERIFIERS: Registry[type[Verifier]] = Registry("verifier", ("halo_forge.verify", "halo_forge.verify.code"))


def register_verifier(cls: type[Verifier]) -> type[Verifier]:
    """Class decorator: the verifier is found by its `name` (a second class with that name raises)."""
    return VERIFIERS.add(cls.name, cls)


def verifier_names() -> list[str]:
    return VERIFIERS.names()


def get_verifier(name: str, **options: Any) -> Verifier:
    return VERIFIERS.get_or_raise(name)(**options)
