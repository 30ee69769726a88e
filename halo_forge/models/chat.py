"""Chat templating from the tokenizer, with a ChatML fallback for models that ship none."""

from __future__ import annotations

from typing import Any

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def render_chat(tokenizer: Any, messages: list[dict[str, Any]], add_generation_prompt: bool = True,
                tools: list[dict] | None = None) -> str:
    template = getattr(tokenizer, "chat_template", None) or CHATML
    kwargs: dict[str, Any] = {}
    if tools:
        kwargs["tools"] = tools
    return tokenizer.apply_chat_template(
        messages, chat_template=template, tokenize=False, add_generation_prompt=add_generation_prompt, **kwargs
    )
