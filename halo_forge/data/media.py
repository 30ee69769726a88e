"""Reading the media a task row points at (`media.audio`, `media.image`).

Task rows carry paths, not bytes, so JSONL files stay small and re-scoring needs nothing
but the rows. A missing or unreadable file is a DataError that names the task and path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from halo_forge.errors import DataError

SPEECH_RATE = 16_000  # what Whisper-family feature extractors expect


def media_path(media: dict[str, Any] | None, key: str, where: str) -> Path:
    if not media or not media.get(key):
        raise DataError(f"{where}: task has no media.{key}")
    path = Path(str(media[key])).expanduser()
    if not path.is_file():
        raise DataError(f"{where}: media.{key} file not found: {path}")
    return path


def check_media(tasks: list[Any]) -> None:
    """Fail before any model is loaded if a task points at a media file that is not there."""
    for t in tasks:
        for key in ("audio", "image"):
            if t.media and key in t.media:
                media_path(t.media, key, f"task {t.id}")


def load_audio(path: Path, rate: int = SPEECH_RATE):
    """Mono float32 samples at `rate` Hz. Resampling uses soxr (the resampler librosa uses);
    a hand-written interpolation would alias and hurt recognition."""
    import numpy as np
    import soundfile as sf

    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise DataError(f"{path}: not a readable audio file ({str(exc).splitlines()[0]})") from None
    mono = data.mean(axis=1)
    if sr != rate:
        import soxr

        mono = soxr.resample(mono, sr, rate)
    return np.ascontiguousarray(mono, dtype=np.float32)


def load_image(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{path}: not a readable image ({exc})") from None
