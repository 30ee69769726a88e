"""Answer text shared by data loaders (gold answers and reference code from reference solutions)
and verifiers (answers and code from model output): kept in `data` so loaders need not import
the verifiers.

Code extraction: real chat models wrap code in fences (with or without a language tag), add
preambles, split helpers over several blocks, or answer with bare code. The language tag never
leaks into the code: it is read from the fence line, which is dropped."""

from __future__ import annotations

import re


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} / \\fbox{...}, honouring nested braces."""
    idx = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if idx < 0:
        return None
    i = text.find("{", idx)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    return None


FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)

ALIASES = {
    "python": {"python", "py", "python3"},
    "cpp": {"cpp", "c++", "cc", "cxx", "hpp"},
    "c": {"c", "h"},
    "rust": {"rust", "rs"},
    "go": {"go", "golang"},
}


def _lang_matches(tag: str, language: str | None) -> bool:
    if not language:
        return True
    tag = tag.lower()
    return tag in ALIASES.get(language, {language})


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language tag, code) for every fenced block; an unterminated last block is kept."""
    return [(m.group(1).lower(), m.group(2)) for m in FENCE.finditer(text)]


def extract_code(text: str, language: str | None = None, *, join: bool = True) -> str:
    """The code to verify: the blocks tagged with `language` (joined, in order, so helper
    blocks come along), else the untagged blocks, else all blocks, else the text itself."""
    blocks = [(tag, code) for tag, code in fenced_blocks(text) if code.strip()]
    before_first = text.split("```", 1)[0]
    pat = _CODE_START.get(language or "")
    if len(re.findall(r"^\s*```", text, re.M)) % 2 == 1 and pat and pat.search(before_first):
        blocks = []  # an odd fence after bare code is a stray closing fence, not an opening one
    if not blocks:
        # No usable fenced block: bare code, maybe with a stray closing fence and prose after it.
        before_fence = text.split("```", 1)[0]
        return _strip_trailing_prose(_strip_preamble(before_fence if before_fence.strip() else text, language), language)
    tagged = [code for tag, code in blocks if tag and _lang_matches(tag, language)]
    untagged = [code for tag, code in blocks if not tag]
    chosen = tagged or untagged or [code for _, code in blocks]
    if not join:
        return chosen[0].rstrip() + "\n"
    return "\n".join(c.rstrip() for c in chosen) + "\n"


_CODE_START = {
    "python": re.compile(r"^(def |class |import |from |@|async def )", re.M),
    "cpp": re.compile(r"^(#include|using |int main|template|struct |class )", re.M),
    "c": re.compile(r"^(#include|int main|struct )", re.M),
    "rust": re.compile(r"^(use |fn |struct |impl |mod |pub )", re.M),
    "go": re.compile(r"^(package |import |func )", re.M),
}


def _strip_trailing_prose(code: str, language: str | None) -> str:
    """Bare C/C++ answers often end with an 'Output:' or explanation: cut after the last
    top-level closing brace."""
    if language not in ("c", "cpp"):
        return code
    lines = code.splitlines()
    last = max((i for i, ln in enumerate(lines) if ln.rstrip() in ("}", "};")), default=-1)
    return "\n".join(lines[: last + 1]) + "\n" if last >= 0 else code


def _strip_preamble(text: str, language: str | None) -> str:
    """Bare answers: drop chat prose before the first line that looks like code."""
    pat = _CODE_START.get(language or "")
    if pat:
        m = pat.search(text)
        if m:
            return text[m.start():].rstrip() + "\n"
    return text.rstrip() + "\n"
