"""Schedulers between HTTP requests and a generation engine, each on one engine thread.

- `LiveScheduler` (the native engine): requests join the running batch (`LiveRun`); one sampling
  shape (temperature, top-p, top-k) runs at a time, first come first served — when the oldest
  waiting request has another shape, the current run stops taking requests, drains, and the next
  shape starts.
- `BatchScheduler` (any other engine, e.g. HF `generate`): waiting requests with identical
  sampling settings are generated together, one engine call at a time; nothing streams before
  the call ends.
Both bound the queue (`QueueFull` -> HTTP 429) and refuse work once stopping (`Stopping` -> 503).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from halo_forge.generation.base import SamplingParams
from halo_forge.generation.native.live import LiveRequest, LiveRun

log = logging.getLogger(__name__)


class QueueFull(Exception):
    pass


class Stopping(Exception):
    pass


@dataclass(frozen=True)
class Shape:
    temperature: float
    top_p: float
    top_k: int = 0


class _Base:
    def __init__(self, engine: Any, max_queue: int):
        self.engine = engine
        self.max_queue = max_queue
        self.cond = threading.Condition()
        self.queue: deque[tuple[Shape, LiveRequest]] = deque()
        self.stopping = False
        self.thread = threading.Thread(target=self._main, name="halo-forge-engine", daemon=True)
        self.running = 0  # requests taken by the engine and not finished

    def start(self) -> None:
        self.thread.start()

    def submit(self, shape: Shape, lr: LiveRequest) -> None:
        with self.cond:
            if self.stopping:
                raise Stopping()
            if len(self.queue) >= self.max_queue:
                raise QueueFull()
            self.queue.append((shape, lr))
            self.cond.notify_all()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish what was taken, refuse the rest, end the engine thread."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.thread.join(timeout)

    def queue_depth(self) -> int:
        return len(self.queue)

    def _wait_for_work(self) -> bool:
        """Block until something is queued (True) or we are stopping with nothing queued (False).
        Call with `self.cond` held."""
        while not self.queue and not self.stopping:
            self.cond.wait()
        return bool(self.queue)

    def _fail_all(self, message: str, requests: list[LiveRequest]) -> None:
        for lr in requests:
            if lr.on_error is not None:
                lr.on_error(message)

    def _main(self) -> None:
        raise NotImplementedError

    def warm_up(self, shape: Shape) -> None:
        """Engines with nothing to compile need no warm-up."""


class LiveScheduler(_Base):
    def __init__(self, engine: Any, max_batch: int, max_len: int, max_queue: int):
        super().__init__(engine, max_queue)
        self.max_batch, self.max_len = max_batch, max_len
        self.shape: Shape | None = None
        self.run: LiveRun | None = None

    def warm_up(self, shape: Shape) -> None:
        """Capture the decode graphs of the shape most clients send before the first one comes."""
        if self.engine.graphs:
            params = SamplingParams(temperature=shape.temperature, top_p=shape.top_p, top_k=shape.top_k)
            self.engine.warm_up(params, self.max_batch, self.max_len)

    def occupancy(self) -> tuple[int, int]:
        run = self.run
        return run.occupancy if run is not None else (0, self.max_batch)

    # RequestSource for the current run ----------------------------------------------------------
    def take(self, block: bool, room: int) -> list[LiveRequest]:
        with self.cond:
            if block and not self.queue and not self.stopping:
                self.cond.wait(0.05)
            out: list[LiveRequest] = []
            while self.queue and self.queue[0][0] == self.shape and (not out or room > 0):
                lr = self.queue.popleft()[1]
                room -= lr.n
                out.append(lr)
            return out

    def should_end(self) -> bool:
        """Another shape is first in line, or we are stopping and nothing accepted is left."""
        if self.queue:
            return self.queue[0][0] != self.shape
        return self.stopping

    def _main(self) -> None:
        while True:
            with self.cond:
                if not self._wait_for_work():
                    return
                self.shape = self.queue[0][0]
            params = SamplingParams(temperature=self.shape.temperature, top_p=self.shape.top_p, top_k=self.shape.top_k)
            try:
                self.run = LiveRun(self.engine, params, self, self.max_batch, self.max_len)
                self.run.run()
            except Exception as exc:  # the engine failed: every request it holds gets an error
                log.exception("engine failed")
                held = list(self.run.live.values()) if self.run is not None else []
                self._fail_all(f"generation failed: {type(exc).__name__}: {exc}", held)
            finally:
                self.run = None


class BatchScheduler(_Base):
    """For engines without a live loop: one `generate()` per group of identical settings."""

    def __init__(self, engine: Any, max_batch: int, max_queue: int):
        super().__init__(engine, max_queue)
        self.max_batch = max_batch
        self.busy = 0

    def occupancy(self) -> tuple[int, int]:
        return self.busy, self.max_batch

    def _group(self) -> list[tuple[Shape, LiveRequest]]:
        first = self.queue[0]
        key = self._key(*first)
        group = [x for x in self.queue if self._key(*x) == key][: self.max_batch]
        for x in group:
            self.queue.remove(x)
        return group

    @staticmethod
    def _key(shape: Shape, lr: LiveRequest) -> tuple:
        # HF generate takes one seed per call: seeded requests batch only with their own seed,
        # unseeded ones with any other unseeded request of the same settings.
        return shape, lr.n, lr.max_new_tokens, lr.stop, lr.seed if lr.seeded else None

    def _main(self) -> None:
        while True:
            with self.cond:
                if not self._wait_for_work():
                    return
                group = self._group()
            live = [lr for _, lr in group if not lr.cancelled.is_set()]
            if not live:
                continue
            shape, first = group[0]
            params = SamplingParams(n=first.n, temperature=shape.temperature, top_p=shape.top_p, top_k=shape.top_k,
                                    max_new_tokens=first.max_new_tokens, stop=first.stop, seed=first.seed)
            self.busy = len(live) * first.n
            t0 = time.perf_counter()
            try:
                by_id = {lr.request.id: lr for lr in live}
                for c in self.engine.generate([lr.request for lr in live], params, batch_size=self.max_batch * first.n):
                    by_id[c.request_id].on_done(c)
            except Exception as exc:
                log.exception("engine failed")
                self._fail_all(f"generation failed: {type(exc).__name__}: {exc}", live)
            finally:
                self.busy = 0
                log.debug("batch of %d requests in %.2f s", len(live), time.perf_counter() - t0)


def make_scheduler(engine: Any, max_batch: int, max_len: int, max_queue: int) -> _Base:
    from halo_forge.generation.native import NativeEngine

    if isinstance(engine, NativeEngine):
        return LiveScheduler(engine, max_batch, max_len, max_queue)
    return BatchScheduler(engine, max_batch, max_queue)
