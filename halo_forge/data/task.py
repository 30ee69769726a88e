"""The Task row: everything needed to prompt a model and to verify its answer.

A task carries its own verification data (tests, expected output, answer, schema) in
`verifier`, so no verifier ever looks a task up by prompt text, and re-scoring saved
samples needs nothing but the saved rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from halo_forge.errors import DataError


@dataclass
class Task:
    id: str
    verifier: dict[str, Any]
    prompt: str | None = None
    messages: list[dict[str, Any]] | None = None
    reference: str | None = None
    media: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, row: Any, where: str = "task row") -> "Task":
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
        unknown = set(row) - {"id", "verifier", "prompt", "messages", "reference", "media", "meta"}
        if unknown:
            raise DataError(f"{where}: unknown field '{sorted(unknown)[0]}'")
        if "id" not in row:
            raise DataError(f"{where}: missing field 'id'")
        if not isinstance(row["id"], str) or not row["id"]:
            raise DataError(f"{where}: field 'id' must be a non-empty string, got {type(row['id']).__name__}")
        if not row.get("prompt") and not row.get("messages"):
            raise DataError(f"{where}: needs 'prompt' or 'messages'")
        ver = row.get("verifier")
        if ver is None:
            raise DataError(f"{where}: missing field 'verifier' (a prompt-only row cannot be verified; give the task "
                            "file with verification data, e.g. the tasks.jsonl `data prepare` writes)")
        if not isinstance(ver, dict) or not isinstance(ver.get("type"), str):
            raise DataError(f"{where}: field 'verifier' must be an object with a string 'type'")
        if "tests" in ver and not isinstance(ver["tests"], list):
            raise DataError(f"{where}: field 'verifier.tests' must be a list, got {type(ver['tests']).__name__}")
        msgs = row.get("messages")
        if msgs is not None and not (
            isinstance(msgs, list) and all(isinstance(m, dict) and "role" in m and "content" in m for m in msgs)
        ):
            raise DataError(f"{where}: field 'messages' must be a list of {{role, content}} objects")
        return cls(
            id=str(row["id"]),
            verifier=ver,
            prompt=row.get("prompt"),
            messages=msgs,
            reference=row.get("reference"),
            media=row.get("media"),
            meta=row.get("meta") or {},
        )

    def chat_messages(self) -> list[dict[str, Any]]:
        """The conversation to send to a chat model (a bare prompt becomes one user turn)."""
        if self.messages:
            return list(self.messages)
        return [{"role": "user", "content": self.prompt or ""}]
