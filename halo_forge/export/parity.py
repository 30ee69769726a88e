"""Does an exported file compute what the source model computes? Greedy continuations of fixed
prompts from transformers (the source) and from an independent runtime (llama.cpp for GGUF,
ONNX Runtime for ONNX), compared token by token. Greedy decoding makes the comparison exact:
any divergence in weights, rope layout, tokenizer or cache handling shows up as a different
token, usually within the first few."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROMPTS = (
    "The capital of France is",
    "def fibonacci(n):",
    "Water boils at a temperature of",
    "#include <iostream>\nint main() {",
    "Once upon a time, in a small village,",
    "The three primary colors are",
    "Question: What is 12 times 7?\nAnswer:",
    "import numpy as np\n\nx = np.array([1, 2, 3])\n",
)


@dataclass
class Parity:
    runtime: str
    prompt_tokens_equal: bool
    agreement: float  # share of generated positions where both picked the same token
    first_divergence: list[int | None]  # per prompt: index of the first different token, None if none

    @property
    def exact(self) -> bool:
        return self.prompt_tokens_equal and all(d is None for d in self.first_divergence)


def hf_greedy(model: Any, tok: Any, prompts=PROMPTS, new_tokens: int = 16) -> tuple[list[list[int]], list[list[int]]]:
    """(prompt ids, generated ids) per prompt, one prompt at a time (no padding effects)."""
    import torch

    prompt_ids, outs = [], []
    for p in prompts:
        ids = tok(p, return_tensors="pt", add_special_tokens=True)["input_ids"].to(model.device)
        with torch.no_grad():
            gen = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                                 min_new_tokens=new_tokens, do_sample=False, pad_token_id=tok.eos_token_id)
        prompt_ids.append(ids[0].tolist())
        outs.append(gen[0, ids.shape[1]:].tolist())
    return prompt_ids, outs


def llama_cpp_greedy(path: str, prompts=PROMPTS, new_tokens: int = 16) -> tuple[list[list[int]], list[list[int]]]:
    from halo_forge.export import require

    Llama = require("llama_cpp", "llamacpp").Llama

    llm = Llama(model_path=str(path), n_ctx=256, n_threads=2, verbose=False, logits_all=False)
    prompt_ids, outs = [], []
    for p in prompts:
        ids = llm.tokenize(p.encode(), add_bos=bool(llm.metadata.get("tokenizer.ggml.add_bos_token") == "true"),
                           special=True)
        gen = []
        for t in llm.generate(ids, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0, reset=True):
            gen.append(t)
            if len(gen) == new_tokens:
                break
        prompt_ids.append(list(ids))
        outs.append(gen)
    llm.close() if hasattr(llm, "close") else None
    return prompt_ids, outs


def compare(runtime: str, reference: tuple, other: tuple) -> Parity:
    (ref_p, ref_g), (oth_p, oth_g) = reference, other
    same = total = 0
    first: list[int | None] = []
    for a, b in zip(ref_g, oth_g):
        div = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
        if div is None and len(a) != len(b):
            div = min(len(a), len(b))
        first.append(div)
        same += sum(x == y for x, y in zip(a, b))
        total += max(len(a), len(b))
    return Parity(runtime, ref_p == oth_p, same / max(1, total), first)


def onnx_greedy(directory: str, tok: Any, prompts=PROMPTS, new_tokens: int = 16) -> tuple[list, list]:
    from halo_forge.export.onnx_file import OnnxDecoder

    dec = OnnxDecoder(directory)
    prompt_ids = [tok(p, add_special_tokens=True)["input_ids"] for p in prompts]
    return prompt_ids, [dec.greedy([p], new_tokens)[0] for p in prompt_ids]


def llama_cpp_forced_agreement(path: str, reference: tuple) -> float:
    """Teacher-forced token agreement: feed the source model's own greedy tokens and count the
    positions where llama.cpp's argmax is the same token. Unlike free-running greedy, one early
    near-tie does not turn the rest of the sequence into disagreements — the measure for
    quantized files, whose logits are meant to be close, not identical."""
    import numpy as np

    from halo_forge.export import require

    llm = require("llama_cpp", "llamacpp").Llama(model_path=str(path), n_ctx=256, n_threads=2, verbose=False,
                                                  logits_all=True)
    same = total = 0
    for prompt, gen in zip(*reference):
        llm.reset()
        llm.eval(list(prompt) + list(gen[:-1]))
        picks = np.argmax(np.asarray(llm.scores[len(prompt) - 1: len(prompt) - 1 + len(gen)]), axis=-1)
        same += int(sum(int(a) == int(b) for a, b in zip(picks, gen)))
        total += len(gen)
    return same / max(1, total)
