"""Ollama's `/api/chat` shape on the same engine, so `data generate --backend ollama` (and any
Ollama client) can be tested against `halo-forge serve` without the Ollama binary.
Request: {model, messages, stream (default true), options: {temperature, top_p, top_k,
num_predict, seed, stop}}. Response: one JSON object, or NDJSON chunks ending with `done: true`.
Errors are Ollama's `{"error": "..."}`."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from halo_forge.serve.jobs import _body, cancel, collect, submit
from halo_forge.serve.protocol import APIError, ChatBody, TextStream, render_chat


class _OllamaBody:
    @staticmethod
    def model_validate(data: dict[str, Any]) -> ChatBody:
        opts = data.get("options") or {}
        if not isinstance(opts, dict):
            raise APIError(400, "options: must be an object", param="options")
        mapped = {"model": data.get("model"), "messages": data.get("messages"), "stream": data.get("stream", True),
                  "temperature": opts.get("temperature", 0.8), "top_p": opts.get("top_p", 0.9),
                  "top_k": opts.get("top_k", 0), "seed": opts.get("seed"), "stop": opts.get("stop"),
                  "max_tokens": opts.get("num_predict")}
        return ChatBody.model_validate({k: v for k, v in mapped.items() if v is not None})


def _stamp() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


async def ollama_chat(request: Request) -> Response:
    try:
        return await _chat(request)
    except APIError as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _chat(request: Request) -> Response:
    st = request.app.state.serve
    body = await _body(request, _OllamaBody)
    job = submit(st, render_chat(st.tok, body.messages, None), body, body.max_tokens)
    if not body.stream:
        await collect(request, [job])
        c = job.pending.done[0]
        return JSONResponse(_final(st, job, c.text, c.finish_reason, len(c.token_ids)))

    async def lines() -> AsyncIterator[str]:
        stream = TextStream(st.tok, body.stops())
        try:
            while True:
                if job.pending.error:
                    yield json.dumps({"error": job.pending.error}) + "\n"
                    return
                done = job.pending.done.get(0)
                if done is not None:
                    tail = stream.finish(done.text)
                    if tail:
                        yield _chunk(st, tail)
                    yield json.dumps(_final(st, job, "", done.finish_reason, len(done.token_ids))) + "\n"
                    return
                tokens = job.pending.tokens.get(0)
                delta = stream.update(list(tokens)) if tokens is not None else ""
                if delta:
                    yield _chunk(st, delta)
                await job.pending.wait(1.0)
        finally:
            cancel([job])

    return StreamingResponse(lines(), media_type="application/x-ndjson")


def _chunk(st: Any, text: str) -> str:
    return json.dumps({"model": st.model_name, "created_at": _stamp(),
                       "message": {"role": "assistant", "content": text}, "done": False}) + "\n"


def _final(st: Any, job: Any, text: str, reason: str, generated: int) -> dict[str, Any]:
    st.metrics.generated_tokens.inc(generated)
    return {"model": st.model_name, "created_at": _stamp(), "message": {"role": "assistant", "content": text},
            "done": True, "done_reason": reason, "prompt_eval_count": job.prompt_tokens, "eval_count": generated}
