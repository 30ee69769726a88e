"""Model adapters by name: `text` (decoder-only LMs), `speech` (Whisper-family
encoder-decoders), `vision` (image-text-to-text: Qwen2-VL, LLaVA). A new adapter is one module
here with `@ADAPTERS.register()` on its class (see docs/extending.md)."""

from __future__ import annotations

from halo_forge.models.adapters.base import ADAPTERS, ModelAdapter


def get_adapter(name: str) -> ModelAdapter:
    return ADAPTERS.get_or_raise(name)()


__all__ = ["ADAPTERS", "ModelAdapter", "get_adapter"]
