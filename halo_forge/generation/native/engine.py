"""`native`: halo-forge's own decoding loop for Llama-family decoders (SmolLM2, Llama, Mistral-shaped).

Why hand-written: HF `generate` re-plans the whole batch each step, launches every kernel from
Python and waits for the longest row; RAFT needs many samples of few prompts. This engine
- keeps a preallocated KV cache of as many slots as fit in free memory (`max_batch` at most),
- prefills prompts in padded chunks, once per prompt, and copies the KV to the slots of its n samples,
- decodes every slot together — on GPUs as one replayed CUDA graph, with the host reading step t's
  tokens while step t+1 runs — and refills finished slots with waiting work (continuous batching),
- on GPUs, attends and samples with its own Triton kernels (kernels.py: cache-writing decode
  attention, sort-free top-p),
- checks stop strings incrementally on each row's new text,
- samples with noise keyed by (seed, request, sample, step), so completions do not depend on
  batching: resumed runs and different batch sizes give the same samples.
On CPUs it runs eagerly and computes only the active slots.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from halo_forge.generation.base import Batch, Completion, GenerationRequest, PlannedEngine, SamplingParams
from halo_forge.generation.native.decoder import LlamaDecoder, generation_dtype, slot_bucket
from halo_forge.generation.native.sampling import MASK63
from halo_forge.generation.native.steps import SlotState, StepKey
from halo_forge.generation.stops import truncate_at_stop

log = logging.getLogger(__name__)
PREFILL_TOKENS = {"cuda": 32768, "cpu": 4096}  # padded tokens per prefill chunk


@dataclass
class _Row:
    request: GenerationRequest
    index: int
    batch: int
    key: int
    prompt_len: int
    start_step: int  # first decode step this row takes part in
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)


@dataclass
class _Launch:
    step: int
    slots: list[int]
    tokens: torch.Tensor
    logprobs: torch.Tensor | None
    done: Any = None  # CUDA event


class NativeEngine(PlannedEngine):
    name = "native"

    def __init__(self, model: Any, tokenizer: Any, max_batch: int = 512, max_len: int | None = None,
                 cuda_graphs: bool | None = None, compile: bool | None = None, kernels: bool | None = None,
                 dtype: str = "auto"):
        self.model = model
        self.tok = tokenizer
        self.kernels = kernels  # Triton decode kernels on GPUs (None = where available, False = off)
        self.requested_dtype = dtype
        self.compute_dtype = generation_dtype(model, dtype)
        self.dec = LlamaDecoder(model, kernels, self.compute_dtype)
        self.max_batch = max_batch
        self.max_len = max_len
        self.graphs = self.dec.device.type == "cuda" if cuda_graphs is None else cuda_graphs
        self.compile = self.graphs if compile is None else compile
        self.last_stats: dict[str, float] = {}  # where the last generate() spent its time
        self._state: SlotState | None = None
        self._state_key: StepKey | None = None
        self._trigger: list[bool] | None = None  # per token id, for the stop strings' last characters:
        self._trigger_for: set[str] | None = None

    # -- public -----------------------------------------------------------------------------------
    @torch.no_grad()
    def run(self, plan: list[Batch], params: SamplingParams,
            on_batch: Callable[[int, list[Completion]], None] | None = None,
            stop_event: threading.Event | None = None) -> list[Completion]:
        if not plan:
            return []
        t_start = time.perf_counter()
        req_index = {it.request.id: it.order for b in plan for it in b.items}
        requests = list({it.request.id: it.request for b in plan for it in b.items}.values())
        encoded = self.tok([r.prompt_text for r in requests], add_special_tokens=False)["input_ids"]  # one batched call
        prompts = {r.id: ids for r, ids in zip(requests, encoded)}
        longest = max(len(prompts[it.request.id]) for b in plan for it in b.items)
        length = self.max_len or (longest + params.max_new_tokens + 1)
        items = sum(len(b.items) for b in plan)
        was_training = self.model.training
        self.model.eval()
        p = next(self.model.parameters())
        if (p.device, p.dtype) != (self.dec.device, self.dec.source_dtype):  # the model was moved or cast
            self.compute_dtype = generation_dtype(self.model, self.requested_dtype)
            self.dec, self._state = LlamaDecoder(self.model, self.kernels, self.compute_dtype), None
        t_encoded = time.perf_counter()
        self.dec.w.refresh()
        try:
            t0 = time.perf_counter()
            state = self._prepare(params, self._fit_slots(min(self.max_batch, items), length), length)
            run = _Run(self, state, plan, prompts, req_index, params, on_batch, stop_event)
            run.stats["setup_s"] = time.perf_counter() - t0
            out = run.loop()
            run.stats.update(encode_s=t_encoded - t_start, refresh_s=t0 - t_encoded,
                             total_s=time.perf_counter() - t_start)
            self.last_stats = {k: round(v, 4) for k, v in run.stats.items()}
            return out
        finally:
            if was_training:
                self.model.train()

    def release_memory(self) -> None:
        """Drop the KV cache (half the free GPU memory) and captured graphs for training to use (a 152k
        vocabulary ran out beside them on an H100); shadow weights stay; the next call re-allocates."""
        self._state, self._state_key = None, None
        self.dec.cache = None
        if self.dec.device.type == "cuda":
            torch.cuda.empty_cache()

    # -- set-up -----------------------------------------------------------------------------------
    def warm_up(self, params: SamplingParams, slots: int, length: int) -> None:
        """Compile and capture the decode step for one sampling shape now, so that the first request
        of that shape (a server's first client) does not wait seconds for it."""
        import torch

        with torch.no_grad():
            self._prepare(params, self._fit_slots(slots, length), length)

    def _fit_slots(self, wanted: int, length: int) -> int:
        """Slots for `wanted` rows that fit half of the free memory; on a GPU in buckets (slot_bucket: few
        shapes for the compiled step), on a CPU (eager, a quarter of the memory) exactly as many as wanted."""
        per_slot = self.dec.bytes_per_slot(length) + 64 * self.dec.lm.config.vocab_size  # + logits/sort workspace
        if self.dec.device.type == "cuda":
            free = torch.cuda.mem_get_info(self.dec.device)[0] + (
                self.dec.cache.numel() * self.dec.cache.element_size() if self.dec.cache is not None else 0)
            return slot_bucket(wanted, max(1, free // 2 // per_slot))
        import psutil

        return max(1, min(wanted, psutil.virtual_memory().available // 4 // per_slot))

    def _prepare(self, params: SamplingParams, slots: int, length: int) -> SlotState:
        key = StepKey(slots, length, params.temperature, params.top_p, params.top_k, params.min_new_tokens,
                      params.logprobs, self.tok.eos_token_id, self.dec.w.signature() if self.graphs else ())
        if self._state is not None and self._state_key == key:
            self._state.params = params  # same shape of sampling; seed and stops may differ
            self._state.reset()
            return self._state
        self._state = None
        self.dec.allocate(slots, length)
        state = SlotState(self.dec, params, self.tok.eos_token_id, slots, length)
        if self.graphs:
            if self.compile and self.dec.compiled is None:
                self.dec.compile_decode()
            try:
                state.capture_all()
            except Exception as exc:  # a compiler that cannot build here: plain kernels still work
                if self.dec.compiled is None:
                    raise
                log.warning("native engine: torch.compile failed (%s: %s); decoding without it",
                            type(exc).__name__, str(exc).splitlines()[0][:200])
                self.dec.compiled, self.compile = None, False
                state = SlotState(self.dec, params, self.tok.eos_token_id, slots, length)
                state.capture_all()
        self._state, self._state_key = state, key
        return state

    def stop_trigger(self, stops: tuple[str, ...]) -> list[bool] | None:
        """Per token id: could this token complete a stop string? Only those rows get their tail
        decoded. None = check every row (a stop ending in a space: SentencePiece pieces drop it)."""
        if any(s.endswith(" ") for s in stops):
            return None
        lasts = {s[-1] for s in stops if s}
        if self._trigger_for != lasts:
            pieces = self.decode_batch([[i] for i in range(len(self.tok))])
            self._trigger = [(not d) or ("\ufffd" in d) or any(c in d for c in lasts) for d in pieces]
            self._trigger_for = lasts
        return self._trigger

    def decode_batch(self, seqs: list[list[int]]) -> list[str]:
        if hasattr(self.tok, "_tokenizer") and hasattr(self.tok._tokenizer, "decode_batch"):
            return self.tok._tokenizer.decode_batch(seqs, skip_special_tokens=True)
        return [self.tok.decode(s, skip_special_tokens=True) for s in seqs]


class _Run:
    """One generate() call: admission, stepping, stop checks and hand-off of finished batches."""

    def __init__(self, eng: NativeEngine, state: SlotState, plan, prompts, req_index, params: SamplingParams,
                 on_batch, stop_event):
        self.eng, self.st, self.params = eng, state, params
        self.prompts, self.req_index = prompts, req_index
        self.on_batch, self.stop_event = on_batch, stop_event
        self.waiting: deque = deque((b.number, it) for b in plan for it in b.items)
        self.pending = {b.number: len(b.items) for b in plan}
        self.finished: dict[int, list[Completion]] = {b.number: [] for b in plan}
        self.free = list(range(state.ids.shape[0]))[::-1]
        self.active: dict[int, _Row] = {}
        self.done: list[Completion] = []
        self.eos = eng.tok.eos_token_id
        self.trigger = eng.stop_trigger(params.stop) if params.stop else None
        self.tail = max([16] + [4 * len(s) + 4 for s in params.stop])
        self.step = 0
        self.stats = {"steps": 0, "prefill_s": 0.0, "wait_s": 0.0, "host_s": 0.0}
        pinned = state.ids.device.type == "cuda"
        self.host = [torch.zeros(state.ids.shape[0], dtype=torch.long, pin_memory=pinned) for _ in range(2)]
        self.host_lp = [torch.zeros(state.ids.shape[0], dtype=torch.float32, pin_memory=pinned) for _ in range(2)]

    def loop(self) -> list[Completion]:
        inflight: _Launch | None = None
        threshold = max(1, len(self.free) // 16) if self.eng.graphs else 1
        while self.active or self.waiting or inflight:
            if self.stop_event is not None and self.stop_event.is_set():
                break
            inflight = self.step_once(inflight, threshold)
        if self.eng.graphs:
            torch.cuda.synchronize(self.st.ids.device)
        return self.done

    # -- stepping ---------------------------------------------------------------------------------
    def step_once(self, inflight: _Launch | None, threshold: int) -> _Launch | None:
        """Admit waiting work into free slots, queue one decode step, look at the previous one.
        On GPUs the step just queued is returned and looked at after the next is queued."""
        if self.waiting and self.free and (len(self.free) >= min(threshold, len(self.waiting)) or not self.active):
            self._admit()
        launch = self._launch() if self.active else None
        if inflight is not None:
            self._collect(inflight)
        if launch is not None and not self.eng.graphs:
            self._collect(launch)
            return None
        return launch

    def _launch(self) -> _Launch:
        slots = sorted(self.active)
        span = max(r.prompt_len + self.step - r.start_step for r in self.active.values()) + 1
        k = self.step % 2
        if self.eng.graphs:
            self.st.replay(span)
            self.host[k].copy_(self.st.ids, non_blocking=True)
            if self.params.logprobs:
                self.host_lp[k].copy_(self.st.logprob, non_blocking=True)
            launch = _Launch(self.step, slots, self.host[k], self.host_lp[k] if self.params.logprobs else None,
                             torch.cuda.Event())
            launch.done.record()
        else:
            idx = torch.tensor(slots, device=self.st.ids.device)
            self.st.advance(idx, min(span, self.st.length))
            launch = _Launch(self.step, slots, self.st.ids, self.st.logprob if self.params.logprobs else None)
        self.step += 1
        self.stats["steps"] += 1
        return launch

    def _collect(self, launch: _Launch) -> None:
        t0 = time.perf_counter()
        if launch.done is not None:
            launch.done.synchronize()
        t1 = time.perf_counter()
        self.stats["wait_s"] += t1 - t0
        self._take_tokens(launch)
        self.stats["host_s"] += time.perf_counter() - t1

    def _take_tokens(self, launch: _Launch) -> None:
        tokens = launch.tokens.tolist()
        lps = launch.logprobs.tolist() if launch.logprobs is not None else None
        fresh = []
        for s in launch.slots:
            row = self.active.get(s)
            if row is None or row.start_step > launch.step:
                continue  # the slot's row ended or was replaced: this token is not its
            fresh.append((s, row, tokens[s], lps[s] if lps is not None else None))
        self._accept(fresh)

    def _accept(self, fresh: list[tuple[int, _Row, int, float | None]]) -> None:
        """Give each row its new token (and log-prob); end rows on EOS, length or a stop string."""
        check: list[tuple[int, _Row]] = []
        for slot, row, t, lp in fresh:
            if lp is not None:
                row.logprobs.append(lp)
            reason = self._append(row, t)
            if reason is not None:
                self._end(slot, row, reason)
            elif self.stops_of(row) and (self.trigger is None or self.trigger[t]):
                check.append((slot, row))
        self._check_stops(check)
        if self.streams:
            self.progress([row for slot, row, _, _ in fresh if self.active.get(slot) is row])

    streams = False  # a live run streams tokens of rows still running (after their stop check)

    def progress(self, rows: list[_Row]) -> None:
        pass

    def _append(self, row: _Row, t: int) -> str | None:
        if t == self.eos:
            return "stop"
        row.tokens.append(t)
        return "length" if len(row.tokens) >= self.max_new_of(row) else None

    def _check_stops(self, rows: list[tuple[int, _Row]]) -> None:
        if not rows:
            return
        tails = self.eng.decode_batch([r.tokens[-self.tail:] for _, r in rows])
        for (s, row), tail in zip(rows, tails):
            if any(stop in tail for stop in self.stops_of(row)):
                self._end(s, row, "stop")

    # -- per-row settings (one generate() call: the call's params; a live run: each request's) ---
    def stops_of(self, row: _Row) -> tuple[str, ...]:
        return self.params.stop

    def max_new_of(self, row: _Row) -> int:
        return self.params.max_new_tokens

    def row_key(self, item: Any) -> int:
        """Sampling key of a (request, sample): noise depends on these, never on slot or batch."""
        return ((self.params.seed * 1_000_003 + self.req_index[item.request.id]) * 1_000_003 + item.index) & MASK63

    def _end(self, slot: int, row: _Row, reason: str) -> None:
        del self.active[slot]
        self.free.append(slot)
        text = self.eng.tok.decode(row.tokens, skip_special_tokens=True)
        text, _ = truncate_at_stop(text, self.stops_of(row))
        self.finish(row, Completion(row.request.id, row.index, text, list(row.tokens), reason, row.prompt_len,
                                    row.logprobs[: len(row.tokens)] or None))

    def finish(self, row: _Row, completion: Completion) -> None:
        """A planned batch is handed to `on_batch` once all its rows are done."""
        self.finished[row.batch].append(completion)
        self.pending[row.batch] -= 1
        if self.pending[row.batch] == 0:
            batch = sorted(self.finished.pop(row.batch), key=lambda c: (self.req_index[c.request_id], c.index))
            self.done.extend(batch)
            if self.on_batch:
                self.on_batch(row.batch, batch)

    # -- admission --------------------------------------------------------------------------------
    def _take_groups(self) -> list[list[tuple[int, Any]]]:
        """Waiting items for the free slots, grouped by prompt (one prefill per group)."""
        groups: list[list[tuple[int, Any]]] = []
        budget = len(self.free)
        tokens = 0
        limit = PREFILL_TOKENS["cuda" if self.st.ids.device.type == "cuda" else "cpu"]
        while self.waiting and budget:
            rid = self.waiting[0][1].request.id
            plen = len(self.prompts[rid])
            if groups and (len(groups) + 1) * max(plen, tokens) > limit:
                break
            group = []
            while self.waiting and budget and self.waiting[0][1].request.id == rid:
                group.append(self.waiting.popleft())
                budget -= 1
            groups.append(group)
            tokens = max(tokens, plen)
        return groups

    def _admit(self) -> None:
        t0 = time.perf_counter()
        while self.waiting and self.free:
            groups = self._take_groups()
            self._prefill(groups)
            if not self.eng.graphs:
                break
        self.stats["prefill_s"] += time.perf_counter() - t0

    def _prefill(self, groups: list[list[tuple[int, Any]]]) -> None:
        dev = self.st.ids.device
        seqs = [self.prompts[g[0][1].request.id] for g in groups]
        width = max(len(s) for s in seqs)
        ids = torch.tensor([s + [0] * (width - len(s)) for s in seqs], device=dev)
        lengths = [len(s) for s in seqs]
        targets = [[self.free.pop() for _ in g] for g in groups]
        first = torch.tensor([t[0] for t in targets], device=dev)
        logits = self.eng.dec.prefill(ids, torch.tensor(lengths, device=dev), first)
        rows, slots, which = [], [], []
        for gi, (group, tslots) in enumerate(zip(groups, targets)):
            if len(tslots) > 1:
                self.eng.dec.copy_prefix(tslots[0], torch.tensor(tslots[1:], device=dev), lengths[gi])
            for slot, (batch, item) in zip(tslots, group):
                key = self.row_key(item)
                rows.append(_Row(item.request, item.index, batch, key, lengths[gi], self.step))
                slots.append(slot)
                which.append(gi)
        idx = torch.tensor(slots, device=dev)
        keys = torch.tensor([r.key for r in rows], device=dev)
        tokens, lp = self.st.pick(logits[torch.tensor(which, device=dev)], torch.zeros_like(keys), keys)
        st = self.st
        st.ids[idx], st.keys[idx] = tokens, keys
        st.pos[idx] = torch.tensor([r.prompt_len for r in rows], device=dev)
        st.generated[idx] = 1
        lps = lp.tolist() if lp is not None else [None] * len(rows)
        for slot, row in zip(slots, rows):
            self.active[slot] = row
        self._accept(list(zip(slots, rows, tokens.tolist(), lps)))
