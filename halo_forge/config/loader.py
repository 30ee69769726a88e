"""YAML loading with honest numbers and errors that name the key and the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from halo_forge.errors import ConfigError

T = TypeVar("T", bound=BaseModel)


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads `5e-5` as a float (YAML 1.1 wants `5.0e-5`, users write `5e-5`)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def load_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark else str(p)
        raise ConfigError(f"invalid YAML in {where}: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: top level must be a mapping of keys, got {type(data).__name__}")
    return data


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Set dotted keys (`lora.r`) from CLI flags the user passed; untouched keys keep their YAML value."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for dotted, value in overrides.items():
        node = out
        parts = dotted.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
            node[part] = child = dict(child)
            node = child
        node[parts[-1]] = value
    return out


def _fields_at(cls: type[BaseModel], path: tuple) -> list[str]:
    """Field names of the (nested) section at `path`, for "did you mean" hints."""
    node: Any = cls
    for part in path:
        field = getattr(node, "model_fields", {}).get(part)
        node = getattr(field, "annotation", None) if field else None
        if node is None:
            return []
    return list(getattr(node, "model_fields", {}))


def _describe(err: dict[str, Any], cls: type[BaseModel]) -> str:
    import difflib

    loc = ".".join(str(x) for x in err["loc"])
    if err["type"] == "extra_forbidden":
        near = difflib.get_close_matches(str(err["loc"][-1]), _fields_at(cls, tuple(err["loc"][:-1])), n=1)
        return f"unknown key '{loc}'" + (f" (did you mean '{near[0]}'?)" if near else "")
    if err["type"] == "missing":
        return f"missing required key '{loc}'"
    return f"'{loc}': {err['msg']} (got {err.get('input')!r})"


def load_config(cls: type[T], path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> T:
    """Build a typed config from an optional YAML file plus the flags the user passed."""
    from halo_forge.config.legacy import translate_keys

    from halo_forge.config.schema import nest_selection_keys

    data = translate_keys(load_yaml(path), str(path), set(cls.model_fields)) if path else {}
    if "selection" in cls.model_fields:  # flat aliases first, so a --flag (a nested key) overrides them
        try:
            data = nest_selection_keys(data)
        except ValueError as exc:
            raise ConfigError(f"config error in {path}: {exc}") from None
    data = apply_overrides(data, overrides or {})
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        where = f" in {path}" if path else " (from command-line flags)"
        problems = "; ".join(_describe(e, cls) for e in exc.errors())  # every problem, still one line
        raise ConfigError(f"config error{where}: {problems}") from None
