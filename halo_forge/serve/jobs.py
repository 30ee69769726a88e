"""Between a route and the engine thread: the server's state, request checks (key, size,
model name), submitting a prompt as a `LiveRequest`, and waiting for its samples while
watching for a client that went away."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from halo_forge.generation.base import Completion, GenerationRequest
from halo_forge.generation.native.live import LiveRequest
from halo_forge.serve.metrics import Metrics
from halo_forge.serve.protocol import APIError, parse_body, unsupported
from halo_forge.serve.scheduler import QueueFull, Shape, Stopping

MAX_BODY_BYTES = 1 << 20


@dataclass
class ServeState:
    tok: Any
    scheduler: Any
    model_name: str
    aliases: set[str]
    max_len: int
    default_max_tokens: int
    api_key: str | None = None
    engine_name: str = "native"
    metrics: Metrics = field(default_factory=Metrics)
    draining: bool = False


class Pending:
    """One request's samples as the engine thread reports them; wakes the request's coroutine."""

    def __init__(self, loop: asyncio.AbstractEventLoop, n: int):
        self.loop, self.n = loop, n
        self.event = asyncio.Event()
        self.tokens: dict[int, list[int]] = {}
        self.done: dict[int, Completion] = {}
        self.error: str | None = None
        self._flag = False

    # engine thread
    def on_tokens(self, index: int, tokens: list[int]) -> None:
        self.tokens[index] = tokens
        self._wake()

    def on_done(self, c: Completion) -> None:
        self.done[c.index] = c
        self._wake()

    def on_error(self, message: str) -> None:
        self.error = message
        self._wake()

    def _wake(self) -> None:
        if not self._flag:
            self._flag = True
            self.loop.call_soon_threadsafe(self._set)

    def _set(self) -> None:
        self._flag = False
        self.event.set()

    # event loop
    @property
    def finished(self) -> bool:
        return len(self.done) == self.n or self.error is not None

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        self.event.clear()


@dataclass
class Job:
    """A prompt submitted to the scheduler: its request, its pending samples, its prompt size."""

    live: LiveRequest
    pending: Pending
    prompt_tokens: int


def _state(request: Request) -> ServeState:
    return request.app.state.serve


def _check_auth(request: Request) -> None:
    key = _state(request).api_key
    if key and request.headers.get("authorization", "") != f"Bearer {key}":
        raise APIError(401, "missing or wrong API key (send 'Authorization: Bearer <key>')", code="invalid_api_key")


async def _body(request: Request, model: type) -> Any:
    _check_auth(request)
    st = _state(request)
    if st.draining:
        raise APIError(503, "server is shutting down")
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        raise APIError(413, f"request body over {MAX_BODY_BYTES} bytes")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise APIError(413, f"request body over {MAX_BODY_BYTES} bytes")
    body = parse_body(model, raw)
    if body.model not in st.aliases:
        raise APIError(404, f"model '{body.model}' does not exist (this server has '{st.model_name}')",
                       param="model", code="model_not_found")
    unsupported(body)
    return body


def submit(st: ServeState, prompt_text: str, body: Any, max_tokens: int | None) -> Job:
    ids = st.tok(prompt_text, add_special_tokens=False)["input_ids"]
    room = st.max_len - len(ids) - 1
    if room < 1:
        raise APIError(413, f"prompt is {len(ids)} tokens; this server's context is {st.max_len}", param="prompt",
                       code="context_length_exceeded")
    want = max_tokens or min(st.default_max_tokens, room)
    if want > room:
        raise APIError(413, f"prompt ({len(ids)} tokens) + max_tokens ({want}) exceeds the context of {st.max_len}",
                       param="max_tokens", code="context_length_exceeded")
    pending = Pending(asyncio.get_running_loop(), body.n)
    seed = (body.seed if body.seed is not None else uuid.uuid4().int) & 0x7FFFFFFF  # engines seed torch with it
    live = LiveRequest(GenerationRequest(uuid.uuid4().hex, prompt_text), ids, body.n, want, body.stops(), seed,
                       pending.on_done, pending.on_tokens, on_error=pending.on_error, seeded=body.seed is not None)
    try:
        st.scheduler.submit(Shape(body.temperature, body.top_p if body.temperature > 0 else 1.0, body.top_k), live)
    except QueueFull:
        raise APIError(429, "server queue is full, retry later", code="queue_full") from None
    except Stopping:
        raise APIError(503, "server is shutting down") from None
    st.metrics.prompt_tokens.inc(len(ids))
    return Job(live, pending, len(ids))


async def collect(request: Request, jobs: list[Job]) -> None:
    """Wait for every sample; a client that disconnects cancels its jobs (the engine frees the slots)."""
    try:
        for j in jobs:
            while not j.pending.finished:
                await j.pending.wait(1.0)
                if not j.pending.finished and await request.is_disconnected():
                    raise asyncio.CancelledError()
    except asyncio.CancelledError:
        cancel(jobs)
        raise
    errors = [j.pending.error for j in jobs if j.pending.error]
    if errors:
        raise APIError(500, errors[0])


def cancel(jobs: list[Job]) -> None:
    for j in jobs:
        if not j.pending.finished:
            j.live.cancelled.set()


def usage(st: ServeState, jobs: list[Job]) -> dict[str, int]:
    prompt = sum(j.prompt_tokens for j in jobs)
    completion = sum(len(c.token_ids) for j in jobs for c in j.pending.done.values())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def sse(obj: Any) -> str:
    return f"data: {json.dumps(obj)}\n\n"


def error_response(exc: APIError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


def now() -> int:
    return int(time.time())
