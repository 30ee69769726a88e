"""Image-text-to-text models: Qwen2-VL (and Qwen2.5-VL), LLaVA, through transformers.

A task's image travels as `media.image`; the adapter puts it in the first user turn.
Processors are wrapped in `ImageTextProcessor` (render a chat with its image marker; encode
texts + images). Qwen2-VL's own processor class insists on a video processor, which needs
torchvision, and PyPI has no CPU torchvision wheel that runs with CPU torch; so where
`AutoProcessor` fails for a Qwen2-VL-family model we compose its image processor and
tokenizer and expand the image placeholder ourselves (`MergedPatchProcessor`).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from halo_forge.data.media import load_image, media_path
from halo_forge.data.task import Task
from halo_forge.errors import ModelLoadError
from halo_forge.generation.base import GenerationRequest
from halo_forge.models.adapters.base import ADAPTERS, ModelAdapter, hf_only, unwrap
from halo_forge.models.loader import Family

log = logging.getLogger(__name__)


def _with_image(messages: list[dict[str, Any]], image_part: Any) -> list[dict[str, Any]]:
    """The conversation with the image in the first user turn (where VLM chat formats expect it)."""
    out, placed = [], False
    for m in messages:
        if m.get("role") == "user" and not placed:
            m = {**m, "content": image_part(str(m["content"]))}
            placed = True
        out.append(m)
    return out


class HFImageTextProcessor:
    """A transformers processor that handles images itself (LLaVA; Qwen2-VL with torchvision)."""

    def __init__(self, processor: Any):
        self.processor = processor
        self.tokenizer = processor.tokenizer

    def render(self, messages: list[dict[str, Any]]) -> str:
        msgs = _with_image(messages, lambda text: [{"type": "image"}, {"type": "text", "text": text}])
        return self.processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)

    def encode(self, texts: list[str], images: list[Any]) -> dict[str, Any]:
        return dict(self.processor(text=texts, images=images, padding=True, return_tensors="pt"))

    def save_pretrained(self, path: str | Path) -> None:
        self.processor.save_pretrained(path)


class MergedPatchProcessor:
    """Qwen2-VL-family input building without the video processor: each `<|image_pad|>` is
    expanded to (grid t*h*w) / merge_size^2 copies, and mm_token_type_ids mark them (M-RoPE)."""

    START, PAD, END = "<|vision_start|>", "<|image_pad|>", "<|vision_end|>"

    def __init__(self, image_processor: Any, tokenizer: Any):
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.pad_id = tokenizer.convert_tokens_to_ids(self.PAD)
        self.merge = int(getattr(image_processor, "merge_size", 2))

    @classmethod
    def from_pretrained(cls, path: str, local_files_only: bool) -> "MergedPatchProcessor":
        import transformers

        tok = transformers.AutoTokenizer.from_pretrained(path, local_files_only=local_files_only)
        images = transformers.AutoImageProcessor.from_pretrained(path, local_files_only=local_files_only)
        if cls.PAD not in tok.get_vocab():
            raise ModelLoadError(f"{path}: tokenizer has no {cls.PAD} token (not a Qwen2-VL-family model)")
        return cls(images, tok)

    def render(self, messages: list[dict[str, Any]]) -> str:
        msgs = _with_image(messages, lambda text: f"{self.START}{self.PAD}{self.END}{text}")
        return self.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)

    def encode(self, texts: list[str], images: list[Any]) -> dict[str, Any]:
        pixels = self.image_processor(images=images, return_tensors="pt")
        counts = iter((pixels["image_grid_thw"].prod(-1) // self.merge ** 2).tolist())
        expanded = []
        for text in texts:
            parts = text.split(self.PAD)
            expanded.append(parts[0] + "".join(self.PAD * next(counts) + p for p in parts[1:]))
        enc = self.tokenizer(expanded, padding=True, return_tensors="pt", add_special_tokens=False)
        return {**enc, **pixels, "mm_token_type_ids": (enc["input_ids"] == self.pad_id).long()}

    def save_pretrained(self, path: str | Path) -> None:
        self.tokenizer.save_pretrained(path)
        self.image_processor.save_pretrained(path)


def load_image_text_processor(path: str, local_files_only: bool) -> Any:
    from transformers import AutoProcessor

    try:
        return HFImageTextProcessor(AutoProcessor.from_pretrained(path, local_files_only=local_files_only))
    except OSError:
        raise
    except Exception as exc:  # e.g. Qwen2-VL without torchvision: compose the parts ourselves
        log.debug("AutoProcessor failed for %s (%s); composing image processor + tokenizer", path, exc)
        return MergedPatchProcessor.from_pretrained(path, local_files_only)


VISION = Family("AutoModelForImageTextToText", load_image_text_processor)


@lru_cache(maxsize=256)
def _image(path: str):
    return load_image(Path(path))


def image_for(media: dict[str, Any] | None, where: str):
    return _image(str(media_path(media, "image", where)))


class VisionBatcher:
    """Prompt (with the expanded image tokens) + answer; loss on the answer tokens only."""

    def __init__(self, processor: Any):
        self.proc = processor
        self.tok = processor.tokenizer

    def encode(self, ex: Any, max_len: int) -> dict[str, Any]:
        enc = self.proc.encode([self.proc.render(ex.messages)], [image_for(ex.media, "training example")])
        p_ids = enc.pop("input_ids")[0].tolist()
        enc.pop("attention_mask", None)
        answer = self.tok(ex.completion, add_special_tokens=False)["input_ids"] + [self.tok.eos_token_id]
        answer = answer[: max(1, max_len - len(p_ids))]  # image tokens are never cut
        row = {**enc, "input_ids": p_ids + answer, "labels": [-100] * len(p_ids) + answer}
        if "mm_token_type_ids" in enc:
            row["mm_token_type_ids"] = enc["mm_token_type_ids"][0].tolist() + [0] * len(answer)
        return row

    def __call__(self, batch: list[dict[str, Any]]):
        from halo_forge.models.batching import pad_collate

        return pad_collate(batch, self.tok.pad_token_id)


@ADAPTERS.register()
class VisionAdapter(ModelAdapter):
    name = "vision"

    def load(self, spec, device="auto", dtype="auto", trainable_adapter=False):
        from halo_forge.models.loader import load_model

        return load_model(spec, device, dtype, trainable_adapter, family=VISION)

    def request(self, processor: Any, messages: list[dict[str, Any]], task: Task) -> GenerationRequest:
        return GenerationRequest(task.id, processor.render(messages), task.media)

    def engine(self, name: str, model: Any, processor: Any, dtype: str = "auto") -> Any:
        from halo_forge.generation.hf import HFEngine, ModelInputs

        hf_only(name, "image-text")

        def inputs(requests: list[GenerationRequest]) -> ModelInputs:
            processor.tokenizer.padding_side = "left"
            enc = processor.encode([r.prompt_text for r in requests], [image_for(r.media, f"task {r.id}") for r in requests])
            base = unwrap(model)
            kwargs = {k: (v.to(base.device, base.dtype) if v.is_floating_point() else v.to(base.device))
                      for k, v in enc.items()}
            return ModelInputs(kwargs, enc["input_ids"].shape[1], enc["attention_mask"].sum(1).tolist())

        return HFEngine(model, processor.tokenizer, inputs=inputs)

    def batcher(self, processor: Any) -> VisionBatcher:
        return VisionBatcher(processor)
