"""Hub speech and image datasets (LibriSpeech, Common Voice, TextVQA, DocVQA, ChartQA,
RealWorldQA), loaded through `datasets` when online.

Task rows carry media as file paths, so each row's audio or image is written once into
$HALO_FORGE_CACHE/hub_media/<dataset>/ (WAV at the source rate, PNG) as the rows are mapped.
The mappers are pure functions of a row of the documented shape (tested offline).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from halo_forge.data.sources.hub import HubSource, register_hub
from halo_forge.data.task import Task


def _media_dir(dataset: str) -> Path:
    root = Path(os.environ.get("HALO_FORGE_CACHE", Path.home() / ".cache" / "halo_forge"))
    d = root / "hub_media" / dataset
    d.mkdir(parents=True, exist_ok=True)
    return d


def save_audio(dataset: str, key: str, audio: dict[str, Any]) -> str:
    import numpy as np
    import soundfile as sf

    out = _media_dir(dataset) / f"{key}.wav"
    if not out.is_file():
        tmp = out.with_suffix(f".tmp{os.getpid()}.wav")
        sf.write(str(tmp), np.asarray(audio["array"], dtype=np.float32), int(audio["sampling_rate"]))
        os.replace(tmp, out)
    return str(out)


def save_image(dataset: str, key: str, image: Any) -> str:
    out = _media_dir(dataset) / f"{key}.png"
    if not out.is_file():
        tmp = out.with_suffix(f".tmp{os.getpid()}.png")
        image.convert("RGB").save(tmp, format="PNG")
        os.replace(tmp, out)
    return str(out)


def _asr_task(dataset: str, key: str, audio: dict[str, Any], text: str) -> Task:
    return Task(id=f"{dataset}/{key}", prompt="Transcribe the audio.", media={"audio": save_audio(dataset, key, audio)},
                reference=text, verifier={"type": "asr", "reference": text}, meta={"source": dataset, "category": "asr"})


def librispeech_row(i: int, row: dict) -> Task:
    return _asr_task("librispeech", str(row.get("id", i)), row["audio"], row["text"].lower())


def common_voice_row(i: int, row: dict) -> Task:
    return _asr_task("common_voice", f"{i:07d}", row["audio"], row["sentence"])


def _vqa_task(dataset: str, i: int, image: Any, question: str, answers: list[str]) -> Task:
    answer = answers[0] if answers else ""
    number = answer.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()
    return Task(id=f"{dataset}/{i}", prompt=f"{question}\nAnswer with a single word or phrase.",
                media={"image": save_image(dataset, f"{i:07d}", image)}, reference=answer,
                verifier={"type": "vision", "answer": answer, "answers": answers,
                          "answer_type": "number" if number else "text", "answer_in_image": dataset != "realworldqa"},
                meta={"source": dataset, "category": dataset})


def textvqa_row(i: int, row: dict) -> Task:
    return _vqa_task("textvqa", i, row["image"], row["question"], list(row["answers"]))


def docvqa_row(i: int, row: dict) -> Task:
    return _vqa_task("docvqa", i, row["image"], row["question"], list(row["answers"]))


def chartqa_row(i: int, row: dict) -> Task:
    label = row["label"]
    return _vqa_task("chartqa", i, row["image"], row["query"], list(label) if isinstance(label, list) else [str(label)])


def realworldqa_row(i: int, row: dict) -> Task:
    return _vqa_task("realworldqa", i, row["image"], row["question"], [str(row["answer"])])


register_hub("librispeech", HubSource("openslr/librispeech_asr", "audio", librispeech_row, ("clean",),
                                      ("train.100", "validation", "test")))
register_hub("common_voice", HubSource("mozilla-foundation/common_voice_11_0", "audio", common_voice_row, ("en",),
                                       ("train", "validation", "test")))
register_hub("textvqa", HubSource("facebook/textvqa", "vision", textvqa_row, (), ("train", "validation")))
register_hub("docvqa", HubSource("lmms-lab/DocVQA", "vision", docvqa_row, ("DocVQA",), ("validation",)))
register_hub("chartqa", HubSource("HuggingFaceM4/ChartQA", "vision", chartqa_row, (), ("train", "val", "test")))
register_hub("realworldqa", HubSource("xai-org/RealworldQA", "vision", realworldqa_row, (), ("test",)))
