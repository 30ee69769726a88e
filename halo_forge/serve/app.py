"""The HTTP routes of `halo-forge serve` on Starlette (ASGI), run by uvicorn.

Why Starlette + uvicorn: the maintained, minimal ASGI pair under FastAPI — streaming responses
(server-sent events), disconnect detection and graceful shutdown (uvicorn drains in-flight
requests on Ctrl-C) — without FastAPI's own validation errors, which are not OpenAI-shaped.
Bodies are validated by the pydantic models in `protocol`; every error is `{"error": {...}}`.
"""

from __future__ import annotations

import uuid
from typing import Any, AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from halo_forge.serve.jobs import (Job, ServeState, _body, _check_auth, cancel, collect, error_response, now, sse,
                                   submit, usage)
from halo_forge.serve.protocol import APIError, ChatBody, CompletionBody, TextStream, parse_tool_calls, render_chat


def _counted(endpoint: str, handler: Callable) -> Callable:
    async def run(request: Request) -> Response:
        st: ServeState = request.app.state.serve
        st.metrics.running.inc()
        try:
            response = await handler(request)
        except APIError as exc:
            response = error_response(exc)
        finally:
            st.metrics.running.dec()
        st.metrics.requests.labels(endpoint, str(response.status_code)).inc()
        return response

    return run


# -- /v1/completions ------------------------------------------------------------------------------
async def completions(request: Request) -> Response:
    st, body = request.app.state.serve, await _body(request, CompletionBody)
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    if not prompts:
        raise APIError(400, "prompt: at least one prompt is needed", param="prompt")
    jobs = _submit_all(st, prompts, body, body.max_tokens)
    rid = f"cmpl-{uuid.uuid4().hex}"
    if body.stream:
        return _stream(request, st, jobs, body, rid, "text_completion", _completion_delta)
    await collect(request, jobs)
    choices = [{"index": k * body.n + c.index, "text": c.text, "logprobs": None, "finish_reason": c.finish_reason}
               for k, j in enumerate(jobs) for c in sorted(j.pending.done.values(), key=lambda c: c.index)]
    return _done(st, jobs, {"id": rid, "object": "text_completion", "created": now(), "model": st.model_name,
                            "choices": choices})


def _completion_delta(index: int, text: str, finish: str | None) -> dict[str, Any]:
    return {"index": index, "text": text, "logprobs": None, "finish_reason": finish}


# -- /v1/chat/completions -------------------------------------------------------------------------
async def chat(request: Request) -> Response:
    st, body = request.app.state.serve, await _body(request, ChatBody)
    try:
        prompt = render_chat(st.tok, body.messages, body.tools if body.tool_choice != "none" else None)
    except Exception as exc:  # a template that cannot render these messages (e.g. roles out of order)
        raise APIError(400, f"messages: the chat template could not render them: {exc}", param="messages") from None
    jobs = _submit_all(st, [prompt], body, body.max_completion_tokens or body.max_tokens)
    rid = f"chatcmpl-{uuid.uuid4().hex}"
    tools = bool(body.tools) and body.tool_choice != "none"
    if body.stream:
        delta = _chat_tool_delta if tools else _chat_delta
        return _stream(request, st, jobs, body, rid, "chat.completion.chunk", delta, buffer=tools)
    await collect(request, jobs)
    choices = [_chat_choice(c, tools) for c in sorted(jobs[0].pending.done.values(), key=lambda c: c.index)]
    return _done(st, jobs, {"id": rid, "object": "chat.completion", "created": now(), "model": st.model_name,
                            "choices": choices})


def _chat_choice(c: Any, tools: bool) -> dict[str, Any]:
    content, calls = parse_tool_calls(c.text) if tools else (c.text, [])
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return {"index": c.index, "message": message, "logprobs": None,
            "finish_reason": "tool_calls" if calls else c.finish_reason}


def _chat_delta(index: int, text: str, finish: str | None) -> dict[str, Any]:
    return {"index": index, "delta": {"content": text} if text else {}, "logprobs": None, "finish_reason": finish}


def _chat_tool_delta(index: int, text: str, finish: str | None) -> dict[str, Any]:
    """With tools the whole text arrives at the end (buffered): tool calls are sent parsed."""
    if finish is None:
        return _chat_delta(index, text, None)
    content, calls = parse_tool_calls(text)
    delta: dict[str, Any] = {}
    if content:
        delta["content"] = content
    if calls:
        delta["tool_calls"] = [{"index": k, **c} for k, c in enumerate(calls)]
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": "tool_calls" if calls else finish}


# -- shared ---------------------------------------------------------------------------------------
def _submit_all(st: ServeState, prompts: list[str], body: Any, max_tokens: int | None) -> list[Job]:
    jobs: list[Job] = []
    try:
        for p in prompts:
            jobs.append(submit(st, p, body, max_tokens))
    except APIError:
        cancel(jobs)
        raise
    return jobs


def _done(st: ServeState, jobs: list[Job], payload: dict[str, Any]) -> JSONResponse:
    payload["usage"] = usage(st, jobs)
    st.metrics.generated_tokens.inc(payload["usage"]["completion_tokens"])
    return JSONResponse(payload)


def _stream(request: Request, st: ServeState, jobs: list[Job], body: Any, rid: str, obj: str,
            delta: Callable[[int, str, str | None], dict[str, Any]], buffer: bool = False) -> StreamingResponse:
    """Server-sent events: chunks as tokens arrive (each choice in order of its own text), a final
    chunk per choice with its finish_reason, usage if asked, then `[DONE]`."""

    def chunk(choice: dict[str, Any]) -> str:
        return sse({"id": rid, "object": obj, "created": now(), "model": st.model_name, "choices": [choice]})

    async def events() -> AsyncIterator[str]:
        streams = {(k, i): TextStream(st.tok, body.stops()) for k in range(len(jobs)) for i in range(body.n)}
        finished: set[tuple[int, int]] = set()
        try:
            if obj == "chat.completion.chunk":
                for (k, i) in streams:
                    yield chunk({"index": k * body.n + i, "delta": {"role": "assistant", "content": ""},
                                 "logprobs": None, "finish_reason": None})
            while len(finished) < len(streams):
                for k, j in enumerate(jobs):
                    if j.pending.error:
                        yield sse({"error": APIError(500, j.pending.error).body()["error"]})
                        return
                    for i in range(body.n):
                        out = _advance(j, i, streams[(k, i)], (k, i) in finished, buffer)
                        if out is not None:
                            text, finish = out
                            if finish is not None:
                                finished.add((k, i))
                            if text or finish is not None:
                                yield chunk(delta(k * body.n + i, text, finish))
                if len(finished) < len(streams):
                    await _next_event(jobs)
            u = usage(st, jobs)
            st.metrics.generated_tokens.inc(u["completion_tokens"])
            if body.include_usage():
                yield sse({"id": rid, "object": obj, "created": now(), "model": st.model_name, "choices": [],
                           "usage": u})
            yield "data: [DONE]\n\n"
        finally:
            cancel(jobs)  # a client gone mid-stream: free the engine slots of what is unfinished

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _advance(job: Job, index: int, stream: TextStream, finished: bool, buffer: bool) -> tuple[str, str | None] | None:
    if finished:
        return None
    done = job.pending.done.get(index)
    if done is not None:
        return (done.text if buffer else stream.finish(done.text)), done.finish_reason
    tokens = job.pending.tokens.get(index)
    if tokens is None or buffer:
        return None
    return stream.update(list(tokens)), None


async def _next_event(jobs: list[Job]) -> None:
    for j in jobs:
        if not j.pending.finished:
            await j.pending.wait(1.0)
            return


# -- small routes ---------------------------------------------------------------------------------
async def models(request: Request) -> Response:
    _check_auth(request)
    st = request.app.state.serve
    return JSONResponse({"object": "list", "data": [{"id": st.model_name, "object": "model", "created": now(),
                                                     "owned_by": "halo-forge"}]})


async def health(request: Request) -> Response:
    st = request.app.state.serve
    return JSONResponse({"status": "draining" if st.draining else "ok", "model": st.model_name,
                         "engine": st.engine_name}, status_code=503 if st.draining else 200)


async def metrics(request: Request) -> Response:
    return Response(request.app.state.serve.metrics.text(), media_type="text/plain; version=0.0.4")


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response(APIError(404, f"no route {request.method} {request.url.path}"))


async def server_error(request: Request, exc: Exception) -> Response:
    return error_response(APIError(500, f"internal error: {type(exc).__name__}: {exc}"))


def make_app(state: ServeState) -> Starlette:
    from halo_forge.serve.ollama import ollama_chat

    routes = [
        Route("/v1/completions", _counted("completions", completions), methods=["POST"]),
        Route("/v1/chat/completions", _counted("chat", chat), methods=["POST"]),
        Route("/api/chat", _counted("ollama_chat", ollama_chat), methods=["POST"]),
        Route("/v1/models", _counted("models", models), methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found, 500: server_error})
    app.state.serve = state
    state.metrics.bind(state.scheduler.queue_depth, state.scheduler.occupancy)
    return app
