"""Exact and near duplicates between two splits: a held-out item must have no twin in a training pool.

Two signals, because each misses what the other finds:
- the *question*: word 4-grams of the problem text with assert lines, code and the prompt
  template removed (a template n-gram is one shared by more than a tenth of the rows); the
  score is the share of the held-out item's n-grams found in one training item;
- the *reference solution*: token 4-grams of the reference (Python tokenized, anything else by a
  code-ish regex; string literals kept), Jaccard similarity. Identical or trivially renamed
  solutions to differently worded problems (MBPP 67 vs 608) score ~1 here and low on the question.
A pair is flagged when either score reaches its threshold. Hand-written: near-duplicate search
with an inverted index is ~100 lines and no small maintained library does both signals.
"""

from __future__ import annotations

import difflib
import io
import re
import tokenize
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

QUESTION_THRESHOLD = 0.8
REFERENCE_THRESHOLD = 0.95
N = 4


@dataclass(frozen=True)
class Pair:
    heldout: str
    train: str
    question: float
    reference: float

    def to_dict(self) -> dict[str, Any]:
        return {"heldout": self.heldout, "train": self.train, "question": round(self.question, 3),
                "reference": round(self.reference, 3)}


def question_text(task: Any) -> str:
    if task.prompt:
        text = task.prompt
    else:
        text = " ".join(str(m.get("content", "")) for m in (task.messages or []) if m.get("role") == "user")
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    return "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith("assert "))


def word_grams(text: str, n: int = N) -> set[tuple[str, ...]]:
    w = re.findall(r"[a-z0-9]+", text.lower())
    if len(w) < n:
        return {tuple(w)} if w else set()
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def code_tokens(src: str) -> list[str]:
    try:
        toks = [t.string for t in tokenize.generate_tokens(io.StringIO(src).readline)
                if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                                  tokenize.ENDMARKER)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        toks = re.findall(r"\w+|[^\s\w]", re.sub(r"//[^\n]*|#[^\n]*", " ", src))
    return toks


_KEEP_NAMES = frozenset(__import__("keyword").kwlist) | frozenset(dir(__import__("builtins")))


def normalized_code(src: str) -> list[str]:
    """Tokens with user-chosen names replaced by ID: renaming a variable does not hide a twin."""
    return [t if not re.fullmatch(r"[A-Za-z_]\w*", t) or t in _KEEP_NAMES else "ID" for t in code_tokens(src)]


def _grams(seq: list[str], n: int = N) -> set[tuple[str, ...]]:
    return {tuple(seq[i:i + n]) for i in range(max(0, len(seq) - n + 1))}


def _core_words(text: str, template: set) -> list[str]:
    """The question's words with every word covered by a template n-gram removed."""
    w = re.findall(r"[a-z0-9]+", text.lower())
    covered = [False] * len(w)
    for i in range(len(w) - N + 1):
        if tuple(w[i:i + N]) in template:
            for j in range(i, i + N):
                covered[j] = True
    return [x for x, c in zip(w, covered) if not c]


def _ratio(a: list[str], b: list[str]) -> float:
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _index(grams: list[set]) -> dict[tuple, list[int]]:
    idx: dict[tuple, list[int]] = defaultdict(list)
    for i, gs in enumerate(grams):
        for g in gs:
            idx[g].append(i)
    return idx


def _candidates(q: set, r: set, q_index: dict, r_index: dict, share: float = 0.3) -> set[int]:
    """Training rows sharing at least `share` of the held-out item's question or reference n-grams
    (a cheap filter before the exact difflib ratios)."""
    out: set[int] = set()
    for grams, index in ((q, q_index), (r, r_index)):
        hits: dict[int, int] = defaultdict(int)
        for g in grams:
            for i in index.get(g, ()):
                hits[i] += 1
        need = max(1, int(share * len(grams)))
        out.update(i for i, c in hits.items() if c >= need)
    return out


def find_overlaps(train: list, heldout: list, q_threshold: float = QUESTION_THRESHOLD,
                  r_threshold: float = REFERENCE_THRESHOLD) -> list[Pair]:
    """Every (held-out, train) pair flagged by `is_twin`, best first. Scores are difflib ratios of
    the template-free question words and of the name-normalised reference tokens."""
    tq_words = [re.findall(r"[a-z0-9]+", question_text(t).lower()) for t in train]
    tq = [_grams(w) for w in tq_words]
    tr_tokens = [normalized_code(t.reference or "") for t in train]
    tr = [_grams(toks) for toks in tr_tokens]
    q_index, r_index = _index(tq), _index(tr)
    common = max(3, len(train) // 10)
    template = {g for g, rows in q_index.items() if len(rows) > common}
    r_common = {g for g, rows in r_index.items() if len(rows) > common}
    t_core = [_core_words(question_text(t), template) for t in train]
    pairs = []
    for h in heldout:
        h_core = _core_words(question_text(h), template)
        h_tokens = normalized_code(h.reference or "")
        for i in _candidates(_grams(h_core), _grams(h_tokens) - r_common, q_index, r_index):
            qs, rs = _ratio(h_core, t_core[i]), _ratio(h_tokens, tr_tokens[i])
            if is_twin(qs, rs, q_threshold, r_threshold):
                pairs.append(Pair(h.id, train[i].id, qs, rs))
    return sorted(pairs, key=lambda p: -max(p.question, p.reference))


def is_twin(question: float, reference: float, q_threshold: float = QUESTION_THRESHOLD,
            r_threshold: float = REFERENCE_THRESHOLD) -> bool:
    """The same question, the same solution, or a similar question with a similar solution."""
    return question >= q_threshold or reference >= r_threshold or (question >= 0.5 and reference >= 0.75)


#: (dataset, training pool, held-out split) checked by `data overlap --all` and by the test suite
CHECKED_SPLITS = (
    ("mbpp", "nontest", "test"),
    ("gsm8k", "train", "test"),
    ("bfcl", "train", "heldout"),
    ("codeforces_cpp", "train", "test"),
    ("cpp_basics", "train", "test"),
)
