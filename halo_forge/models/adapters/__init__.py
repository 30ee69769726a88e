"""Model adapters by name: `text` (decoder-only LMs), `speech` (Whisper-family
encoder-decoders), `vision` (image-text-to-text: Qwen2-VL, LLaVA)."""

from __future__ import annotations

from halo_forge.errors import HaloForgeError
from halo_forge.models.adapters.base import ModelAdapter


def get_adapter(name: str) -> ModelAdapter:
    if name == "text":
        from halo_forge.models.adapters.text import TextAdapter

        return TextAdapter()
    if name == "speech":
        from halo_forge.models.adapters.speech import SpeechAdapter

        return SpeechAdapter()
    if name == "vision":
        from halo_forge.models.adapters.vision import VisionAdapter

        return VisionAdapter()
    raise HaloForgeError(f"unknown model adapter '{name}' (text, speech, vision)")


__all__ = ["ModelAdapter", "get_adapter"]
