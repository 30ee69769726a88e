"""Keyed sampling for the native engine: one counter-based uniform per row, inverse-CDF draw.

Why keyed: a sample's noise is a pure function of (seed, request, sample index, step), so its
tokens do not depend on which other samples share the batch or the slot it landed in — resumed
runs and different batch sizes give the same completions.
Why inverse CDF and not Gumbel-max: Gumbel-max needs one random number per vocabulary entry
(49,152 x batch per step), which cost more memory traffic on a GPU than the model's own forward;
inverse CDF needs one number per row and a cumulative sum. Both are exact categorical sampling.
Everything here is plain tensor code with no host synchronisation, so it runs inside a captured
CUDA graph.
"""

from __future__ import annotations

import torch

from halo_forge.generation.base import SamplingParams

MASK63 = (1 << 63) - 1
CPU_CANDIDATES = 1024  # top-p on a CPU looks here first (see _top_p_from_candidates)
_M1, _M2, _M3 = 0x3E3779B97F4A7C15, 0x3F58476D1CE4E5B9, 0x14D049BB133111EB  # splitmix64 constants, top bit cleared


def row_uniform(keys: torch.Tensor) -> torch.Tensor:
    """U(0,1) in float64, one per int64 key: a splitmix64-style integer hash (wrapping int64 maths,
    masked to 63 bits before every shift so CPU and CUDA agree bit for bit)."""
    x = (keys * _M1 + _M3) & MASK63
    x = ((x ^ (x >> 31)) * _M2) & MASK63
    x = ((x ^ (x >> 29)) * _M3) & MASK63
    x = x ^ (x >> 32)
    return ((x & ((1 << 53) - 1)).double() + 0.5) / float(1 << 53)


def step_keys(row_keys: torch.Tensor, generated: torch.Tensor) -> torch.Tensor:
    """The key of a row's next draw: its own key and how many tokens it has generated."""
    return (row_keys * 4099 + generated) & MASK63


def _draw(cdf: torch.Tensor, mass: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Index of the first entry whose cumulative (unnormalised) mass exceeds u x mass."""
    target = (u.to(cdf.dtype) * mass).unsqueeze(-1)
    return torch.searchsorted(cdf, target, right=True).squeeze(-1).clamp_(max=cdf.shape[-1] - 1)


def pick_tokens(logits: torch.Tensor, params: SamplingParams, keys: torch.Tensor,
                want_logprobs: bool, kernels=None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Next token per row (greedy, or temperature / top-k / top-p) and, if asked, its log-probability
    under the distribution it was drawn from (the renormalised nucleus, as HF reports it).
    With the GPU `kernels`, sampling without top-k is drawn by the sort-free kernel (the same
    nucleus, drawn in vocabulary order instead of probability order: other tokens for the same
    key, the same distribution)."""
    if params.temperature <= 0:
        tokens = logits.argmax(-1)
        lp = torch.log_softmax(logits.float(), -1).gather(-1, tokens[:, None])[:, 0] if want_logprobs else None
        return tokens, lp
    u = row_uniform(keys)
    vocab = logits.shape[-1]
    if kernels is not None and not params.top_k:
        tokens, lp = kernels.top_p_sample(logits, u, params.temperature, params.top_p)
        return tokens, lp if want_logprobs else None
    if not params.top_k and params.top_p >= 1.0:
        probs = (logits.float() / params.temperature).softmax(-1)
        cdf = probs.cumsum(-1)
        tokens = _draw(cdf, cdf[:, -1], u)
        lp = probs.gather(-1, tokens[:, None])[:, 0].log() if want_logprobs else None
        return tokens, lp
    if logits.device.type == "cpu" and not params.top_k and params.top_p < 1.0 and vocab > 2 * CPU_CANDIDATES:
        return _top_p_from_candidates(logits, params, u, want_logprobs)
    tokens, lp = _draw_after_sort(logits, params, u)
    return tokens, lp if want_logprobs else None


def _draw_after_sort(logits: torch.Tensor, params: SamplingParams, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k / top-p by ordering the raw logits (in the model's dtype: a 16-bit radix sort is half
    the passes of a 32-bit one); dividing by a positive temperature does not change the order."""
    if params.top_k and params.top_k < logits.shape[-1]:
        vals, order = torch.topk(logits, params.top_k, dim=-1)  # sorted, largest first
    else:
        vals, order = torch.sort(logits, descending=True, dim=-1)
    scaled = vals.float() / params.temperature
    tokens, lp, _ = _draw_from_sorted(scaled, order, scaled.logsumexp(-1), params.top_p, u)
    return tokens, lp


def _top_p_from_candidates(logits: torch.Tensor, params: SamplingParams, u: torch.Tensor,
                           want_logprobs: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Top-p on a CPU without sorting the vocabulary: a full sort of 32 x 49,152 logits takes
    ~46 ms on two cores (a quarter of a SmolLM2 decode step), the top 1,024 ~6 ms
    (benchmarks/sampling_cpu.py). A trained
    model's nucleus almost always lies inside its top few hundred tokens; the probabilities are
    normalised over the whole row, so where the candidates' mass exceeds top_p the nucleus, its
    CDF and the draw are exactly those of the full sort. Rows where it does not (flat
    distributions) are redone with the full sort."""
    vals, order = torch.topk(logits, CPU_CANDIDATES, dim=-1)
    lse = (logits.float() / params.temperature).logsumexp(-1)
    tokens, lp, covered = _draw_from_sorted(vals.float() / params.temperature, order, lse, params.top_p, u)
    short = (~covered).nonzero()[:, 0]
    if len(short):
        tokens[short], lp[short] = _draw_after_sort(logits[short], params, u[short])
    return tokens, lp if want_logprobs else None


def _draw_from_sorted(scaled: torch.Tensor, order: torch.Tensor, lse: torch.Tensor, top_p: float,
                      u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw from the nucleus of `scaled` (tempered logits in descending order, a prefix of the row
    or all of it; `lse` is the log-normaliser of the distribution they belong to). Returns the
    tokens, their log-probs within the nucleus, and whether the nucleus ended inside the prefix."""
    probs = (scaled - lse[:, None]).exp()
    cdf = probs.cumsum(-1)
    # The nucleus is a prefix of the sorted order, so the plain cumulative sum is also the
    # nucleus's own CDF up to its end: one scan serves both the cut and the draw.
    keep = (cdf - probs <= top_p) if top_p < 1.0 else torch.ones_like(probs, dtype=torch.bool)
    mass = (probs * keep).sum(-1)
    choice = torch.minimum(_draw(cdf, mass, u), keep.sum(-1) - 1)  # float ties at the nucleus edge stay inside
    tokens = order.gather(-1, choice[:, None])[:, 0]
    lp = (probs.gather(-1, choice[:, None])[:, 0] / mass).log()
    return tokens, lp, cdf[:, -1] > top_p
