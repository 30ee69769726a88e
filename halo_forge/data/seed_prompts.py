"""Seed-prompt template files: many task rows from one prompt template and a table of values.

A user who distils from a teacher often has no dataset yet, only an idea of the prompts they
want ("write a C++ program that ...", with a few stdin/stdout tests each). A seed file says that
in a few lines of YAML and expands into ordinary task rows, so the teacher's answers are verified
by the same verifier as any other task — the verification data (tests, answer) travels in each row:

    verifier: {type: gcc}            # the verifier spec every row starts from
    template: "Write a C++17 program that {what}. Read stdin, print to stdout."
    rows:                            # one task per row; its keys fill the template
      - id: sum-two                  # optional (default seed-0001, ...)
        what: reads two integers and prints their sum
        tests: [{input: "2 3", output: "5"}]        # verification data: into the row's verifier
    # or, instead of rows, the cartesian product of value lists:
    product: {what: [...], style: [...]}

Keys that fill the template are the `{names}` it contains; the reserved keys `id`, `tests`,
`answer`, `expected_output`, `schema` and `verify` (a dict merged into the verifier spec) carry
verification data instead. Any other key is an error, so a typo cannot silently drop a test.
"""

from __future__ import annotations

import itertools
import string
from pathlib import Path
from typing import Any

from halo_forge.data.task import Task
from halo_forge.errors import DataError

SEED_SUFFIXES = (".yaml", ".yml")
VERIFICATION_KEYS = ("tests", "answer", "expected_output", "schema")


def is_seed_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in SEED_SUFFIXES


def _fields(template: str, where: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError as exc:
        raise DataError(f"{where}: bad template: {exc}") from None


def _rows(doc: dict[str, Any], where: str) -> list[dict[str, Any]]:
    if ("rows" in doc) == ("product" in doc):
        raise DataError(f"{where}: needs exactly one of 'rows' (a list of value maps) or 'product' (lists to combine)")
    if "rows" in doc:
        rows = doc["rows"]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise DataError(f"{where}: 'rows' must be a list of mappings")
        return rows
    product = doc["product"]
    if not isinstance(product, dict) or not all(isinstance(v, list) and v for v in product.values()):
        raise DataError(f"{where}: 'product' must map each template field to a non-empty list")
    keys = list(product)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(product[k] for k in keys))]


def _task(i: int, row: dict[str, Any], template: str, fields: set[str], base: dict[str, Any], where: str) -> Task:
    here = f"{where}: row {i + 1}"
    unknown = set(row) - fields - {"id", "verify", *VERIFICATION_KEYS}
    if unknown:
        raise DataError(f"{here}: key '{sorted(unknown)[0]}' is neither a template field {sorted(fields)} "
                        f"nor one of id, verify, {', '.join(VERIFICATION_KEYS)}")
    missing = fields - set(row)
    if missing:
        raise DataError(f"{here}: no value for template field '{sorted(missing)[0]}'")
    spec = dict(base)
    spec.update({k: row[k] for k in VERIFICATION_KEYS if k in row})
    if not isinstance(row.get("verify", {}), dict):
        raise DataError(f"{here}: 'verify' must be a mapping")
    spec.update(row.get("verify") or {})
    prompt = template.format(**{k: row[k] for k in fields})
    values = {k: row[k] for k in fields}
    return Task.from_dict({"id": str(row.get("id") or f"seed-{i + 1:04d}"), "prompt": prompt, "verifier": spec,
                           "meta": {"seed_file": str(where), "seed_values": values}}, where=here)


def load_seed_file(path: str | Path, limit: int | None = None) -> list[Task]:
    """Expand a seed-prompt template file into task rows (see the module docstring)."""
    import yaml

    where = str(path)
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise DataError(f"{where}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{where}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise DataError(f"{where}: a seed-prompt file is a mapping with 'template', 'verifier' and 'rows'/'product'")
    unknown = set(doc) - {"template", "verifier", "rows", "product", "description"}
    if unknown:
        raise DataError(f"{where}: unknown key '{sorted(unknown)[0]}'")
    template, base = doc.get("template"), doc.get("verifier")
    if not isinstance(template, str) or not template.strip():
        raise DataError(f"{where}: 'template' must be a non-empty string")
    if not isinstance(base, dict) or not isinstance(base.get("type"), str):
        raise DataError(f"{where}: 'verifier' must be a mapping with a string 'type' (e.g. {{type: gcc}})")
    fields = _fields(template, where)
    tasks = [_task(i, row, template, fields, base, where) for i, row in enumerate(_rows(doc, where))]
    ids = [t.id for t in tasks]
    dup = next((x for x in ids if ids.count(x) > 1), None)
    if dup:
        raise DataError(f"{where}: duplicate task id '{dup}'")
    if not tasks:
        raise DataError(f"{where}: no rows")
    return tasks[:limit] if limit else tasks
