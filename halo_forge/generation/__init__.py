"""The generation engine interface and its backends (hf today; native and vllm plug in here)."""

from halo_forge.generation.base import Completion, Engine, GenerationRequest, SamplingParams, make_engine

__all__ = ["Completion", "Engine", "GenerationRequest", "SamplingParams", "make_engine"]
