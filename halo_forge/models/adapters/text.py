"""Decoder-only text models (Llama, Qwen2, SmolLM2, ...): the original halo-forge path."""

from __future__ import annotations

from typing import Any

from halo_forge.data.task import Task
from halo_forge.generation.base import GenerationRequest
from halo_forge.models.adapters.base import ADAPTERS, ModelAdapter
from halo_forge.models.chat import render_chat


@ADAPTERS.register()
class TextAdapter(ModelAdapter):
    name = "text"

    def load(self, spec, device="auto", dtype="auto", trainable_adapter=False):
        from halo_forge.models.loader import load_model

        return load_model(spec, device, dtype, trainable_adapter)

    def request(self, processor: Any, messages: list[dict[str, Any]], task: Task) -> GenerationRequest:
        return GenerationRequest(task.id, render_chat(processor, messages, add_generation_prompt=True), task.media)

    def engine(self, name: str, model: Any, processor: Any, dtype: str = "auto") -> Any:
        from halo_forge.generation.base import make_engine

        return make_engine(name, model, processor, dtype)

    def batcher(self, processor: Any) -> Any:
        from halo_forge.models.batching import TextBatcher

        return TextBatcher(processor)
