"""The model adapter: everything about a model family that the shared loop must not know.

RAFT, SFT and the benchmark call the same five things for every modality:
`load` (model + processor), `request` (a task -> prompt text + media), `engine`,
`batcher` (training rows) and `lora_task_type`. A new modality is a new adapter,
registered by name and named by its task kind; nothing in train/ or bench/ changes.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from halo_forge.data.task import Task
from halo_forge.generation.base import Engine, GenerationRequest
from halo_forge.registry import Registry


class Batcher(Protocol):
    """Turns training examples into model batches (text: chat-templated token ids with the
    prompt masked; speech/vision: processor features + labels)."""

    def encode(self, example: Any, max_len: int) -> dict[str, Any]:
        ...

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        ...


class ModelAdapter:
    name: ClassVar[str] = ""
    #: the PEFT task type LoRA wraps the model with (None: the plain PeftModel)
    lora_task_type: ClassVar[str | None] = "CAUSAL_LM"

    def load(self, spec: str, device: str = "auto", dtype: str = "auto",
             trainable_adapter: bool = False) -> tuple[Any, Any]:
        """(model, processor): a tokenizer for text, a processor (with `.tokenizer`) otherwise."""
        raise NotImplementedError

    def request(self, processor: Any, messages: list[dict[str, Any]], task: Task) -> GenerationRequest:
        raise NotImplementedError

    def engine(self, name: str, model: Any, processor: Any, dtype: str = "auto") -> Engine:
        """`dtype`: generation.dtype, for engines that can decode in another precision than the model."""
        raise NotImplementedError

    def batcher(self, processor: Any) -> Batcher:
        """An object with `encode(Example, max_len) -> row` and `__call__(rows) -> batch`."""
        raise NotImplementedError


def hf_only(name: str, family: str) -> None:
    """Engines for non-text families: `auto` and `hf` are the reference engine; `native`
    is a Llama-family text decoder and says so instead of silently falling back."""
    from halo_forge.errors import HaloForgeError

    if name not in ("auto", "hf"):
        raise HaloForgeError(f"generation engine '{name}' does not support {family} models; use auto or hf")


def unwrap(model: Any) -> Any:
    """The transformers model under a PEFT wrapper (LoRA layers are injected in place, so the
    unwrapped model runs with the adapter active)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


#: model adapters by name; every module of this package registers its adapter at import
ADAPTERS: Registry[type[ModelAdapter]] = Registry("model adapter", ("halo_forge.models.adapters",))
