"""Prometheus metrics of the server (prometheus_client, its own registry so tests can run
several servers in one process)."""

from __future__ import annotations

from typing import Any, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("halo_forge_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=self.registry)
        self.prompt_tokens = Counter("halo_forge_prompt_tokens", "prompt tokens submitted", registry=self.registry)
        self.generated_tokens = Counter("halo_forge_generated_tokens", "completion tokens returned",
                                        registry=self.registry)
        self.queue_depth = Gauge("halo_forge_queue_depth", "requests waiting for the engine", registry=self.registry)
        self.batch_occupancy = Gauge("halo_forge_batch_occupancy", "engine slots in use / slots",
                                     registry=self.registry)
        self.running = Gauge("halo_forge_running_requests", "requests being answered", registry=self.registry)

    def bind(self, queue_depth: Callable[[], int], occupancy: Callable[[], tuple[int, int]]) -> None:
        self.queue_depth.set_function(queue_depth)
        self.batch_occupancy.set_function(lambda: _ratio(occupancy()))

    def text(self) -> bytes:
        return generate_latest(self.registry)


def _ratio(pair: tuple[int, Any]) -> float:
    used, total = pair
    return used / total if total else 0.0
