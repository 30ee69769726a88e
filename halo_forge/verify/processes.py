"""Judging in several processes: `verifier.processes: P` splits each batch over P long-lived
judging processes, each with its own copy of the verifier and its own share of sandbox slots.

Why: for sandboxed Python tests the candidate runs in a sandbox, but the trusted test code runs
in the judge (verify/code/python_judge.py), and the judge's own work — syntax pre-check, test
code, decoding the candidate's answers — costs ~0.6–0.7 ms of CPU per HumanEval sample under one
GIL. That caps one judging process at ~1.4–1.6k samples/s however many slots it drives (871/s
measured with 16 on a 16-core host, docs/performance.md). P processes have P GILs.

Each child takes its own sandbox uid range (verify/sandbox/uids.py hands one per process), so slots
numbered from 0 in every child never share a uid. Children are spawned (not forked: the parent may
hold CUDA and threads) once and kept for the verifier's lifetime; their warm sandboxes with them.
The standard library's ProcessPoolExecutor does the process management; this file only deals the
items out and back in order.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

_VERIFIER: Any = None  # the child's own verifier, built once by _init
_STARTED: Any = None  # a barrier shared by the children (inherited at spawn; primitives cannot be sent later)


def _init(cls: type, options: dict[str, Any], started: Any) -> None:
    global _VERIFIER, _STARTED
    _VERIFIER, _STARTED = cls(**options), started


def _arrive() -> None:
    _STARTED.wait(timeout=120)


def _judge(items: list, workers: int) -> list:
    return _VERIFIER.verify_batch(items, workers)


@dataclass
class Chunk:
    """Samples queued on one judging process: their future and the pool that runs it."""

    future: Future
    items: list
    pool: ProcessPoolExecutor


class ProcessJudges:
    """P judging processes for one verifier."""

    def __init__(self, verifier: Any, processes: int):
        self.processes = processes
        self._args = (type(verifier), dict(verifier.options))
        self._lock = threading.Lock()  # starting, replacing and closing the pool
        self._pool: ProcessPoolExecutor | None = None

    def verify_batch(self, items: list, workers: int) -> list:
        """All of `items`, `workers` slots in all; the verdicts come back in the items' order."""
        return [r for chunk in self.submit(items, workers) for r in self.result(chunk)]

    def submit(self, items: list, workers: int) -> list[Chunk]:
        """Cut `items` into chunks of a few samples per slot and queue them all without waiting; each
        process takes the next chunk when it is done (one slow sample then delays one chunk, not a P-th of
        the batch). Returns the queued chunks, for `result`."""
        each = max(1, -(-workers // self.processes))
        size = max(4 * each, -(-len(items) // (64 * self.processes)))
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        with self._lock:
            if self._pool is None:
                self._pool = self._start()
            return [Chunk(self._pool.submit(_judge, chunk, each), chunk, self._pool) for chunk in chunks]

    def _start(self) -> ProcessPoolExecutor:
        """All P processes up before the first chunk: a spawn-context pool starts a child only when a
        task finds none idle, so without this the first batch would run on one or two of them while
        the rest boot. P tasks that wait on one barrier make the pool start all P."""
        ctx = multiprocessing.get_context("spawn")
        started = ctx.Barrier(self.processes)
        pool = ProcessPoolExecutor(max_workers=self.processes, initializer=_init, initargs=(*self._args, started),
                                   mp_context=ctx)
        for f in [pool.submit(_arrive) for _ in range(self.processes)]:
            f.result()
        return pool

    def result(self, chunk: Chunk) -> list:
        """A chunk's verdicts (waiting for them). A dead judging process is "could not verify" for its
        share (errors, never rewards); the pool is replaced at the next submit."""
        from concurrent.futures.process import BrokenProcessPool

        from halo_forge.verify.base import VerifyResult

        try:
            return chunk.future.result()
        except BrokenProcessPool as exc:
            with self._lock:
                if self._pool is chunk.pool:  # not one started since
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = None
            return [VerifyResult.failure(f"judging process died: {exc or 'killed'}") for _ in chunk.items]

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
