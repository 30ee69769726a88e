"""One engine interface for RAFT, SFT evaluation and benchmarks.

`generate(requests, params, on_batch)` returns every completion; `on_batch` sees each
finished batch as it streams, so callers can persist samples before the next batch starts.
Batches are a deterministic partition of (request, sample index) pairs and each is seeded
from (seed, batch index): a resumed run regenerates exactly what an uninterrupted run would.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol

from halo_forge.errors import UnsupportedModel
from halo_forge.registry import Registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplingParams:
    n: int = 1
    temperature: float = 0.7
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 512
    min_new_tokens: int = 0  # EOS is suppressed before this many tokens (benchmarks use it)
    stop: tuple[str, ...] = ()
    seed: int = 0
    logprobs: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d


@dataclass
class GenerationRequest:
    id: str
    prompt_text: str  # already chat-templated by the task kind (a seq2seq model: its decoder prefix)
    media: dict[str, Any] | None = None  # {"audio": path} or {"image": path}, read by the model adapter


@dataclass
class Completion:
    request_id: str
    index: int  # sample index within the request (0..n-1)
    text: str
    token_ids: list[int]
    finish_reason: str  # "stop" (EOS or stop string) | "length"
    prompt_tokens: int = 0
    logprobs: list[float] | None = None


@dataclass
class WorkItem:
    request: GenerationRequest
    index: int  # which of the request's n samples
    order: int = 0  # the request's position in the planned list: part of the sampling key, so a
    #                 batch draws the same samples whichever process or resumed run generates it


@dataclass
class Batch:
    number: int
    items: list[WorkItem] = field(default_factory=list)


def plan_batches(requests: list[GenerationRequest], n: int, batch_size: int) -> list[Batch]:
    """Deterministic batches of (request, sample) pairs; the n samples of a prompt stay together
    so its prefix is prefilled side by side (and shared by engines that support it)."""
    items = [WorkItem(r, i, k) for k, r in enumerate(requests) for i in range(n)]
    return [Batch(k, items[s:s + batch_size]) for k, s in enumerate(range(0, len(items), batch_size))]


class Engine(Protocol):
    """`run` generates the batches it is given — planned once by the caller (the rollout), never
    re-planned inside an engine; `generate` is the plan-and-run convenience (PlannedEngine)."""

    name: str

    def run(self, batches: list[Batch], params: SamplingParams,
            on_batch: Callable[[int, list[Completion]], None] | None = None,
            stop_event: threading.Event | None = None) -> list[Completion]:
        ...

    def generate(self, requests: list[GenerationRequest], params: SamplingParams, batch_size: int = 32,
                 on_batch: Callable[[int, list[Completion]], None] | None = None,
                 skip_batches: set[int] | None = None, stop_event: threading.Event | None = None) -> list[Completion]:
        ...


class PlannedEngine:
    """The one `generate`: plan the batches, drop the skipped ones, `run` the rest."""

    def run(self, batches: list[Batch], params: SamplingParams,
            on_batch: Callable[[int, list[Completion]], None] | None = None,
            stop_event: threading.Event | None = None) -> list[Completion]:
        raise NotImplementedError

    def generate(self, requests: list[GenerationRequest], params: SamplingParams, batch_size: int = 32,
                 on_batch: Callable[[int, list[Completion]], None] | None = None,
                 skip_batches: set[int] | None = None, stop_event: threading.Event | None = None) -> list[Completion]:
        batches = [b for b in plan_batches(requests, params.n, batch_size) if b.number not in (skip_batches or ())]
        return self.run(batches, params, on_batch, stop_event)

    def release_memory(self) -> None:
        """Give back what the engine holds between calls (KV cache, captured graphs) so that training
        can use it; the next call allocates again. Engines that hold nothing keep this no-op."""


def release_engine_memory(engine: Any) -> None:
    """`release_memory` is optional for plugin engines (the Engine protocol predates it)."""
    release = getattr(engine, "release_memory", None)
    if callable(release):
        release()


def check_engine_available(name: str) -> None:
    """Fail before a model is loaded (minutes on a big model) for an engine this build lacks."""
    from halo_forge.errors import HaloForgeError

    if name == "vllm":
        raise HaloForgeError("generation engine 'vllm' is not in this build (vLLM could not be installed or tested on "
                             "this project's machines); use auto, native or hf")


def _native(model: Any, tokenizer: Any, dtype: str = "auto") -> Engine:
    from halo_forge.generation.native import NativeEngine

    return NativeEngine(model, tokenizer, dtype=dtype)


def _hf(model: Any, tokenizer: Any) -> Engine:
    from halo_forge.generation.hf import HFEngine

    return HFEngine(model, tokenizer)


#: engine factories `(model, tokenizer) -> Engine` by name; a factory raises UnsupportedModel for a
#: model it cannot run. Registered here by name, built lazily (the native engine imports Triton).
ENGINES: Registry[Callable[[Any, Any], Engine]] = Registry("generation engine")
ENGINES.add("native", _native)
ENGINES.add("hf", _hf)
AUTO_ORDER = ("native", "hf")  # `auto`: the first engine that supports the model


def generation_dtype_name(engine: Any) -> str:
    """What an engine decodes in, for sample and result metadata ("model": the model's own dtype)."""
    return str(getattr(engine, "compute_dtype", "model")).replace("torch.", "")


def make_engine(name: str, model: Any, tokenizer: Any, dtype: str = "auto") -> Engine:
    """`auto` picks the best backend available for this model and device: `native` for
    Llama-family decoders (CUDA graphs on GPUs; on CPUs it matches or beats HF, see
    docs/performance.md), `hf` for every other architecture. `dtype` (generation.dtype) reaches
    engines whose factory takes it (native: a bf16 shadow of fp32 weights); others generate in
    the model's dtype."""
    check_engine_available(name)
    if name != "auto":
        return _build(name, ENGINES.get_or_raise(name), model, tokenizer, dtype)
    reasons = []
    for candidate in AUTO_ORDER:
        try:
            return _build(candidate, ENGINES[candidate], model, tokenizer, dtype)
        except UnsupportedModel as exc:
            reasons.append(str(exc))
    raise UnsupportedModel("no engine supports this model: " + "; ".join(reasons))


def _build(name: str, factory: Callable[..., Engine], model: Any, tokenizer: Any, dtype: str) -> Engine:
    import inspect

    if "dtype" in inspect.signature(factory).parameters:
        return factory(model, tokenizer, dtype=dtype)
    if dtype != "auto":
        log.warning("generation engine '%s' generates in the model's dtype; generation.dtype %s is not used", name, dtype)
    return factory(model, tokenizer)