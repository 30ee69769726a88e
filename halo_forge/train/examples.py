"""Turning rows into training examples with loss on completion tokens only.

Shared by `sft train` and every RAFT cycle. Prompt tokens get label -100; sequences are
padded per batch to the longest row (never to a fixed max length). A *batcher* (encode +
collate, from the model adapter: `models/batching.py` for text) is what the trainer asks for;
the trainer itself never knows which modality it trains.
"""

from __future__ import annotations

from typing import Any

import torch

from halo_forge.errors import DataError
from halo_forge.models.batching import Example


def _text(row: dict[str, Any], key: str, where: str) -> str:
    value = row[key]
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: field '{key}' must be a non-empty string, got {type(value).__name__}")
    return value


def example_from_row(row: dict[str, Any], where: str) -> Example:
    """SFT rows: `text`, `messages` (last assistant turn is the target) or `prompt`+`response`.
    Values must be strings: `{"text": 5}` is a broken row, not the text "5"."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
    if "messages" in row:
        msgs = row["messages"]
        if (not isinstance(msgs, list) or not msgs or not all(isinstance(m, dict) for m in msgs)
                or msgs[-1].get("role") != "assistant"):
            raise DataError(f"{where}: field 'messages' must end with an assistant turn")
        return Example(msgs[:-1], _text(msgs[-1], "content", f"{where}: last message"))
    if "prompt" in row and ("response" in row or "completion" in row):
        key = "response" if "response" in row else "completion"
        return Example([{"role": "user", "content": _text(row, "prompt", where)}], _text(row, key, where))
    if "text" in row:
        return Example(None, _text(row, "text", where), raw_prompt="")
    raise DataError(f"{where}: row has none of 'text', 'messages', 'prompt'+'response'")


class ExampleDataset(torch.utils.data.Dataset):
    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]
