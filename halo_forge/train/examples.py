"""Turning rows into training examples with loss on completion tokens only.

Shared by `sft train` and every RAFT cycle. Prompt tokens get label -100; sequences are
padded per batch to the longest row (never to a fixed max length). A *batcher* (encode +
collate) is what the trainer asks for: `TextBatcher` here, speech and image-text ones in
the model adapters; the trainer itself never knows which modality it trains.
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
    media: dict[str, Any] | None = None  # audio / image the prompt refers to (read by the model adapter)


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
    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]


#: Token sequences padded on the right, and the value they are padded with (None: the pad id).
SEQUENCE_PADS = {"input_ids": None, "decoder_input_ids": None, "labels": -100, "attention_mask": 0,
                 "mm_token_type_ids": 0}


def pad_collate(batch: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pads token sequences to the batch's longest row (padding is masked out of attention
    and loss) and concatenates every other tensor (audio features, image patches) along dim 0."""
    out: dict[str, torch.Tensor] = {}
    for key in batch[0]:
        if key in SEQUENCE_PADS:
            fill = pad_id if SEQUENCE_PADS[key] is None else SEQUENCE_PADS[key]
            width = max(len(b[key]) for b in batch)
            t = torch.full((len(batch), width), fill, dtype=torch.long)
            for i, b in enumerate(batch):
                t[i, :len(b[key])] = torch.as_tensor(b[key], dtype=torch.long)
            out[key] = t
        else:
            out[key] = torch.cat([torch.as_tensor(b[key]) for b in batch], dim=0)
    if "input_ids" in out and "attention_mask" not in out:
        mask = torch.zeros_like(out["input_ids"])
        for i, b in enumerate(batch):
            mask[i, :len(b["input_ids"])] = 1
        out["attention_mask"] = mask
    return out


class TextBatcher:
    """Chat-templated prompt + completion for decoder-only text models."""

    def __init__(self, tok: Any):
        self.tok = tok

    def encode(self, ex: Example, max_len: int) -> dict[str, Any]:
        return encode_example(self.tok, ex, max_len)

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return pad_collate(batch, self.tok.pad_token_id)
