"""`data validate`: say which format a JSONL file is in and name every bad row's line and field.

Formats: SFT `text`, SFT `messages`, SFT `prompt`+`response`, task rows (with `verifier`), and the
files the project itself writes: `prompts` (`data prepare`'s id + prompt rows) and `samples`
(every run's samples.jsonl / generations with their task). Every bad row is listed, malformed JSON
lines included; the caller caps how many it prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from halo_forge.data.task import Task
from halo_forge.errors import DataError

ROLES = {"system", "user", "assistant", "tool"}


@dataclass
class ValidationReport:
    path: str
    format: str | None = None
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.rows > 0


def detect_format(row: dict[str, Any]) -> str | None:
    if "task" in row and "completion" in row:
        return "samples"
    if "task_id" in row and "completion" in row:
        return "generations"
    if "verifier" in row:
        return "task"
    if "messages" in row:
        return "messages"
    if "prompt" in row and ("response" in row or "completion" in row):
        return "prompt_response"
    if "text" in row:
        return "text"
    if set(row) <= {"id", "prompt", "messages", "meta"} and "id" in row and ("prompt" in row or "messages" in row):
        return "prompts"
    return None


def _check_row(fmt: str, row: dict[str, Any], where: str) -> str | None:
    if fmt == "task":
        try:
            Task.from_dict(row, where)
        except DataError as exc:
            return str(exc)
        return None
    if fmt == "samples":
        try:
            Task.from_dict(row["task"], f"{where}: field 'task'")
        except DataError as exc:
            return str(exc)
        return None if isinstance(row["completion"], str) else f"{where}: field 'completion' must be a string"
    if fmt == "generations":
        ok = isinstance(row["task_id"], str) and isinstance(row["completion"], str)
        return None if ok else f"{where}: fields 'task_id' and 'completion' must be strings"
    if fmt == "prompts":
        if not isinstance(row.get("id"), str) or not row["id"]:
            return f"{where}: field 'id' must be a non-empty string"
        if "prompt" in row and not (isinstance(row["prompt"], str) and row["prompt"]):
            return f"{where}: field 'prompt' must be a non-empty string"
        return None
    if fmt == "text":
        return None if isinstance(row.get("text"), str) and row["text"] else f"{where}: field 'text' must be a non-empty string"
    if fmt == "prompt_response":
        for key in ("prompt", "response" if "response" in row else "completion"):
            if not isinstance(row.get(key), str):
                return f"{where}: field '{key}' must be a string"
        return None
    msgs = row.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return f"{where}: field 'messages' must be a non-empty list"
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            return f"{where}: field 'messages[{i}]' needs role in {sorted(ROLES)} and string content"
    if not any(m["role"] == "assistant" for m in msgs):
        return f"{where}: field 'messages' has no assistant turn to train on"
    return None


def _rows(path: str, rep: ValidationReport):
    """(line, object) for every parseable line; a malformed line is a problem, not the end."""
    import gzip
    import json
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise DataError(f"file not found: {p}")
    opener = gzip.open if p.suffix == ".gz" else open
    try:
        with opener(p, "rt", encoding="utf-8") as fh:
            for i, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    yield i, json.loads(line)
                except json.JSONDecodeError as exc:
                    rep.rows += 1
                    rep.problems.append(f"{path}:{i}: malformed JSON ({exc.msg} at column {exc.colno})")
    except UnicodeDecodeError:
        rep.problems.append(f"{path}: not a UTF-8 text file")


def validate_file(path: str) -> ValidationReport:
    rep = ValidationReport(path)
    try:
        for line, row in _rows(path, rep):
            rep.rows += 1
            where = f"{path}:{line}"
            if not isinstance(row, dict):
                rep.problems.append(f"{where}: expected a JSON object")
                continue
            fmt = detect_format(row)
            if fmt is None:
                rep.problems.append(f"{where}: unknown row format (fields: {', '.join(sorted(row)) or 'none'})")
                continue
            if rep.format is None:
                rep.format = fmt
            elif fmt != rep.format:
                rep.problems.append(f"{where}: row is '{fmt}' but the file started as '{rep.format}'")
                continue
            problem = _check_row(fmt, row, where)
            if problem:
                rep.problems.append(problem)
    except DataError as exc:
        rep.problems.append(str(exc))
    if rep.rows == 0 and not rep.problems:
        rep.problems.append(f"{path}: no rows")
    return rep
