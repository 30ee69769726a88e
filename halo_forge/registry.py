"""One registry helper for everything found by name: verifiers, datasets, model adapters,
generation engines and task kinds.

Why one: registries that silently overwrite a duplicate name (lm-evaluation-harness's known
failure) and hand-kept module lists that a new file must be added to were the two ways a plugin
got lost here. A `Registry` raises on a second, different object under a taken name, and finds
its entries by importing every module of the packages it is told about (`pkgutil`), so adding a
verifier is one new file with one decorator.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Iterator, Mapping
from typing import Callable, Generic, TypeVar

from halo_forge.errors import HaloForgeError

T = TypeVar("T")


class DuplicateName(HaloForgeError):
    """Two different objects registered under one name."""


class UnknownName(HaloForgeError):
    """A name no registered object has."""


def _same(a: object, b: object) -> bool:
    """The same definition seen twice (a module imported again, e.g. by a reload) is not a clash."""
    if a is b:
        return True
    qa, qb = getattr(a, "__qualname__", None), getattr(b, "__qualname__", None)
    if qa is not None and qb is not None:
        return (getattr(a, "__module__", None), qa) == (getattr(b, "__module__", None), qb)
    return False


class Registry(Mapping[str, T], Generic[T]):
    """Name → object, read like a dict. The modules of `packages` (each package's own modules, not
    its sub-packages) are imported on first read; they register themselves at import."""

    def __init__(self, what: str, packages: tuple[str, ...] = ()):
        self.what = what
        self.packages = packages
        self._items: dict[str, T] = {}
        self._discovered = not packages
        self._lock = threading.RLock()

    # -- registering ----------------------------------------------------------------------------
    def add(self, name: str, obj: T) -> T:
        with self._lock:
            old = self._items.get(name)
            if old is not None and not _same(old, obj):
                raise DuplicateName(f"{self.what} '{name}' is already registered (by {_where(old)}); "
                                    f"{_where(obj)} cannot take the name")
            self._items[name] = obj
        return obj

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator: `@VERIFIERS.register()` uses the class's `name` attribute."""
        def deco(obj: T) -> T:
            self.add(name or getattr(obj, "name"), obj)
            return obj
        return deco

    # -- reading --------------------------------------------------------------------------------
    def discover(self) -> None:
        if self._discovered:
            return
        with self._lock:
            if self._discovered:
                return
            self._discovered = True  # set first: a module being imported may read the registry
            for pkg_name in self.packages:
                pkg = importlib.import_module(pkg_name)
                for mod in pkgutil.iter_modules(pkg.__path__, prefix=f"{pkg_name}."):
                    if not mod.ispkg and not mod.name.rsplit(".", 1)[-1].startswith("_"):
                        importlib.import_module(mod.name)

    def get_or_raise(self, name: str) -> T:
        self.discover()
        if name not in self._items:
            raise UnknownName(f"unknown {self.what} '{name}' (known: {', '.join(self.names())})")
        return self._items[name]

    def names(self) -> list[str]:
        self.discover()
        return sorted(self._items)

    def __getitem__(self, name: str) -> T:
        self.discover()
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        self.discover()
        return iter(dict(self._items))

    def __len__(self) -> int:
        self.discover()
        return len(self._items)

    def unregister(self, name: str) -> None:
        """For tests that register a toy entry and clean up after themselves."""
        with self._lock:
            self._items.pop(name, None)


def _where(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"
