"""Write a transformers causal LM (Llama family such as SmolLM2, or Qwen2) as a GGUF file with
the `gguf` package's writer, so llama.cpp / Ollama run what halo-forge trained.

What llama.cpp's own converter does and we must do too (it is a script in llama.cpp's source
tree, not an installed module, so we cannot call it):
- tensor names through `gguf.get_tensor_name_map` (the package's own table);
- for the `llama` architecture, q/k projection rows permuted from Hugging Face's rotate-half
  layout to GGML's interleaved rope layout (Qwen2 is NEOX-rope in llama.cpp: no permutation);
- tokenizer as `gpt2`-style BPE: every token with its type, the merges, special ids, the chat
  template, and the pre-tokenizer name llama.cpp keys its regex on (which it detects by hashing
  the tokenizer's output; we know it per family and refuse families we do not know).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from halo_forge.errors import HaloForgeError

ARCHES = {"llama": "LLAMA", "qwen2": "QWEN2"}
# --dtype -> (tensor type for 2-D weights, the file type recorded in general.file_type)
GGUF_DTYPES = {"f32": ("F32", "ALL_F32"), "f16": ("F16", "MOSTLY_F16"), "bf16": ("BF16", "MOSTLY_BF16"),
               "q8_0": ("Q8_0", "MOSTLY_Q8_0"), "q4_0": ("Q4_0", "MOSTLY_Q4_0")}


class UnsupportedModel(HaloForgeError):
    """A model family or tokenizer this exporter does not write."""


def _pre_tokenizer(tok: Any, model_type: str) -> str:
    """By the tokenizer, not the architecture. transformers 5 tokenizer classes carry their own
    pre-tokenizer (Qwen2's splits digits and newlines its own way), so the class decides first."""
    vocab = len(tok)
    if type(tok).__name__.startswith("Qwen2"):
        return "qwen2"
    if 49152 <= vocab < 49408:  # SmolLM / SmolLM2's 49k BPE (+ any added tokens)
        return "smollm"
    if 151643 <= vocab <= 151936:  # Qwen2 / Qwen2.5
        return "qwen2"
    if 128000 <= vocab <= 128512:  # Llama 3.x
        return "llama-bpe"
    raise UnsupportedModel(f"GGUF export: unknown tokenizer ({vocab} tokens) on this {model_type} model; "
                           f"known: SmolLM2 (smollm), Llama 3 (llama-bpe), Qwen2 (qwen2)")


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF rotate-half rows -> GGML interleaved rows (llama.cpp's converter does the same)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _merges(tok: Any) -> list[str]:
    model = json.loads(tok.backend_tokenizer.to_str())["model"]
    return [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]


def _token_types(tok: Any, n_vocab: int) -> tuple[list[str], list[int]]:
    import gguf

    vocab = tok.get_vocab()
    by_id = {i: t for t, i in vocab.items()}
    added = {t.content: t for t in getattr(tok, "added_tokens_decoder", {}).values()}
    tokens, types = [], []
    for i in range(n_vocab):
        t = by_id.get(i, f"[PAD{i}]")
        tokens.append(t)
        if i not in by_id:
            types.append(gguf.TokenType.UNUSED)
        elif t in added:
            types.append(gguf.TokenType.CONTROL if added[t].special else gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL)
    return tokens, types


def _write_tokenizer(w: Any, tok: Any, cfg: Any) -> None:
    tokens, types = _token_types(tok, cfg.vocab_size)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(_pre_tokenizer(tok, cfg.model_type))
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(_merges(tok))
    for name, value in (("bos", tok.bos_token_id), ("eos", tok.eos_token_id), ("pad", tok.pad_token_id),
                        ("unk", tok.unk_token_id)):
        if value is not None:
            getattr(w, f"add_{name}_token_id")(value)
    w.add_add_bos_token(bool(getattr(tok, "add_bos_token", False)))
    if getattr(tok, "chat_template", None):
        w.add_chat_template(tok.chat_template)


def _hparams(w: Any, cfg: Any) -> None:
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(float(_rope_theta(cfg)))
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(cfg.vocab_size)


def _rope_theta(cfg: Any) -> float:
    params = getattr(cfg, "rope_parameters", None) or {}
    return params.get("rope_theta") or getattr(cfg, "rope_theta", None) or 10000.0


def _qtype(dtype: str, name: str, arr: np.ndarray):
    """Norms, biases and 1-D tensors stay f32 (as llama.cpp's converter keeps them)."""
    import gguf

    if arr.ndim < 2 or dtype == "f32":
        return gguf.GGMLQuantizationType.F32
    qt = getattr(gguf.GGMLQuantizationType, GGUF_DTYPES[dtype][0])
    block = gguf.GGML_QUANT_SIZES[qt][0]
    return qt if arr.shape[-1] % block == 0 else gguf.GGMLQuantizationType.F16


def _tensors(model: Any, cfg: Any):
    """(gguf name, float32 array) for every weight, q/k permuted for the llama architecture."""
    import gguf

    arch = getattr(gguf.MODEL_ARCH, ARCHES[cfg.model_type])
    names = gguf.get_tensor_name_map(arch, cfg.num_hidden_layers)
    state = model.state_dict()
    tied = bool(getattr(cfg, "tie_word_embeddings", False))
    for hf_name, t in state.items():
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp reads the tied output from token_embd
        if "rotary_emb" in hf_name:
            continue
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise UnsupportedModel(f"GGUF export: no GGUF name for tensor '{hf_name}' ({cfg.model_type})")
        arr = t.detach().to("cpu").float().numpy()
        if cfg.model_type == "llama" and hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            arr = _permute(arr, cfg.num_attention_heads)
        elif cfg.model_type == "llama" and hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            arr = _permute(arr, cfg.num_key_value_heads)
        yield name, arr


def write_gguf(model: Any, tok: Any, path: Path, dtype: str, metadata: dict[str, str]) -> None:
    import gguf

    cfg = model.config
    if cfg.model_type not in ARCHES:
        raise UnsupportedModel(f"GGUF export supports {', '.join(ARCHES)} models; this one is '{cfg.model_type}'")
    if dtype not in GGUF_DTYPES:
        raise HaloForgeError(f"GGUF export: --dtype must be one of {', '.join(GGUF_DTYPES)} (got '{dtype}')")
    w = gguf.GGUFWriter(str(path), arch=ARCHES[cfg.model_type].lower())
    w.add_name(metadata.get("source_model", "halo-forge export"))
    w.add_file_type(getattr(gguf.LlamaFileType, GGUF_DTYPES[dtype][1]))
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    _hparams(w, cfg)
    _write_tokenizer(w, tok, cfg)
    for key, value in metadata.items():
        w.add_string(f"halo_forge.{key}", str(value))
    for name, arr in _tensors(model, cfg):
        qt = _qtype(dtype, name, arr)
        data = arr if qt == gguf.GGMLQuantizationType.F32 else (
            arr.astype(np.float16) if qt == gguf.GGMLQuantizationType.F16 else gguf.quants.quantize(arr, qt))
        w.add_tensor(name, data, raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
