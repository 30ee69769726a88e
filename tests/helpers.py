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


WHISPER_TOKENS = ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"]
QWEN2VL_TOKENS = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]


def _tokenizer_with(tokens: list[str]):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2_cache_dir())
    tok.add_special_tokens({"additional_special_tokens": tokens})
    return tok


def build_tiny_whisper(target: Path, seed: int = 0) -> Path:
    """A 2+2-layer Whisper (random init) with SmolLM2's BPE plus Whisper's task tokens."""
    import torch
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperProcessor

    tok = _tokenizer_with(WHISPER_TOKENS)
    torch.manual_seed(seed)
    cfg = WhisperConfig(vocab_size=len(tok), num_mel_bins=80, encoder_layers=2, decoder_layers=2, d_model=64,
                        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128,
                        max_source_positions=1500, max_target_positions=448,
                        decoder_start_token_id=tok.convert_tokens_to_ids(WHISPER_TOKENS[0]),
                        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.eos_token_id,
                        suppress_tokens=None, begin_suppress_tokens=None)
    WhisperForConditionalGeneration(cfg).save_pretrained(target)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tok).save_pretrained(target)
    return target


def build_tiny_qwen2vl(target: Path, seed: int = 0) -> Path:
    """A 2-layer Qwen2-VL (2-block vision tower), random init, SmolLM2's tokenizer + vision tokens."""
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tok = _tokenizer_with(QWEN2VL_TOKENS)
    ids = {t: tok.convert_tokens_to_ids(t) for t in QWEN2VL_TOKENS}
    torch.manual_seed(seed)
    special = dict(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    cfg = Qwen2VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]}, **special),
        vision_config=dict(depth=2, embed_dim=32, hidden_size=64, num_heads=2, mlp_ratio=2, patch_size=14,
                           spatial_merge_size=2, in_channels=3, temporal_patch_size=2),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"], **special)
    Qwen2VLForConditionalGeneration(cfg).save_pretrained(target)
    tok.save_pretrained(target)
    Qwen2VLImageProcessorPil(min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 64).save_pretrained(target)
    return target


LLAVA_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>{% else %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build_tiny_llava(target: Path, seed: int = 0) -> Path:
    """A 2-layer LLaVA (CLIP tower on 28x28 images) with transformers' own LlavaProcessor."""
    import torch
    from transformers import CLIPImageProcessor, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    tok = _tokenizer_with(["<image>"])
    torch.manual_seed(seed)
    images = CLIPImageProcessor(size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28})
    proc = LlavaProcessor(image_processor=images, tokenizer=tok, patch_size=14, num_additional_image_tokens=1,
                          vision_feature_select_strategy="default", chat_template=LLAVA_TEMPLATE)
    cfg = LlavaConfig(
        vision_config=dict(model_type="clip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, image_size=28, patch_size=14),
        text_config=dict(model_type="llama", vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id),
        image_token_id=tok.convert_tokens_to_ids("<image>"), vision_feature_select_strategy="default",
        vision_feature_layer=-1)
    LlavaForConditionalGeneration(cfg).save_pretrained(target)
    proc.save_pretrained(target)
    return target
