"""How a decoder-only text model turns a training example into tensors: chat-templated prompt
+ completion with loss on completion tokens only, right-padded per batch. Speech and image-text
batchers (the other model adapters) reuse `pad_collate`. This lives with the models because it
is per model family; the trainer only calls `encode` and the collate function it is handed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from halo_forge.models.chat import render_chat


@dataclass
class Example:
    """A prompt (chat messages, or raw text) and the completion the model should learn."""

    messages: list[dict[str, Any]] | None
    completion: str
    raw_prompt: str | None = None  # for `text` rows: train on the whole text
    media: dict[str, Any] | None = None  # audio / image the prompt refers to (read by the model adapter)


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
