"""Teacher backends: one `ask(messages, n, temperature, max_tokens, seed)` per API family.

- `openai` / `deepseek`: the official `openai` package (any OpenAI-compatible server through
  `base_url`, `halo-forge serve` included); DeepSeek is that API at api.deepseek.com.
- `anthropic`: the official `anthropic` package (Messages API; no `n`, so n calls).
- `ollama`: Ollama's `/api/chat` over the standard library (no client package needed).
The two client packages retry 429/5xx with exponential backoff themselves (`max_retries`); the
Ollama path does the same by hand. Keys come from the usual environment variables or
`--api-key-env`.
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from halo_forge.errors import HaloForgeError, require

BACKENDS = ("openai", "deepseek", "anthropic", "ollama")
KEY_ENV = {"openai": "OPENAI_API_KEY", "deepseek": "DEEPSEEK_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
BASE_URL = {"deepseek": "https://api.deepseek.com", "ollama": "http://127.0.0.1:11434"}
RETRIES = 5


@dataclass
class Reply:
    texts: list[str]
    tokens_in: int
    tokens_out: int


class TeacherError(HaloForgeError):
    pass


def make_backend(name: str, model: str, base_url: str | None, api_key_env: str | None, timeout: float = 600) -> Any:
    if name not in BACKENDS:
        raise HaloForgeError(f"unknown teacher backend '{name}' (known: local, {', '.join(BACKENDS)})")
    if not model:
        raise HaloForgeError(f"--backend {name} needs --teacher-model (the model name the API serves)")
    if name == "ollama":
        return OllamaBackend(model, base_url or BASE_URL["ollama"], timeout)
    env = api_key_env or KEY_ENV[name]
    key = os.environ.get(env)
    if not key:
        raise HaloForgeError(f"--backend {name}: set the API key in ${env} (or name another variable with "
                             f"--api-key-env)")
    if name == "anthropic":
        return AnthropicBackend(model, key, base_url, timeout)
    return OpenAIBackend(model, key, base_url or BASE_URL.get(name), timeout)


class _ClientBackend:
    """A backend on an official client package: its own retries (429/5xx, backoff), its errors
    turned into one-line `TeacherError`s."""

    package = client_class = ""

    def __init__(self, model: str, key: str, base_url: str | None, timeout: float):
        lib = require(self.package, "teacher")
        self.model = model
        self.client = getattr(lib, self.client_class)(api_key=key, base_url=base_url, max_retries=RETRIES,
                                                      timeout=timeout)
        self.errors = (lib.APIError,)

    def call(self, create: Any, **kw: Any) -> Any:
        try:
            return create(**kw)
        except self.errors as exc:
            raise TeacherError(f"teacher request failed: {type(exc).__name__}: {exc}") from None


class OpenAIBackend(_ClientBackend):
    package, client_class = "openai", "OpenAI"

    def ask(self, messages: list[dict[str, Any]], n: int, temperature: float, max_tokens: int, seed: int) -> Reply:
        r = self.call(self.client.chat.completions.create, model=self.model, messages=messages, n=n,
                      temperature=temperature, max_tokens=max_tokens, seed=seed)
        usage = r.usage
        return Reply([c.message.content or "" for c in r.choices], usage.prompt_tokens if usage else 0,
                     usage.completion_tokens if usage else 0)


class AnthropicBackend(_ClientBackend):
    package, client_class = "anthropic", "Anthropic"

    def ask(self, messages: list[dict[str, Any]], n: int, temperature: float, max_tokens: int, seed: int) -> Reply:
        """The Messages API takes the system prompt apart and has no `n`: n requests."""
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        kw = {"model": self.model, "max_tokens": max_tokens, "system": system} if system else {
            "model": self.model, "max_tokens": max_tokens}
        kw["messages"] = [{"role": m["role"], "content": m["content"]} for m in messages if m["role"] != "system"]
        texts, tin, tout = [], 0, 0
        for _ in range(n):
            try:
                r = self.call(self.client.messages.create, temperature=min(1.0, temperature), **kw)
            except TypeError:  # newer client versions dropped the `temperature` argument
                r = self.call(self.client.messages.create, **kw)
            texts.append("".join(b.text for b in r.content if getattr(b, "type", "") == "text"))
            tin += r.usage.input_tokens
            tout += r.usage.output_tokens
        return Reply(texts, tin, tout)


class OllamaBackend:
    def __init__(self, model: str, base_url: str, timeout: float):
        self.model, self.url, self.timeout = model, base_url.rstrip("/") + "/api/chat", timeout

    def ask(self, messages: list[dict[str, Any]], n: int, temperature: float, max_tokens: int, seed: int) -> Reply:
        texts, tin, tout = [], 0, 0
        for i in range(n):
            body = {"model": self.model, "messages": messages, "stream": False,
                    "options": {"temperature": temperature, "num_predict": max_tokens, "seed": seed + i}}
            r = self._post(body)
            texts.append(r.get("message", {}).get("content", ""))
            tin += int(r.get("prompt_eval_count", 0))
            tout += int(r.get("eval_count", 0))
        return Reply(texts, tin, tout)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST with exponential backoff (and jitter) on 429 / 5xx / connection errors."""
        data = json.dumps(body).encode()
        for attempt in range(RETRIES + 1):
            req = urllib.request.Request(self.url, data=data, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                if exc.code != 429 and exc.code < 500 or attempt == RETRIES:
                    raise TeacherError(f"teacher request failed: HTTP {exc.code}: {exc.read()[:300]!r}") from None
            except (urllib.error.URLError, OSError) as exc:
                if attempt == RETRIES:
                    raise TeacherError(f"teacher request failed: {exc}") from None
            time.sleep(min(30.0, 0.5 * 2 ** attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")
