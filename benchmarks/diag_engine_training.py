"""Does the native engine still agree with the live model after several training rounds?

Why: in the first Qwen2.5-Coder GSM8K RAFT run (fp32 masters, bf16 shadow, H100) held-out went
25.5% -> 27.7% after cycle 1 and then to 0.0% after cycle 2, every sample "optionoption...".
This separates an engine fault (native greedy != HF greedy on the same weights) from a training
fault (HF greedy is garbage too). Each round: native greedy on 64 test prompts, a sampled n=4 call
(the RAFT shapes alternate), HF greedy on 8 prompts, then ~25 optimizer steps on gold solutions.

    python benchmarks/diag_engine_training.py MODEL [GEN_DTYPE] [ROUNDS]
"""

from __future__ import annotations

import sys

import torch

from halo_forge.config.schema import GenerationConfig, TrainingConfig
from halo_forge.data.registry import load_source_tasks
from halo_forge.tasks import get_task_kind
from halo_forge.train.examples import Example
from halo_forge.train.trainer import train_on_examples


def hf_greedy(model, tok, reqs, new_tokens: int) -> list[str]:
    out = []
    for r in reqs:
        ids = tok(r.prompt_text, return_tensors="pt", add_special_tokens=False).to(model.device)
        with torch.no_grad(), torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=model.device.type == "cuda"):
            g = model.generate(**ids, max_new_tokens=new_tokens, do_sample=False)
        out.append(tok.decode(g[0, ids.input_ids.shape[1]:], skip_special_tokens=True))
    return out


def main() -> None:
    path = sys.argv[1]
    gen_dtype = sys.argv[2] if len(sys.argv) > 2 else "auto"
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    kind = get_task_kind("reasoning")
    ad = kind.model_adapter
    model, tok = ad.load(path, "auto", "float32")
    eng = ad.engine("native", model, tok, gen_dtype)
    test, train = load_source_tasks("gsm8k", None, "test", 64), load_source_tasks("gsm8k", None, "train", 2400)
    reqs, sample_reqs = kind.requests(tok, test), kind.requests(tok, train[:256])
    greedy = GenerationConfig(temperature=0, max_new_tokens=48).sampling(1, 0)
    sampled = GenerationConfig(temperature=0.8, top_p=0.95, max_new_tokens=96).sampling(4, 1)
    cfg = TrainingConfig(learning_rate=1e-5, epochs=1, batch_size=8, grad_accum=4, max_seq_len=640)
    for rnd in range(rounds + 1):
        native = [c.text for c in eng.generate(reqs, greedy, batch_size=512)]
        eng.generate(sample_reqs, sampled, batch_size=512)
        hf = hf_greedy(model, tok, reqs[:8], 48)
        same = sum(a.strip()[:60] == b.strip()[:60] for a, b in zip(native[:8], hf))
        p = next(model.parameters())
        print(f"round {rnd}: native==hf (first 60 chars) {same}/8; param finite {bool(torch.isfinite(p).all())}; "
              f"native[0]={native[0][:70]!r} hf[0]={hf[0][:70]!r}", flush=True)
        if rnd == rounds:
            break
        chunk = train[256 + rnd * 800: 256 + (rnd + 1) * 800]
        ex = [Example(kind.build_messages(t), t.reference) for t in chunk if t.reference]
        out = train_on_examples(model, ad.batcher(tok), ex, cfg, 1e-5, f"/tmp/diag_trainer_{rnd}", rnd)
        print(f"  trained {out.steps} steps, loss {out.loss:.3f}", flush=True)


if __name__ == "__main__":
    main()
