"""The native engine: token-for-token greedy parity with HF, stop strings, deterministic sampling."""

import pytest
import torch

from halo_forge.generation import GenerationRequest, SamplingParams, make_engine
from halo_forge.generation.native.sampling import row_uniform
from halo_forge.models import load_model, render_chat

PROMPTS = ["What is 2+2?", "Write a haiku about rain.", "List three colors.", "Explain recursion briefly."]


def _requests(tok):
    return [GenerationRequest(f"r{i}", render_chat(tok, [{"role": "user", "content": p}])) for i, p in enumerate(PROMPTS)]


@pytest.mark.slow
def test_greedy_equals_hf_on_smollm2():
    model, tok = load_model("smollm2-135m-instruct", device="cpu")
    reqs = _requests(tok)
    p = SamplingParams(n=1, temperature=0, max_new_tokens=24)
    ref = make_engine("hf", model, tok).generate(reqs, p, batch_size=1)
    out = make_engine("native", model, tok).generate(reqs, p, batch_size=4)
    assert [c.token_ids for c in out] == [c.token_ids for c in ref]
    assert [c.finish_reason for c in out] == [c.finish_reason for c in ref]


def test_greedy_equals_hf_on_tiny_model_with_varied_prompts(tiny_model_dir):
    model, tok = load_model(str(tiny_model_dir), device="cpu")
    torch.manual_seed(0)
    for p in model.parameters():  # sharpen the random model so greedy paths are not all one token
        p.data.mul_(4.0)
    reqs = [GenerationRequest(f"t{i}", " ".join(["alpha", "beta", "gamma", "delta"][: i + 1]) * (i + 1)) for i in range(4)]
    params = SamplingParams(n=1, temperature=0, max_new_tokens=12)
    ref = make_engine("hf", model, tok).generate(reqs, params, batch_size=1)
    out = make_engine("native", model, tok).generate(reqs, params, batch_size=4)
    assert [c.token_ids for c in out] == [c.token_ids for c in ref]
    assert len({tuple(c.token_ids) for c in out}) > 1


def test_sampling_is_independent_of_batching_and_resume(tiny_model_dir):
    model, tok = load_model(str(tiny_model_dir), device="cpu")
    eng = make_engine("native", model, tok)
    reqs = _requests(tok)
    p = SamplingParams(n=3, temperature=1.0, top_p=0.9, max_new_tokens=8, seed=11)
    a = eng.generate(reqs, p, batch_size=12)
    b = eng.generate(reqs, p, batch_size=2)
    assert [c.token_ids for c in a] == [c.token_ids for c in b]
    seen = []
    c = eng.generate(reqs, p, batch_size=2, skip_batches={0, 2}, on_batch=lambda n, comps: seen.append(n))
    assert seen == [1, 3, 4, 5] and [x.token_ids for x in c] == [x.token_ids for x in b[2:4] + b[6:]]


def test_stop_strings_end_exactly(tiny_model_dir):
    model, tok = load_model(str(tiny_model_dir), device="cpu")
    eng = make_engine("native", model, tok)
    reqs = _requests(tok)[:1]
    free = eng.generate(reqs, SamplingParams(n=1, temperature=1.0, max_new_tokens=20, seed=3))[0].text
    stop = free[5:7] if len(free) > 8 else free[-1:]
    cut = eng.generate(reqs, SamplingParams(n=1, temperature=1.0, max_new_tokens=20, seed=3, stop=(stop,)))[0]
    assert cut.text == free[: free.find(stop)] and cut.finish_reason == "stop"


def test_sees_lora_and_in_place_updates(tiny_model_dir):
    from halo_forge.config.schema import LoraConfig
    from halo_forge.train.trainer import attach_lora

    model, tok = load_model(str(tiny_model_dir), device="cpu")
    model = attach_lora(model, LoraConfig(r=4, alpha=8))
    eng = make_engine("native", model, tok)
    reqs = _requests(tok)[:2]
    p = SamplingParams(n=1, temperature=0, max_new_tokens=6, logprobs=True)
    before = eng.generate(reqs, p)
    with torch.no_grad():
        for name, prm in model.named_parameters():
            if "lora_B" in name:
                prm.add_(torch.randn_like(prm))
    after = eng.generate(reqs, p)
    assert [c.logprobs for c in before] != [c.logprobs for c in after]  # new weights, no reload


def test_keyed_noise_is_uniform_and_keyed():
    u = row_uniform(torch.arange(20000))
    assert 0.48 < u.mean().item() < 0.52 and u.min() > 0 and u.max() < 1
    assert abs((u < 0.1).float().mean().item() - 0.1) < 0.01
    assert torch.equal(row_uniform(torch.tensor([5])), u[5:6])


def _frequencies(logits, params, draws=40000):
    from halo_forge.generation.native.sampling import pick_tokens

    keys = torch.arange(draws, dtype=torch.long) * 7919 + 13
    tokens, lp = pick_tokens(logits.expand(draws, -1), params, keys, want_logprobs=True)
    return torch.bincount(tokens, minlength=logits.shape[-1]).double() / draws, tokens, lp


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_sampling_matches_the_tempered_distribution(temperature):
    logits = torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0]])
    freq, tokens, lp = _frequencies(logits, SamplingParams(temperature=temperature))
    expected = torch.softmax(logits[0].double() / temperature, -1)
    assert (freq - expected).abs().max() < 0.01  # ~4 standard errors at 40k draws
    assert torch.allclose(lp.double(), expected[tokens].log(), atol=1e-5)


def test_top_p_and_top_k_keep_the_nucleus_renormalised():
    logits = torch.tensor([[3.0, 2.0, 1.0, 0.0, -1.0]])  # probs ~ .64 .24 .09 .03 .01
    probs = torch.softmax(logits[0].double(), -1)
    freq, _, _ = _frequencies(logits, SamplingParams(temperature=1.0, top_p=0.8))
    assert freq[2:].sum() == 0  # .64 < .8 <= .64+.24: the nucleus is the first two tokens
    assert abs(freq[0].item() - (probs[0] / probs[:2].sum()).item()) < 0.01
    freq, _, _ = _frequencies(logits, SamplingParams(temperature=1.0, top_k=3))
    assert freq[3:].sum() == 0 and abs(freq[2].item() - (probs[2] / probs[:3].sum()).item()) < 0.01
    greedy, _, _ = _frequencies(logits, SamplingParams(temperature=0))
    assert greedy[0] == 1.0


def test_cpu_top_p_from_candidates_equals_the_full_sort():
    """The CPU shortcut (top 1,024 candidates, full sort only for rows whose nucleus is wider)
    must draw what the full sort draws for the same keys."""
    from halo_forge.generation.native.sampling import _draw_from_sorted, pick_tokens

    g = torch.Generator().manual_seed(0)
    peaked = torch.randn(4096, generator=g) * 4  # nucleus of a few tokens: served by the candidates
    flat = torch.randn(4096, generator=g) * 0.1  # nucleus of ~3,700 tokens: falls back to the sort
    logits = torch.stack([peaked, flat]).repeat(2000, 1)
    keys = torch.arange(4000) * 7919 + 13
    tokens, lp = pick_tokens(logits, SamplingParams(temperature=0.7, top_p=0.9), keys, want_logprobs=True)
    vals, order = torch.sort(logits, descending=True, dim=-1)
    scaled = vals / 0.7
    ref, ref_lp, _ = _draw_from_sorted(scaled, order, scaled.logsumexp(-1), 0.9, row_uniform(keys))
    nucleus = ((scaled - scaled.logsumexp(-1, keepdim=True)).exp().cumsum(-1) < 0.9).sum(-1) + 1
    assert nucleus[0] < 1024 < nucleus[1]
    same = tokens == ref
    assert same.float().mean() > 0.999 and same[1::2].all()  # fallback rows are the sort itself
    assert torch.allclose(lp[same], ref_lp[same], atol=1e-5)
    assert len(set(tokens[0::2].tolist())) > 1  # it did sample


def test_auto_picks_native_for_llama_and_hf_otherwise(tiny_model_dir):
    from transformers import GPT2Config, GPT2LMHeadModel

    from halo_forge.errors import HaloForgeError, UnsupportedModel
    from halo_forge.registry import UnknownName

    model, tok = load_model(str(tiny_model_dir), device="cpu")
    assert make_engine("auto", model, tok).name == "native"
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=len(tok)))
    assert make_engine("auto", gpt2, tok).name == "hf"
    with pytest.raises(UnsupportedModel, match="Llama-family"):  # a typed error, not TypeError
        make_engine("native", gpt2, tok)
    with pytest.raises(UnknownName, match="unknown generation engine 'fast' .known: hf, native"):
        make_engine("fast", model, tok)
    with pytest.raises(HaloForgeError, match="'vllm' is not in this build"):
        make_engine("vllm", model, tok)


def test_sees_adapters_attached_or_disabled_after_it_was_made(tiny_model_dir):
    from halo_forge.config.schema import LoraConfig
    from halo_forge.train.trainer import attach_lora

    model, tok = load_model(str(tiny_model_dir), device="cpu")
    eng = make_engine("native", model, tok)
    reqs = _requests(tok)[:2]
    p = SamplingParams(n=1, temperature=0, max_new_tokens=6, logprobs=True)
    before = eng.generate(reqs, p)
    base_o = model.model.layers[0].self_attn.o_proj.weight.detach().clone()
    peft_model = attach_lora(model, LoraConfig(r=4, alpha=8))
    with torch.no_grad():
        for name, prm in peft_model.named_parameters():
            if "lora_B" in name:
                prm.add_(torch.randn_like(prm))
    assert [c.logprobs for c in eng.generate(reqs, p)] != [c.logprobs for c in before]
    with peft_model.disable_adapter():
        assert [c.logprobs for c in eng.generate(reqs, p)] == [c.logprobs for c in before]
    assert torch.equal(peft_model.get_base_model().model.layers[0].self_attn.o_proj.base_layer.weight, base_o)


def _sharp(model):
    torch.manual_seed(0)
    for p in model.parameters():  # sharpen the random model so greedy paths are not all one token
        p.data.mul_(4.0)
    return model


def test_bf16_shadow_of_fp32_weights_decodes_like_the_bf16_model(tiny_model_dir):
    """RAFT trains fp32 masters; generation.dtype bfloat16 (auto on GPUs) decodes from a bf16 copy
    of them that training updates reach, token for token as the model cast to bf16."""
    import copy

    from halo_forge.generation.native.engine import generation_dtype

    model, tok = load_model(str(tiny_model_dir), device="cpu")
    model = _sharp(model)
    assert generation_dtype(model, "auto") == torch.float32  # auto keeps fp32 off the GPU
    reqs = [GenerationRequest(f"t{i}", "alpha beta gamma " * (i + 1)) for i in range(4)]
    params = SamplingParams(n=1, temperature=0, max_new_tokens=10)
    shadow = make_engine("native", model, tok, dtype="bfloat16")
    bf16 = copy.deepcopy(model).to(torch.bfloat16)
    for name, buf in model.model.rotary_emb.named_buffers():  # .to() rounds the rotary frequencies too;
        setattr(bf16.model.rotary_emb, name, buf.clone())      # a bf16 checkpoint load keeps them fp32
    cast = make_engine("native", bf16, tok)
    assert shadow.dec.dtype == torch.bfloat16 and next(model.parameters()).dtype == torch.float32
    assert [c.token_ids for c in shadow.generate(reqs, params, 4)] == [c.token_ids for c in cast.generate(reqs, params, 4)]
    before = [c.token_ids for c in shadow.generate(reqs, params, 4)]
    with torch.no_grad():  # a training step on the fp32 masters
        model.lm_head.weight.mul_(-1.0) if model.lm_head.weight is not model.model.embed_tokens.weight else \
            model.model.norm.weight.mul_(-1.0)
    assert [c.token_ids for c in shadow.generate(reqs, params, 4)] != before


def test_qwen2_decodes_natively_like_hf(tmp_path):
    """Qwen2 (q/k/v biases, tied embeddings) runs on the native engine, token for token as HF."""
    from tests.test_export import _tiny_qwen2

    model, tok = load_model(str(_tiny_qwen2(tmp_path / "qwen2")), device="cpu")
    model = _sharp(model)
    assert model.config.tie_word_embeddings and model.model.layers[0].self_attn.q_proj.bias is not None
    reqs = [GenerationRequest(f"t{i}", " ".join(["alpha", "beta", "gamma", "delta"][: i + 1]) * (i + 1)) for i in range(4)]
    params = SamplingParams(n=1, temperature=0, max_new_tokens=12)
    ref = make_engine("hf", model, tok).generate(reqs, params, batch_size=1)
    eng = make_engine("auto", model, tok)
    assert eng.name == "native"
    assert [c.token_ids for c in eng.generate(reqs, params, batch_size=4)] == [c.token_ids for c in ref]


def test_release_memory_drops_the_cache_and_the_next_call_is_the_same(tiny_model_dir):
    """RAFT releases the KV cache before training (it is half the free GPU memory); the engine then
    allocates again and generates exactly what it would have."""
    model, tok = load_model(str(tiny_model_dir), device="cpu")
    eng = make_engine("native", model, tok)
    reqs, params = _requests(tok), SamplingParams(n=2, temperature=0.9, max_new_tokens=10, seed=5)
    before = [c.token_ids for c in eng.generate(reqs, params, batch_size=4)]
    assert eng.dec.cache is not None
    eng.release_memory()
    assert eng.dec.cache is None and eng._state is None
    assert [c.token_ids for c in eng.generate(reqs, params, batch_size=4)] == before


def test_slot_counts_come_in_few_buckets_within_memory():
    """Every distinct slot count recompiles the GPU decode step; torch.compile's limit then made a long RAFT
    run decode eagerly. Counts are powers of two up to 64, multiples of 64 above, never over the memory cap."""
    from halo_forge.generation.native.decoder import slot_bucket

    assert [slot_bucket(w, 10_000) for w in (1, 3, 30, 64, 65, 257, 512)] == [1, 4, 32, 64, 128, 320, 512]
    assert slot_bucket(30, 20) == 16 and slot_bucket(300, 200) == 192 and slot_bucket(5, 1) == 1
    assert len({slot_bucket(w, 10_000) for w in range(1, 513)}) == 14
