"""Registered task kinds: code, reasoning, agentic (text), audio and vision.

A kind is the only place a modality is named: its prompt format, default verifier,
default dataset and model, and the model adapter that loads, prompts and batches for it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from halo_forge.data.task import Task
from halo_forge.generation.base import GenerationRequest
from halo_forge.registry import Registry

if TYPE_CHECKING:
    from halo_forge.models.adapters.base import ModelAdapter

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
    adapter: str = "text"
    default_model: str = "smollm2-135m-instruct"

    @functools.cached_property
    def model_adapter(self) -> "ModelAdapter":
        """The kind owns its adapter: callers never hand a kind its own adapter back."""
        from halo_forge.models.adapters import get_adapter

        return get_adapter(self.adapter)

    def requests(self, processor: Any, tasks: list[Task]) -> list[GenerationRequest]:
        """One GenerationRequest per task (prompt text + media), in task order."""
        return [self.model_adapter.request(processor, self.build_messages(t), t) for t in tasks]


#: task kinds by name; a new kind is one `TASK_KINDS.add(name, TaskKind(...))` (docs/extending.md)
TASK_KINDS: Registry[TaskKind] = Registry("task kind")
for _kind in (
    TaskKind("code", "auto", _plain_messages, "cpp_basics"),
    TaskKind("reasoning", "math", _plain_messages, "gsm8k"),
    TaskKind("agentic", "toolcall", _tool_messages, "bfcl"),
    # audio rows name their verifier (asr transcripts, label for classification clips)
    TaskKind("audio", "auto", _plain_messages, "speech_synth", adapter="speech", default_model="whisper-base"),
    TaskKind("vision", "vision", _plain_messages, "vision_synth", adapter="vision",
             default_model="Qwen/Qwen2-VL-2B-Instruct"),
):
    TASK_KINDS.add(_kind.name, _kind)


def get_task_kind(name: str) -> TaskKind:
    return TASK_KINDS.get_or_raise(name)


def resolve_verifier(kind: TaskKind, spec: Any = None, tasks: list[Task] | None = None) -> Any:
    """The verifier a run over `kind` uses — one meaning of `auto` for RAFT, benchmarks and
    `data generate`: the kind's default verifier (for kinds whose rows name their own checker,
    code and audio, that default is the per-row dispatcher `auto`). `spec` is a VerifierSpec
    (name + options) or None. With `tasks`, its preflight runs now: before any model is loaded."""
    from halo_forge.verify.registry import get_verifier

    name = getattr(spec, "name", None) or "auto"
    verifier = get_verifier(kind.default_verifier if name == "auto" else name, **(getattr(spec, "options", None) or {}))
    verifier.processes = getattr(spec, "processes", None) or 1
    if tasks is not None:
        verifier.preflight(tasks)
    return verifier
