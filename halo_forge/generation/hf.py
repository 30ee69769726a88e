"""The reference backend: transformers `generate` over left-padded batches.

It serves every architecture: decoder-only text models by default, and speech or
image-text models through an `inputs` hook (the model adapter turns a batch of requests
with media into model inputs) and a `generate` function (seq2seq models sample through
the standard `GenerationMixin.generate` with an explicit decoder prefix).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from halo_forge.generation.base import Batch, Completion, GenerationRequest, PlannedEngine, SamplingParams
from halo_forge.generation.stops import truncate_at_stop


class _StopOnEvent(StoppingCriteria):
    """Lets Ctrl-C end a batch within one decode step instead of at the end of the batch."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


@dataclass
class ModelInputs:
    """A batch ready for `generate`: keyword tensors, the width of the (left-padded) token
    prefix that `generate` echoes back, and each row's real prompt length."""

    kwargs: dict[str, Any]
    prefix_width: int
    prompt_tokens: list[int]


def text_inputs(tok: Any, requests: list[GenerationRequest], device: Any) -> ModelInputs:
    tok.padding_side = "left"
    enc = tok([r.prompt_text for r in requests], return_tensors="pt", padding=True,
              add_special_tokens=False).to(device)
    return ModelInputs(dict(enc), enc["input_ids"].shape[1], enc["attention_mask"].sum(1).tolist())


class HFEngine(PlannedEngine):
    name = "hf"

    def __init__(self, model: Any, tokenizer: Any,
                 inputs: Callable[[list[GenerationRequest]], ModelInputs] | None = None,
                 generate: Callable[..., Any] | None = None):
        self.model = model  # the live (training) model: new weights are seen without a reload
        self.tok = tokenizer
        self.inputs = inputs or (lambda reqs: text_inputs(self.tok, reqs, self.model.device))
        self._generate = generate or (lambda **kw: self.model.generate(**kw))

    @torch.no_grad()
    def _run_batch(self, requests: list[GenerationRequest], params: SamplingParams, seed: int,
                   stop_event: threading.Event | None) -> list[tuple[list[int], int, str, list[float] | None]]:
        batch = self.inputs(requests)
        do_sample = params.temperature > 0
        kwargs: dict[str, Any] = dict(max_new_tokens=params.max_new_tokens, do_sample=do_sample,
                                      min_new_tokens=params.min_new_tokens or None,
                                      pad_token_id=self.tok.pad_token_id, eos_token_id=self.tok.eos_token_id)
        if do_sample:
            kwargs.update(temperature=params.temperature, top_p=params.top_p, top_k=params.top_k or None)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=self.tok)
        if stop_event is not None:
            kwargs["stopping_criteria"] = StoppingCriteriaList([_StopOnEvent(stop_event)])
        if params.logprobs:
            kwargs.update(output_scores=True, return_dict_in_generate=True)
        torch.manual_seed(seed)
        was_training = self.model.training
        self.model.eval()
        try:
            gen = self._generate(**batch.kwargs, **kwargs)
        finally:
            if was_training:
                self.model.train()
        out = gen.sequences if params.logprobs else gen
        # Log-probabilities of the sampled tokens under the processed (temperature/top-p) distribution.
        logprobs = (self.model.compute_transition_scores(gen.sequences, gen.scores, normalize_logits=True).tolist()
                    if params.logprobs else None)
        plen = batch.prefix_width
        results = []
        for row in range(out.shape[0]):
            ids = out[row, plen:].tolist()
            finish = "length"
            if self.tok.eos_token_id in ids:
                ids = ids[: ids.index(self.tok.eos_token_id)]
                finish = "stop"
            while ids and ids[-1] == self.tok.pad_token_id:
                ids.pop()
            lp = [float(x) for x in logprobs[row][: len(ids)]] if logprobs is not None else None
            results.append((ids, int(batch.prompt_tokens[row]), finish, lp))
        return results

    def run(self, batches: list[Batch], params: SamplingParams,
            on_batch: Callable[[int, list[Completion]], None] | None = None,
            stop_event: threading.Event | None = None) -> list[Completion]:
        done: list[Completion] = []
        for batch in batches:
            if stop_event is not None and stop_event.is_set():
                break
            outs = self._run_batch([it.request for it in batch.items], params, params.seed * 100003 + batch.number, stop_event)
            if stop_event is not None and stop_event.is_set():
                break  # a batch cut short by Ctrl-C is not kept; it is regenerated on resume
            comps = []
            for it, (ids, plen, finish, lp) in zip(batch.items, outs):
                text = self.tok.decode(ids, skip_special_tokens=True)
                text, hit = truncate_at_stop(text, params.stop)
                comps.append(Completion(it.request.id, it.index, text, ids, "stop" if hit else finish, plen, lp))
            if on_batch:
                on_batch(batch.number, comps)
            done.extend(comps)
        return done
