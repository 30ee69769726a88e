"""Offline speech with known transcripts: sentences spoken by espeak-ng (Debian).

The audio is synthesised on first use into $HALO_FORGE_CACHE/speech (cheap: ~80 ms a clip) and
the task carries the path in `media.audio` and the transcript in its `asr` verifier spec.
"""

from __future__ import annotations

import hashlib
import os
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


def synthesize(text: str) -> Path:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DataError("dataset 'speech_synth' needs espeak-ng (Debian package espeak-ng)")
    out = _cache() / f"{hashlib.sha256(f'{VOICE}|{RATE}|{text}'.encode()).hexdigest()[:16]}.wav"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".tmp{os.getpid()}.wav")
        subprocess.run([exe, "-v", VOICE, "-s", str(RATE), "-w", str(tmp), text], check=True, capture_output=True,
                       timeout=60)
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
