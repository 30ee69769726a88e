"""Turning rows into training examples with loss on completion tokens only.

Shared by `sft train` and every RAFT cycle. Prompt tokens get label -100; sequences are
padded per batch to the longest row (never to a fixed max length).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from halo_forge.errors import DataError
from halo_forge.models.chat import render_chat


@dataclass
class Example:
    """A prompt (chat messages, or raw text) and the completion the model should learn."""

    messages: list[dict[str, Any]] | None
    completion: str
    raw_prompt: str | None = None  # for `text` rows: train on the whole text


def example_from_row(row: dict[str, Any], where: str) -> Example:
    """SFT rows: `text`, `messages` (last assistant turn is the target) or `prompt`+`response`."""
    if "messages" in row:
        msgs = row["messages"]
        if not isinstance(msgs, list) or not msgs or msgs[-1].get("role") != "assistant":
            raise DataError(f"{where}: field 'messages' must end with an assistant turn")
        return Example(msgs[:-1], str(msgs[-1]["content"]))
    if "prompt" in row and ("response" in row or "completion" in row):
        return Example([{"role": "user", "content": str(row["prompt"])}], str(row.get("response", row.get("completion"))))
    if "text" in row:
        return Example(None, str(row["text"]), raw_prompt="")
    raise DataError(f"{where}: row has none of 'text', 'messages', 'prompt'+'response'")


def encode_example(tok: Any, ex: Example, max_len: int) -> dict[str, list[int]]:
    if ex.messages is not None:
        prompt_text = render_chat(tok, ex.messages, add_generation_prompt=True)
    else:
        prompt_text = ex.raw_prompt or ""
    p_ids = tok(prompt_text, add_special_tokens=False)["input_ids"] if prompt_text else []
    c_ids = tok(ex.completion, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    if len(p_ids) > max_len - 8:  # keep the end of an over-long prompt, next to the answer
        p_ids = p_ids[-(max_len // 2):]
    c_ids = c_ids[: max_len - len(p_ids)]
    return {"input_ids": p_ids + c_ids, "labels": [-100] * len(p_ids) + c_ids}


class ExampleDataset(torch.utils.data.Dataset):
    def __init__(self, rows: list[dict[str, list[int]]]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.rows[i]


class CompletionCollator:
    """Right-pads a batch to its own longest row; padding is masked out of attention and loss."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, batch: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, b in enumerate(batch):
            n = len(b["input_ids"])
            ids[i, :n] = torch.tensor(b["input_ids"])
            labels[i, :n] = torch.tensor(b["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}
