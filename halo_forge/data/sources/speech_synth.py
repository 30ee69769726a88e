"""Offline speech with known transcripts and labels, spoken by espeak-ng (Debian).

`speech_synth`: bundled sentences (ASR; the transcript in the `asr` verifier spec).
`speech_commands_synth`: ten command words in several voices, rates and pitches
(classification; the word in a `label` verifier spec with the ten choices).
Audio is synthesised on first use into $HALO_FORGE_CACHE/speech (~80 ms a clip); a task
carries the path in `media.audio`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from halo_forge.data.registry import ASSETS, DatasetInfo, register_dataset
from halo_forge.data.task import Task
from halo_forge.errors import DataError

VOICE = "en-us"
RATE = 150


def _cache() -> Path:
    return Path(os.environ.get("HALO_FORGE_CACHE", Path.home() / ".cache" / "halo_forge")) / "speech"


COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
VARIANTS = (("en-us", 150, 50), ("en", 130, 40), ("en-us", 180, 65), ("en", 165, 55), ("en-us", 120, 35))


def synthesize(text: str, voice: str = VOICE, rate: int = RATE, pitch: int = 50) -> Path:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DataError("speech datasets need espeak-ng (Debian package espeak-ng)")
    key = f"{voice}|{rate}|{text}" if pitch == 50 else f"{voice}|{rate}|{pitch}|{text}"
    out = _cache() / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.wav"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".tmp{os.getpid()}.wav")
        subprocess.run([exe, "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(tmp), text], check=True,
                       capture_output=True, timeout=60)
        os.replace(tmp, out)
    return out


def load(split: str) -> list[Task]:
    lines = [ln.strip() for ln in (ASSETS / "speech_synth" / "sentences.txt").read_text().splitlines() if ln.strip()]
    tasks = []
    for i, text in enumerate(lines):
        if (split == "test") != (i % 5 == 4):
            continue
        tasks.append(Task(id=f"speech_synth/{i}", prompt="Transcribe the audio.", media={"audio": str(synthesize(text))},
                          reference=text, verifier={"type": "asr", "reference": text},
                          meta={"source": "speech_synth", "category": "asr"}))
    return tasks


def load_commands(split: str) -> list[Task]:
    """Variant 4 of each word is the test split (a voice/rate/pitch never heard in training)."""
    tasks = []
    for v, (voice, rate, pitch) in enumerate(VARIANTS):
        if (split == "test") != (v == len(VARIANTS) - 1):
            continue
        for word in COMMANDS:
            tasks.append(Task(id=f"speech_commands_synth/{word}/{v}", prompt="Which command word is spoken?",
                              media={"audio": str(synthesize(word, voice, rate, pitch))}, reference=word,
                              verifier={"type": "label", "label": word, "choices": list(COMMANDS)},
                              meta={"source": "speech_commands_synth", "category": word}))
    return tasks


SENTENCE = re.compile(r"^[A-Z][A-Za-z' ,]+[.]$")
SENTENCE_LIMITS = {"train": 2000, "test": 200}


def _gsm8k_sentences(split: str) -> list[str]:
    """Plain-word sentences (6-14 words, no digits or symbols) from GSM8K questions of the same
    split, so that spoken text and its transcript agree with no number normalisation."""
    from halo_forge.data.sources.gsm8k import read_split

    seen: dict[str, None] = {}
    for row in read_split(split):
        for sent in re.split(r"(?<=[.])\s+", row["question"]):
            if SENTENCE.match(sent) and 6 <= len(sent.split()) <= 14:
                seen.setdefault(sent, None)
    return list(seen)


def load_sentences(split: str) -> list[Task]:
    from concurrent.futures import ThreadPoolExecutor

    sentences = _gsm8k_sentences(split)
    if split == "train":  # no test sentence is heard in training
        held_out = set(_gsm8k_sentences("test"))
        sentences = [s for s in sentences if s not in held_out]
    sentences = sentences[: SENTENCE_LIMITS[split]]
    voices = [VARIANTS[i % len(VARIANTS)] for i in range(len(sentences))]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:  # espeak-ng is one process a clip
        paths = list(pool.map(lambda a: synthesize(a[0], *a[1]), zip(sentences, voices)))
    return [Task(id=f"speech_sentences/{split}/{i}", prompt="Transcribe the audio.", media={"audio": str(path)},
                 reference=text, verifier={"type": "asr", "reference": text},
                 meta={"source": "speech_sentences", "category": voices[i][0]})
            for i, (text, path) in enumerate(zip(sentences, paths))]


register_dataset(
    DatasetInfo(
        name="speech_sentences",
        description="plain sentences from GSM8K questions spoken by espeak-ng in 5 voices/rates "
                    "(offline ASR; up to 2000 train from GSM8K train / 200 test from GSM8K test)",
        kind="audio",
        splits=("train", "test"),
        loader=load_sentences,
        source="generated: espeak-ng reading sentences of the bundled GSM8K (MIT)",
    )
)

register_dataset(
    DatasetInfo(
        name="speech_commands_synth",
        description="10 command words x 5 espeak-ng voices/rates/pitches (offline audio classification; 40 train / 10 test)",
        kind="audio",
        splits=("train", "test"),
        loader=load_commands,
        source="generated: espeak-ng",
    )
)

register_dataset(
    DatasetInfo(
        name="speech_synth",
        description="30 sentences spoken by espeak-ng (offline ASR set with known transcripts; 24 train / 6 test)",
        kind="audio",
        splits=("train", "test"),
        loader=load,
        source="generated: espeak-ng from bundled sentences",
    )
)
