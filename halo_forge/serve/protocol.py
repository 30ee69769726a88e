"""The wire format: OpenAI request bodies (validated with pydantic), OpenAI-shaped errors,
Hermes `<tool_call>` parsing, and text streaming that never shows a stop string.

Why pydantic models and not hand checks: a wrong type anywhere in a body must become one
400 with the field's path in the message, never a traceback."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class APIError(Exception):
    """An error the client gets as `{"error": {...}}` with this HTTP status."""

    TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
             413: "invalid_request_error", 429: "rate_limit_error", 500: "server_error", 503: "service_unavailable"}

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.TYPES.get(self.status, "invalid_request_error"),
                          "param": self.param, "code": self.code}}


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str
    temperature: float = Field(1.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    top_k: int = Field(0, ge=0)
    n: int = Field(1, ge=1, le=64)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, v):
        stops = [v] if isinstance(v, str) else list(v or [])
        if len(stops) > 4 or any(not s for s in stops):
            raise ValueError("stop takes up to 4 non-empty strings")
        return stops

    def stops(self) -> tuple[str, ...]:
        return tuple(self.stop or ())

    def include_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))


class CompletionBody(_Body):
    prompt: str | list[str]
    max_tokens: int | None = Field(16, ge=1)
    echo: bool = False
    logprobs: int | None = None
    best_of: int | None = None
    suffix: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: only text parts exist for a text model
            return "".join(p.get("text", "") for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatBody(_Body):
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    logprobs: bool | None = None


def parse_body(model: type[BaseModel], raw: bytes) -> Any:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise APIError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise APIError(400, "request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise APIError(400, f"{where}: {err['msg']}", param=where) from None


def unsupported(body: Any) -> None:
    """Parameters we do not implement are refused, not silently ignored."""
    for name in ("echo", "best_of", "suffix", "logprobs"):
        value = getattr(body, name, None)
        if value not in (None, False, 1 if name == "best_of" else None):
            raise APIError(400, f"'{name}' is not supported by this server", param=name)


# -- tool calls -----------------------------------------------------------------------------------
TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)


def parse_tool_calls(text: str) -> tuple[str | None, list[dict[str, Any]]]:
    """Hermes-style `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks -> OpenAI
    `tool_calls`; the text outside them is the content (None when empty). A block that is not a
    JSON object with a name stays in the content: the client sees what the model wrote."""
    calls, kept, last = [], [], 0
    for m in TOOL_CALL.finditer(text):
        try:
            obj = json.loads(m.group(1))
        except ValueError:
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
            continue
        args = obj.get("arguments", obj.get("parameters", {}))
        calls.append({"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                      "function": {"name": obj["name"], "arguments": args if isinstance(args, str) else json.dumps(args)}})
        kept.append(text[last:m.start()])
        last = m.end()
    if not calls:
        return text, []
    kept.append(text[last:])
    content = "".join(kept).strip()
    return content or None, calls


def chat_messages(messages: list[Message], tools: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Plain dicts for a chat template. Assistant tool calls become Hermes text and tool results
    `<tool_response>` user turns, so templates without tool support still see the conversation."""
    out = []
    for m in messages:
        role = "system" if m.role == "developer" else m.role
        text = m.text()
        if m.tool_calls:
            text += "".join(f"<tool_call>\n{json.dumps(_call_json(c))}\n</tool_call>" for c in m.tool_calls)
        if role == "tool":
            role, text = "user", f"<tool_response>\n{text}\n</tool_response>"
        out.append({"role": role, "content": text})
    return out


def _call_json(call: dict[str, Any]) -> dict[str, Any]:
    fn = call.get("function", {})
    args = fn.get("arguments", "{}")
    try:
        args = json.loads(args) if isinstance(args, str) else args
    except ValueError:
        pass
    return {"name": fn.get("name"), "arguments": args}


def render_chat(tok: Any, messages: list[Message], tools: list[dict[str, Any]] | None) -> str:
    """The model's chat template with the tools rendered: by the template itself when it knows
    tools (the tool names then appear in the prompt), else as a Hermes system turn."""
    msgs = chat_messages(messages, tools)
    if tools:
        rendered = tok.apply_chat_template(msgs, tools=tools, add_generation_prompt=True, tokenize=False)
        names = [t.get("function", {}).get("name", "") for t in tools]
        if all(n and n in rendered for n in names):
            return rendered
        from halo_forge.tasks.kinds import HERMES_SYSTEM  # the prompt the agentic task kind trains with

        system = HERMES_SYSTEM.format(tools="\n".join(json.dumps(t) for t in tools))
        if msgs[0]["role"] == "system":
            msgs = [{"role": "system", "content": msgs[0]["content"] + "\n\n" + system}] + msgs[1:]
        else:
            msgs = [{"role": "system", "content": system}] + msgs
    return tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)


# -- streaming ------------------------------------------------------------------------------------
class TextStream:
    """Text deltas of one sample as its tokens arrive. Holds back what could still turn out to be
    the start of a stop string (or half of a UTF-8 character), so streamed text never shows the
    stop string and always equals a prefix of the final text."""

    def __init__(self, tok: Any, stops: tuple[str, ...]):
        self.tok, self.stops = tok, stops
        self.sent = ""

    def _safe(self, text: str) -> str:
        for s in self.stops:
            i = text.find(s)
            if i >= 0:
                text = text[:i]
        hold = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(text)), 0, -1):
                if text.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        text = text[: len(text) - hold]
        return text.rstrip("\ufffd")

    def update(self, token_ids: list[int]) -> str:
        text = self._safe(self.tok.decode(token_ids, skip_special_tokens=True))
        if not text.startswith(self.sent) or len(text) <= len(self.sent):
            return ""
        delta, self.sent = text[len(self.sent):], text
        return delta

    def finish(self, final_text: str) -> str:
        if final_text.startswith(self.sent):
            delta = final_text[len(self.sent):]
        else:  # cannot happen with the hold-back; never resend what the client has
            delta = ""
        self.sent = final_text
        return delta
