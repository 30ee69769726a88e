"""Test helpers: the tiny random-init model (real SmolLM2 tokenizer) and small task rows."""

from __future__ import annotations

from pathlib import Path

TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=2048, tie_word_embeddings=True)


def smollm2_cache_dir() -> Path:
    from halo_forge.models.loader import ensure_gguf_cache, resolve_model

    return ensure_gguf_cache(resolve_model("smollm2-135m-instruct"))


def build_tiny_model(target: Path, seed: int = 0) -> Path:
    """A 2-layer Llama with SmolLM2's tokenizer and chat template, saved as a model dir."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(smollm2_cache_dir())
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id, **TINY)
    model = LlamaForCausalLM(cfg)
    model.save_pretrained(target)
    tok.save_pretrained(target)
    return target


def execution_task(task_id: str, tests: list[tuple[str, str]], language: str = "cpp") -> dict:
    return {"id": task_id, "prompt": "write it", "verifier": {"type": "execution", "language": language,
                                                             "tests": [{"input": i, "output": o} for i, o in tests]}}


def mbpp_like(task_id: str, entry: str, tests: list[str]) -> dict:
    return {"id": task_id, "prompt": "write it", "verifier": {"type": "mbpp", "entry_point": entry, "tests": tests}}
