"""Ctrl-C handling for long runs: the first SIGINT asks the run to stop at the next safe
point (within one decode or optimizer step) and leaves a resumable state; a second one
aborts immediately."""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager


@contextmanager
def graceful_stop():
    event = threading.Event()

    def handler(signum, frame):
        if event.is_set():
            raise KeyboardInterrupt
        event.set()
        print("\nstopping at the next safe point (Ctrl-C again to abort)...", file=sys.stderr)

    old_int = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
