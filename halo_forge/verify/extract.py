"""Programs built from a model's answer. The extraction itself (`extract_code`) lives in
`halo_forge.data.answers`, shared with the data loaders; it is re-exported here for verifiers."""

from __future__ import annotations

import re

from halo_forge.data.answers import extract_code

__all__ = ["extract_code", "humaneval_program"]


def humaneval_program(prompt: str, completion: str, entry_point: str) -> str:
    """HumanEval completion mode (prompt + completion) or full-function mode.

    If the extracted code defines the entry point itself it is used alone; otherwise it
    is the body that continues the prompt.
    """
    code = extract_code(completion, "python")
    if re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", code, re.M):
        # Keep the prompt's imports and helpers, then the model's full definitions.
        return prompt + "\n    pass\n\n" + code if _prompt_needs_helpers(prompt, entry_point) else code
    first = next((ln for ln in code.splitlines() if ln.strip()), "")
    if first and not first.startswith((" ", "\t")):
        # A body without indentation (e.g. after a fence) is indented under the signature.
        code = "".join("    " + ln if ln.strip() else ln for ln in code.splitlines(True))
    return prompt + code


def _prompt_needs_helpers(prompt: str, entry_point: str) -> bool:
    """True if the prompt defines other functions or imports the full function may use."""
    others = [m for m in re.findall(r"^def\s+(\w+)", prompt, re.M) if m != entry_point]
    return bool(others) or bool(re.search(r"^(import|from)\s", prompt, re.M))
