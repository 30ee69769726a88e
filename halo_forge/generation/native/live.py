"""A never-ending generate(): requests join the native engine's running batch as they arrive.

`halo-forge serve` needs what RAFT does not: requests that come one by one over HTTP, each with
its own length limit, stop strings and seed, streamed token by token, and abandoned when a client
goes away. `LiveRun` is the engine's own loop (`_Run`: admission into free slots, prefix-shared
prefill, CUDA-graph decode steps, incremental stop checks) fed from a scheduler instead of a
fixed plan, so HTTP requests are continuously batched with each other.

What stays per run: temperature, top-p, top-k and log-probs are baked into the sampling step (and
into the captured CUDA graphs), so the scheduler runs one "shape" at a time; requests of another
shape wait until the current one drains (see `halo_forge.serve.scheduler`).
Sampling keys are (request seed, sample index, step): a request with a seed gets the same tokens
whatever else is in the batch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from halo_forge.generation.base import Completion, GenerationRequest, SamplingParams, WorkItem
from halo_forge.generation.native.engine import NativeEngine, _Row, _Run
from halo_forge.generation.native.sampling import MASK63


@dataclass
class LiveRequest:
    request: GenerationRequest
    prompt_ids: list[int]
    n: int
    max_new_tokens: int
    stop: tuple[str, ...]
    seed: int
    on_done: Callable[[Completion], None]  # called on the engine thread, once per sample
    on_tokens: Callable[[int, list[int]], None] | None = None  # (sample index, its live token list)
    cancelled: threading.Event = field(default_factory=threading.Event)
    remaining: int = 0  # samples not finished yet (set when the run takes the request)
    on_error: Callable[[str], None] | None = None  # the engine failed while holding this request
    seeded: bool = True  # the client asked for this seed (False: drawn by the server)


class RequestSource(Protocol):
    def take(self, block: bool, room: int) -> list[LiveRequest]:
        """Requests of this run's shape for about `room` free slots (waits briefly when `block`);
        the rest stay queued, where the queue bound sees them."""

    def should_end(self) -> bool:
        """True when the run should stop taking requests and drain (shutdown, or another shape waits)."""


class LiveRun(_Run):
    streams = True

    def __init__(self, eng: NativeEngine, params: SamplingParams, source: RequestSource, slots: int, length: int):
        state = eng._prepare(params, eng._fit_slots(slots, length), length)
        super().__init__(eng, state, [], {}, {}, params, None, None)
        self.source = source
        self.live: dict[str, LiveRequest] = {}
        self.tail = 64  # tokens decoded for a stop check: any stop string a request may carry fits
        self.length = length

    # -- per-request settings ---------------------------------------------------------------------
    def stops_of(self, row: _Row) -> tuple[str, ...]:
        return self.live[row.request.id].stop

    def max_new_of(self, row: _Row) -> int:
        return self.live[row.request.id].max_new_tokens

    def row_key(self, item: Any) -> int:
        return (self.live[item.request.id].seed * 1_000_003 + item.index) & MASK63

    def finish(self, row: _Row, completion: Completion) -> None:
        lr = self.live[row.request.id]
        lr.on_done(completion)
        self._forget_if_done(lr)

    def progress(self, rows: list[_Row]) -> None:
        for row in rows:
            lr = self.live[row.request.id]
            if lr.on_tokens is not None:
                lr.on_tokens(row.index, row.tokens)

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> None:
        """Serve until the source says to end. Grad mode is per thread: without no_grad here every
        decode step would extend an autograd graph through the KV cache (~370 MB a step, seen)."""
        import torch

        with torch.no_grad():
            self._serve()

    def _serve(self) -> None:
        inflight = None
        threshold = max(1, len(self.free) // 16) if self.eng.graphs else 1
        while True:
            idle = not (self.active or self.waiting or inflight)
            if self.source.should_end():
                if idle:
                    break
            else:
                room = len(self.free) - len(self.waiting)
                if room > 0:
                    self._receive(self.source.take(block=idle, room=room))
            self._drop_cancelled()
            inflight = self.step_once(inflight, threshold)
        if self.eng.graphs:
            import torch

            torch.cuda.synchronize(self.st.ids.device)

    def _receive(self, requests: list[LiveRequest]) -> None:
        for lr in requests:
            rid = lr.request.id
            self.live[rid] = lr
            self.prompts[rid] = lr.prompt_ids
            lr.remaining = lr.n
            self.waiting.extend((0, WorkItem(lr.request, i)) for i in range(lr.n))

    def _drop_cancelled(self) -> None:
        """A client that went away frees its slots now (its rows are ended without a result)."""
        gone = {rid for rid, lr in self.live.items() if lr.cancelled.is_set()}
        if not gone:
            return
        for slot, row in list(self.active.items()):
            if row.request.id in gone:
                del self.active[slot]
                self.free.append(slot)
        if self.waiting:
            kept = [(b, it) for b, it in self.waiting if it.request.id not in gone]
            self.waiting.clear()
            self.waiting.extend(kept)
        for rid in gone:
            self._release(rid)

    def _forget_if_done(self, lr: LiveRequest) -> None:
        lr.remaining -= 1
        if lr.remaining == 0:
            self._release(lr.request.id)

    def _release(self, rid: str) -> None:
        self.live.pop(rid, None)
        self.prompts.pop(rid, None)

    @property
    def occupancy(self) -> tuple[int, int]:
        """(slots in use, slots) — for the server's metrics."""
        return len(self.active), self.st.ids.shape[0]
