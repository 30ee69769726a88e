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
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_VERIFIER: Any = None  # the child's own verifier, built once by _init


def _init(cls: type, options: dict[str, Any]) -> None:
    global _VERIFIER
    _VERIFIER = cls(**options)


def _judge(items: list, workers: int) -> list:
    return _VERIFIER.verify_batch(items, workers)


class ProcessJudges:
    """P judging processes for one verifier."""

    def __init__(self, verifier: Any, processes: int):
        self.processes = processes
        self._args = (type(verifier), dict(verifier.options))
        self._lock = threading.Lock()  # one batch at a time: each child's slots serve one share
        self._pool: ProcessPoolExecutor | None = None

    def verify_batch(self, items: list, workers: int) -> list:
        """Cut `items` into chunks of a few samples per slot, queue them all, and let each process take
        the next chunk when it is done (one slow sample then delays one chunk, not a P-th of the batch);
        `workers` slots in all. The verdicts come back in the items' order."""
        each = max(1, -(-workers // self.processes))
        size = max(4 * each, -(-len(items) // (64 * self.processes)))
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=self.processes, initializer=_init, initargs=self._args,
                                                 mp_context=multiprocessing.get_context("spawn"))
            futures = [self._pool.submit(_judge, chunk, each) for chunk in chunks]
            return [r for f, chunk in zip(futures, chunks) for r in self._result(f, chunk)]

    def _result(self, future: Any, share: list) -> list:
        """A dead judging process is "could not verify" for its share (errors, never rewards); the
        pool is replaced at the next batch."""
        from concurrent.futures.process import BrokenProcessPool

        from halo_forge.verify.base import VerifyResult

        try:
            return future.result()
        except BrokenProcessPool as exc:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            return [VerifyResult.failure(f"judging process died: {exc or 'killed'}") for _ in share]

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
