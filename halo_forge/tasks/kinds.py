"""Registered task kinds for text models: code, reasoning, agentic."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from halo_forge.data.task import Task
from halo_forge.errors import HaloForgeError
from halo_forge.models.chat import render_chat

HERMES_SYSTEM = (
    "You are a function calling AI model. You are provided with function signatures within <tools></tools> "
    "XML tags. You may call one or more functions to assist with the user query. Don't make assumptions about "
    "what values to plug into functions. If none of the functions are relevant, answer without calling any. "
    "Here are the available tools: <tools>{tools}</tools>\nFor each function call return a json object with "
    "function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{{"name": <function-name>, "arguments": <args-dict>}}\n</tool_call>'
)


def _plain_messages(task: Task) -> list[dict[str, Any]]:
    return task.chat_messages()


def _tool_messages(task: Task) -> list[dict[str, Any]]:
    """Hermes format: the tools go into the system turn (works with any chat template)."""
    tools = task.verifier.get("tools") or []
    system = HERMES_SYSTEM.format(tools="\n".join(json.dumps(t) for t in tools))
    msgs = [m for m in task.chat_messages() if m.get("role") != "system"]
    return [{"role": "system", "content": system}, *msgs]


@dataclass(frozen=True)
class TaskKind:
    name: str
    default_verifier: str
    build_messages: Callable[[Task], list[dict[str, Any]]]
    default_dataset: str

    def render_prompt(self, tokenizer: Any, task: Task) -> str:
        return render_chat(tokenizer, self.build_messages(task), add_generation_prompt=True)


TASK_KINDS: dict[str, TaskKind] = {
    "code": TaskKind("code", "auto", _plain_messages, "cpp_basics"),
    "reasoning": TaskKind("reasoning", "math", _plain_messages, "gsm8k"),
    "agentic": TaskKind("agentic", "toolcall", _tool_messages, "bfcl"),
}


def get_task_kind(name: str) -> TaskKind:
    if name not in TASK_KINDS:
        raise HaloForgeError(
            f"task kind '{name}' is not available (have: {', '.join(TASK_KINDS)}); "
            "audio and vision kinds are not implemented yet")
    return TASK_KINDS[name]
