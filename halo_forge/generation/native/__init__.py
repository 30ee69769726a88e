"""The native engine: static KV cache, CUDA-graph decode steps, continuous batching (see engine.py)."""

from halo_forge.generation.native.engine import NativeEngine

__all__ = ["NativeEngine"]
