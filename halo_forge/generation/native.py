"""`native`: halo-forge's own decoding loop for Llama-family decoders (SmolLM2, Llama, Mistral-shaped).

Why hand-written: HF `generate` re-plans the whole batch each step and waits for the longest row;
RAFT needs many samples of few prompts. This engine
- keeps a preallocated (static) KV cache of `max_batch` slots,
- prefills each prompt once and copies its KV into the slots of all its n samples,
- decodes every active slot together and refills a finished slot at once with waiting work
  (continuous batching), so no row waits for the longest one,
- checks stop strings incrementally on each row's new text,
- draws sampling noise from a counter-based hash of (seed, request, sample, step), so a sample's
  tokens do not depend on which other samples share its batch: resumed runs and different batch
  sizes give the same completions.
It calls the model's own modules (embedding, projections, norms, rotary, MLP), so LoRA adapters
and weights updated in place by training are used as they are, with no copy or reload.
Not yet: CUDA graph capture of the decode step and a paged cache (issue: generation engine).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F

from halo_forge.generation.base import Completion, GenerationRequest, SamplingParams, plan_batches
from halo_forge.generation.stops import truncate_at_stop

_MIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)
_MASK = (1 << 63) - 1


def _base_model(model: Any) -> Any:
    """The LlamaForCausalLM inside a possible PeftModel wrapper."""
    inner = model
    if hasattr(inner, "get_base_model"):
        inner = inner.get_base_model()
    if not (hasattr(inner, "model") and hasattr(inner.model, "layers") and hasattr(inner, "lm_head")):
        raise TypeError(f"native engine supports Llama-family decoders, not {type(inner).__name__}")
    return inner


def hashed_uniform(keys: torch.Tensor, vocab: int) -> torch.Tensor:
    """U(0,1) noise of shape [B, vocab] from int64 keys [B], a splitmix64-style integer hash.

    Deterministic per key, so each (request, sample, step) row always gets the same noise."""
    idx = torch.arange(vocab, device=keys.device, dtype=torch.int64)
    x = (keys[:, None] * _MIX[0] + idx[None, :] * _MIX[1]) & _MASK
    x = ((x ^ (x >> 31)) * _MIX[2]) & _MASK
    x = ((x ^ (x >> 29)) * _MIX[1]) & _MASK
    x = x ^ (x >> 32)
    return ((x & ((1 << 53) - 1)).double() / float(1 << 53)).clamp_(1e-12, 1 - 1e-12)


def sample_rows(logits: torch.Tensor, params: SamplingParams, keys: torch.Tensor) -> torch.Tensor:
    """Greedy, or temperature / top-k / top-p sampling via the Gumbel-max trick on hashed noise."""
    if params.temperature <= 0:
        return logits.argmax(-1)
    logits = logits.float() / params.temperature
    if params.top_k:
        kth = torch.topk(logits, min(params.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if params.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        probs = sorted_logits.softmax(-1)
        drop = probs.cumsum(-1) - probs > params.top_p  # keep the smallest prefix reaching top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    gumbel = -torch.log(-torch.log(hashed_uniform(keys, logits.shape[-1]).to(logits.device)))
    return (logits + gumbel.to(logits.dtype)).argmax(-1)


@dataclass
class _Row:
    request: GenerationRequest
    index: int
    batch: int
    key: int
    pos: int  # position of the next token to write
    prompt_len: int
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)


class NativeEngine:
    name = "native"

    def __init__(self, model: Any, tokenizer: Any, max_batch: int = 256, max_len: int | None = None):
        self.model = model
        self.tok = tokenizer
        self.lm = _base_model(model)
        self.max_batch = max_batch
        self.max_len = max_len
        cfg = self.lm.config
        self.n_kv = cfg.num_key_value_heads
        self.n_heads = cfg.num_attention_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        self.cache_k: torch.Tensor | None = None
        self.cache_v: torch.Tensor | None = None

    # -- model pieces -----------------------------------------------------------------------------
    def _alloc(self, slots: int, length: int) -> None:
        layers = len(self.lm.model.layers)
        p = next(self.lm.parameters())
        shape = (layers, slots, length, self.n_kv, self.head_dim)
        if self.cache_k is None or self.cache_k.shape != shape or self.cache_k.dtype != p.dtype:
            self.cache_k = torch.zeros(shape, dtype=p.dtype, device=p.device)
            self.cache_v = torch.zeros(shape, dtype=p.dtype, device=p.device)

    def _forward(self, ids: torch.Tensor, pos: torch.Tensor, slots: torch.Tensor, span: int) -> torch.Tensor:
        """Run tokens `ids` [B, T] at positions `pos` [B, T] for cache slots `slots` [B]; attend
        over cache positions < span. Returns last-position logits [B, V]."""
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

        m = self.lm.model
        B, T = ids.shape
        h = m.embed_tokens(ids)
        cos, sin = m.rotary_emb(h, pos)
        keypos = torch.arange(span, device=ids.device)
        mask = (keypos[None, None, None, :] <= pos[:, None, :, None])  # [B, 1, T, span] causal
        rep = self.n_heads // self.n_kv
        for li, layer in enumerate(m.layers):
            attn = layer.self_attn
            x = layer.input_layernorm(h)
            q = attn.q_proj(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)
            k = attn.k_proj(x).view(B, T, self.n_kv, self.head_dim).transpose(1, 2)
            v = attn.v_proj(x).view(B, T, self.n_kv, self.head_dim).transpose(1, 2)
            q, k = apply_rotary_pos_emb(q, k, cos, sin)
            self.cache_k[li][slots[:, None], pos] = k.transpose(1, 2).to(self.cache_k.dtype)
            self.cache_v[li][slots[:, None], pos] = v.transpose(1, 2).to(self.cache_v.dtype)
            keys = self.cache_k[li][slots, :span].transpose(1, 2).repeat_interleave(rep, dim=1)
            vals = self.cache_v[li][slots, :span].transpose(1, 2).repeat_interleave(rep, dim=1)
            o = F.scaled_dot_product_attention(q, keys.to(q.dtype), vals.to(q.dtype), attn_mask=mask)
            h = h + attn.o_proj(o.transpose(1, 2).reshape(B, T, self.n_heads * self.head_dim))
            h = h + layer.mlp(layer.post_attention_layernorm(h))
        h = m.norm(h[:, -1:])
        return self.lm.lm_head(h)[:, -1]

    # -- scheduling -------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, requests: list[GenerationRequest], params: SamplingParams, batch_size: int = 32,
                 on_batch: Callable[[int, list[Completion]], None] | None = None,
                 skip_batches: set[int] | None = None, stop_event: threading.Event | None = None) -> list[Completion]:
        plan = [b for b in plan_batches(requests, params.n, batch_size) if not (skip_batches and b.number in skip_batches)]
        if not plan:
            return []
        req_index = {r.id: i for i, r in enumerate(requests)}
        prompts = {r.id: self.tok(r.prompt_text, add_special_tokens=False)["input_ids"] for r in requests}
        longest = max(len(prompts[it.request.id]) for b in plan for it in b.items)
        length = self.max_len or (longest + params.max_new_tokens + 1)
        slots_n = min(self.max_batch, sum(len(b.items) for b in plan))
        was_training = self.model.training
        self.model.eval()
        self._alloc(slots_n, length)
        try:
            return self._run(plan, prompts, req_index, params, slots_n, on_batch, stop_event)
        finally:
            if was_training:
                self.model.train()

    def _run(self, plan, prompts, req_index, params, slots_n, on_batch, stop_event) -> list[Completion]:
        device = self.cache_k.device
        waiting: deque = deque((b.number, it) for b in plan for it in b.items)
        pending = {b.number: len(b.items) for b in plan}
        finished: dict[int, list[Completion]] = {b.number: [] for b in plan}
        free = list(range(slots_n))[::-1]
        active: dict[int, _Row] = {}
        done: list[Completion] = []
        eos = self.tok.eos_token_id
        while waiting or active:
            if stop_event is not None and stop_event.is_set():
                return done
            for slot, row, reason in self._admit(waiting, free, active, prompts, req_index, params, device, eos):
                del active[slot]
                free.append(slot)
                self._complete(row, reason, params, finished, pending, req_index, done, on_batch)
            if not active:
                continue
            slots = sorted(active)
            rows = [active[s] for s in slots]
            ids = torch.tensor([[r.tokens[-1]] for r in rows], device=device)
            pos = torch.tensor([[r.pos] for r in rows], device=device)
            logits = self._forward(ids, pos, torch.tensor(slots, device=device), max(r.pos for r in rows) + 1)
            nxt = self._pick(logits, rows, params)
            for s, r, t in zip(slots, rows, nxt):
                r.pos += 1
                reason = self._append(r, t, eos, params)
                if reason is not None:
                    del active[s]
                    free.append(s)
                    self._complete(r, reason, params, finished, pending, req_index, done, on_batch)
        return done

    def _complete(self, r: _Row, reason: str, params, finished, pending, req_index, done, on_batch) -> None:
        """Record a finished row; a planned batch is handed to `on_batch` once all its rows are done."""
        finished[r.batch].append(self._completion(r, reason, params))
        pending[r.batch] -= 1
        if pending[r.batch] == 0:
            batch = sorted(finished.pop(r.batch), key=lambda c: (req_index[c.request_id], c.index))
            done.extend(batch)
            if on_batch:
                on_batch(r.batch, batch)

    def _admit(self, waiting, free, active, prompts, req_index, params, device, eos) -> list[tuple[int, _Row, str]]:
        """Prefill waiting prompts into free slots; one prefill serves all samples of a prompt.
        Returns rows that ended on their first token."""
        ended = []
        while waiting and free:
            batch_no, item = waiting[0]
            same = [w for w in waiting if w[1].request.id == item.request.id][: len(free)]
            for w in same:
                waiting.remove(w)
            ids = prompts[item.request.id]
            slot0 = free.pop()
            t = torch.tensor([ids], device=device)
            logits = self._forward(t, torch.arange(len(ids), device=device)[None], torch.tensor([slot0], device=device),
                                   len(ids))
            targets = [slot0] + [free.pop() for _ in same[1:]]
            if len(targets) > 1:
                dst = torch.tensor(targets[1:], device=device)
                self.cache_k[:, dst, : len(ids)] = self.cache_k[:, slot0 : slot0 + 1, : len(ids)]
                self.cache_v[:, dst, : len(ids)] = self.cache_v[:, slot0 : slot0 + 1, : len(ids)]
            rows = []
            for slot, (b, it) in zip(targets, same):
                key = (params.seed * 1_000_003 + req_index[it.request.id]) * 1_000_003 + it.index
                row = _Row(it.request, it.index, b, key, len(ids), len(ids))
                active[slot] = row
                rows.append(row)
            first = self._pick(logits.expand(len(rows), -1), rows, params)
            for slot, row, tok in zip(targets, rows, first):
                reason = self._append(row, tok, eos, params)  # fed at position len(ids) next step
                if reason is not None:
                    ended.append((slot, row, reason))
        return ended

    def _pick(self, logits: torch.Tensor, rows: list[_Row], params: SamplingParams) -> list[int]:
        if params.min_new_tokens:
            young = torch.tensor([len(r.tokens) < params.min_new_tokens for r in rows], device=logits.device)
            logits = logits.clone()
            logits[young, self.tok.eos_token_id] = float("-inf")
        keys = torch.tensor([(r.key * 4099 + len(r.tokens)) & _MASK for r in rows], device=logits.device)
        toks = sample_rows(logits, params, keys)
        if params.logprobs:
            scale = params.temperature if params.temperature > 0 else 1.0  # greedy: the model's own distribution
            lp = torch.log_softmax(logits.float() / scale, -1).gather(-1, toks[:, None])[:, 0]
            for r, v in zip(rows, lp.tolist()):
                r.logprobs.append(v)
        return toks.tolist()

    def _append(self, r: _Row, t: int, eos: int, params: SamplingParams) -> str | None:
        """Add a sampled token; say why the row ends, if it does."""
        if t == eos:
            return "stop"
        r.tokens.append(t)
        if len(r.tokens) >= params.max_new_tokens:
            return "length"
        if params.stop:
            tail = self.tok.decode(r.tokens[-16:], skip_special_tokens=True)
            if any(s in tail for s in params.stop):
                return "stop"
        return None

    def _completion(self, r: _Row, reason: str, params: SamplingParams) -> Completion:
        text = self.tok.decode(r.tokens, skip_special_tokens=True)
        text, _ = truncate_at_stop(text, params.stop)
        return Completion(r.request.id, r.index, text, list(r.tokens), reason, r.prompt_len,
                          r.logprobs[: len(r.tokens)] or None)
