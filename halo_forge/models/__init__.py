"""Model loading (hub id, directory, GGUF, LoRA adapter, alias), device/dtype, chat templates."""

from halo_forge.models.chat import render_chat
from halo_forge.models.loader import load_model, pick_device, pick_dtype, resolve_model

__all__ = ["load_model", "pick_device", "pick_dtype", "render_chat", "resolve_model"]
