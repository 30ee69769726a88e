"""Command-line options generated from the typed configs: the config is their single source.

Each command lists which config fields it exposes (`Opt(dotted key, flag names)`); the option's
type, `choices` (a `Literal`, or the registry a field is checked against) and help text (the
field's `description`) come from the pydantic model, and its `dest` is the dotted key, so the
parsed flags are already config overrides. A field without a description cannot become an
option (build fails; tests/test_cli.py builds every parser). Every option defaults to
argparse.SUPPRESS (see main.py), so a flag overrides the YAML only when it is given.
"""

from __future__ import annotations

import argparse
import types
from dataclasses import dataclass
from typing import Any, Callable, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined


@dataclass(frozen=True)
class Opt:
    key: str  # dotted config key, e.g. "generation.temperature"
    flags: tuple[str, ...]  # e.g. ("--temperature",)
    type: Callable[[str], Any] | None = None  # a parser for values pydantic cannot take as text (lists)


def opt(key: str, *flags: str, type: Callable[[str], Any] | None = None) -> Opt:
    return Opt(key, flags or ("--" + key.rsplit(".", 1)[-1].replace("_", "-"),), type)


def _registry_choices() -> dict[str, Callable[[], list[str]]]:
    from halo_forge.cli.common import engine_names, task_kind_names

    return {"task": task_kind_names, "generation.engine": engine_names}


def _strip_optional(ann: Any) -> Any:
    if get_origin(ann) in (Union, types.UnionType):
        args = [a for a in get_args(ann) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return ann


def field_of(cls: type[BaseModel], key: str) -> tuple[Any, Any]:
    """(annotation, FieldInfo) of a dotted key, through nested (and optional) sections."""
    model: Any = cls
    parts = key.split(".")
    for i, part in enumerate(parts):
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            raise KeyError(f"{cls.__name__} has no field '{'.'.join(parts[:i + 1])}'")
        info = model.model_fields[part]
        model = _strip_optional(info.annotation)
    return model, info


def _argument(cls: type[BaseModel], o: Opt) -> dict[str, Any]:
    ann, info = field_of(cls, o.key)
    if not info.description:
        raise ValueError(f"{cls.__name__}.{o.key} has no description: it cannot become a command-line option")
    kw: dict[str, Any] = {"dest": o.key, "help": info.description}
    base = get_args(ann)[0] if get_origin(ann) is not None and get_origin(ann) is not Literal \
        and get_origin(ann).__name__ == "Annotated" else ann
    choices = _registry_choices().get(o.key)
    if o.type is not None:
        kw["type"] = o.type
    elif base is bool:
        kw["action"] = argparse.BooleanOptionalAction
    elif get_origin(base) is Literal:
        kw["choices"] = list(get_args(base))
    elif base in (int, float, str):
        kw["type"] = base
    else:
        raise TypeError(f"{cls.__name__}.{o.key}: {ann} needs an explicit parser (Opt.type)")
    if choices is not None:
        kw["choices"] = choices()
    if "choices" not in kw and kw.get("action") is None:
        kw["metavar"] = o.key.rsplit(".", 1)[-1].upper()
    if info.default not in (None, PydanticUndefined) and kw.get("action") is None:
        kw["help"] += f" (default: {info.default})"
    return kw


def add_options(p: argparse.ArgumentParser, cls: type[BaseModel], options: list[Opt]) -> None:
    for o in options:
        p.add_argument(*o.flags, **_argument(cls, o))


def config_overrides(args: argparse.Namespace, *tables: list[Opt]) -> dict[str, Any]:
    """The options the user gave, as dotted config keys (absent flags are absent: SUPPRESS)."""
    given = vars(args)
    return {o.key: given[o.key] for table in tables for o in table if o.key in given}
