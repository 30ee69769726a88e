"""`vision`: graduated reward for answers about an image — perception, reasoning, output.

reward = 0.3 * perception + 0.4 * reasoning + 0.3 * output (weights configurable: `weights`).

- perception: what the answer *claims to read* is really in the image. Claims are the
  numbers and content words of the answer that are not already in the question (and the
  final answer itself only when the task says it is printed in the image); each is looked
  up in the image's OCR text (tesseract). An answer that claims nothing gets 0 here: there
  is no free perception credit.
- reasoning: the final answer has the form the question asks for (a number when a number
  is asked) and commits to one value rather than hedging between several.
- output: normalised exact match (numbers compared as numbers) = 1; otherwise ANLS, the
  DocVQA fuzzy score (1 - normalised edit distance, 0 below 0.5); the best over the
  task's accepted `answers` when it has several (TextVQA, DocVQA).

`passed` needs a correct output (ANLS >= `pass_anls`, default 1.0 = exact). A missing OCR
engine or unreadable image is an error ("could not verify"), never a 0.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from pathlib import Path

from halo_forge.data.task import Task
from halo_forge.verify.base import Verifier, VerifyResult
from halo_forge.verify.registry import register_verifier

WEIGHTS = {"perception": 0.3, "reasoning": 0.4, "output": 0.3}
STOPWORDS = frozenset(
    "a an the is are was were be it its this that these those of in on at to for with and or but as by from "
    "image picture shows show shown written there here answer i see can number value word which what how many "
    "so thus therefore total equals equal final".split())
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
HEDGE = re.compile(r"\b(or|either|between|maybe|perhaps|possibly)\b", re.I)


class OcrUnavailable(RuntimeError):
    pass


class ImageText:
    """OCR of task images, once per file (RAFT scores many samples of the same image)."""

    def __init__(self):
        self._cache: dict[tuple[str, float], str] = {}
        self._lock = threading.Lock()

    def read(self, path: Path) -> str:
        key = (str(path), path.stat().st_mtime)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        exe = shutil.which("tesseract")
        if exe is None:
            raise OcrUnavailable("the vision verifier needs tesseract (Debian: tesseract-ocr tesseract-ocr-eng)")
        # psm 11: sparse text, which finds chart labels and scattered words a page layout misses
        proc = subprocess.run([exe, str(path), "stdout", "--psm", "11"], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise OcrUnavailable(f"tesseract failed on {path}: {proc.stderr.strip()[:200]}")
        with self._lock:
            self._cache[key] = proc.stdout
        return proc.stdout


def normalise(text: str) -> str:
    text = text.lower().strip()
    text = re.sub(r"[^\w\s.\-]", " ", text)
    return " ".join(text.strip(" .").split())


def final_answer(completion: str) -> str:
    """After an 'Answer:' marker if there is one, else the last non-empty line."""
    marked = re.findall(r"answer\s*(?:is)?\s*[:=]\s*(.+)", completion, flags=re.I)
    if marked:
        return marked[-1].strip()
    lines = [ln.strip() for ln in completion.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def anls(prediction: str, target: str) -> float:
    from rapidfuzz.distance import Levenshtein

    p, t = normalise(prediction), normalise(target)
    if not p and not t:
        return 1.0
    score = 1.0 - Levenshtein.distance(p, t) / max(len(p), len(t))
    return score if score >= 0.5 else 0.0


def output_score(answer: str, expected: str, answer_type: str) -> float:
    if answer_type == "number":
        nums = NUMBER.findall(answer.replace(",", ""))
        if len(set(nums)) > 1 and HEDGE.search(answer):
            return 0.0  # "3 or 4" names the right number without committing to it
        return 1.0 if nums and float(nums[-1]) == float(expected) else 0.0
    a, e = normalise(answer), normalise(expected)
    return 1.0 if a == e else anls(a, e)


def reasoning_score(answer: str, answer_type: str, expected_words: int) -> float:
    if not answer.strip():
        return 0.0
    if answer_type == "number":
        nums = set(NUMBER.findall(answer.replace(",", "")))
        return 1.0 if len(nums) == 1 else (0.5 if nums else 0.0)
    words = normalise(answer).split()
    if NUMBER.fullmatch(" ".join(words) or "x"):
        return 0.0  # a bare number where text was asked for
    return 1.0 if len(words) <= max(3, 2 * expected_words) else 0.5


def claims(completion: str, question: str, answer: str, answer_in_image: bool) -> list[str]:
    asked = {w.rstrip("s") for w in normalise(question).split()}
    final = set(normalise(answer).split())
    out = []
    for tok in normalise(completion).split():
        tok = tok.strip(".")
        if tok in STOPWORDS or tok.rstrip("s") in asked or (len(tok) < 2 and not tok.isdigit()):
            continue
        if tok in final and not answer_in_image:
            continue  # a computed answer is not something read off the image
        out.append(tok)
    return list(dict.fromkeys(out))


def perception_score(found_in: str, claimed: list[str]) -> float:
    if not claimed:
        return 0.0
    seen = {t.strip(".") for t in normalise(found_in).split()}
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    def found(tok: str) -> bool:
        if tok in seen:
            return True
        best = process.extractOne(tok, seen, scorer=Levenshtein.normalized_similarity) if seen else None
        return bool(best and not tok.replace(".", "").isdigit() and best[1] >= 0.8)  # OCR slips on letters only

    return sum(found(t) for t in claimed) / len(claimed)


@register_verifier
class VisionVerifier(Verifier):
    name = "vision"
    default_workers = 4  # the work is a tesseract subprocess per new image

    _ocr = ImageText()

    def check(self, task: Task, completion: str, slot: int = 0) -> VerifyResult:
        spec = task.verifier
        expected, kind = str(spec["answer"]), str(spec.get("answer_type", "text"))
        image = Path(str((task.media or {}).get("image", "")))
        if not image.is_file():
            return VerifyResult.failure(f"task {task.id}: image not found: {image}")
        try:
            ocr = self._ocr.read(image)
        except (OcrUnavailable, subprocess.TimeoutExpired) as exc:
            return VerifyResult.failure(str(exc))
        answer = final_answer(completion)
        question = task.prompt or " ".join(str(m.get("content", "")) for m in task.chat_messages())
        claimed = claims(completion, question, answer, bool(spec.get("answer_in_image", False)))
        parts = {"perception": perception_score(ocr, claimed),
                 "reasoning": reasoning_score(answer, kind, len(expected.split())),
                 "output": max(output_score(answer, str(a), kind) for a in spec.get("answers") or [expected])}
        weights = {**WEIGHTS, **(self.options.get("weights") or {})}
        reward = sum(weights[k] * parts[k] for k in WEIGHTS) / sum(weights.values())
        passed = parts["output"] >= float(self.options.get("pass_anls", 1.0))
        return VerifyResult(round(reward, 4), passed, "answer", {**parts, "metrics": parts, "answer": answer,
                                                                "claims": claimed})
