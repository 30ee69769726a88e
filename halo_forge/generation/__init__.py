"""The generation engine interface and its backends: hf (reference) and native (default for Llama-family models)."""

from halo_forge.generation.base import Completion, Engine, GenerationRequest, SamplingParams, make_engine

__all__ = ["Completion", "Engine", "GenerationRequest", "SamplingParams", "make_engine"]
