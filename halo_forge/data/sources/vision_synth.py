"""Offline image questions with known answers, drawn with Pillow.

Four families, each checkable: `read` (a word is written), `count` (how many shapes),
`chart` (the value printed on a labelled bar), `arith` (the value of a written sum).
Images are rendered on first use into $HALO_FORGE_CACHE/vision_synth with Pillow's bundled
font (the same pixels on every machine); a task carries the image path in `media.image`
and its answer, answer type and whether the answer is printed in the image in its
`vision` verifier spec. Item i is in the test split when i % 5 == 4.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from halo_forge.data.registry import DatasetInfo, register_dataset
from halo_forge.data.task import Task

SIZE = (320, 200)
ITEMS = 300
WORDS = ("apple", "river", "stone", "cloud", "tiger", "piano", "lemon", "house", "light", "ocean", "green", "bread",
         "chair", "smile", "storm", "plant", "train", "music", "sugar", "night", "paper", "grape", "horse", "water")
BARS = ("Oak", "Pine", "Elm", "Ash", "Fir", "Yew")
COLORS = {"red": (220, 40, 40), "blue": (40, 80, 220), "green": (30, 160, 60), "orange": (240, 140, 20)}
VERSION = "v1"


def _cache() -> Path:
    return Path(os.environ.get("HALO_FORGE_CACHE", Path.home() / ".cache" / "halo_forge")) / "vision_synth" / VERSION


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _read(rng: random.Random, draw) -> tuple[str, str, str, bool]:
    word = rng.choice(WORDS)
    draw.text((SIZE[0] // 2, SIZE[1] // 2), word.upper(), fill=(20, 20, 20), font=_font(56), anchor="mm")
    return "What word is written in the image? Answer with the word only.", word, "text", True


def _count(rng: random.Random, draw) -> tuple[str, str, str, bool]:
    n, color = rng.randint(1, 7), rng.choice(list(COLORS))
    for k in range(n):  # a 4x2 grid of cells, one shape per cell: no overlaps
        cx, cy = 40 + (k % 4) * 80 + rng.randint(-8, 8), 55 + (k // 4) * 90 + rng.randint(-8, 8)
        draw.ellipse((cx - 24, cy - 24, cx + 24, cy + 24), fill=COLORS[color])
    return f"How many {color} circles are in the image? Answer with a number.", str(n), "number", False


def _chart(rng: random.Random, draw) -> tuple[str, str, str, bool]:
    labels = rng.sample(BARS, 3)
    values = [rng.randint(2, 9) * 10 for _ in labels]
    for k, (label, v) in enumerate(zip(labels, values)):
        x0, base = 40 + k * 95, SIZE[1] - 30
        draw.rectangle((x0, base - v * 1.4, x0 + 60, base), fill=(70, 110, 200))
        draw.text((x0 + 30, base + 14), label, fill=(0, 0, 0), font=_font(22), anchor="mm")
        draw.text((x0 + 30, base - v * 1.4 - 14), str(v), fill=(0, 0, 0), font=_font(22), anchor="mm")
    pick = rng.randrange(3)
    return (f"In the bar chart, what is the value of the bar labelled {labels[pick]}? Answer with a number.",
            str(values[pick]), "number", True)


def _arith(rng: random.Random, draw) -> tuple[str, str, str, bool]:
    a, b = rng.randint(2, 49), rng.randint(2, 49)
    draw.text((SIZE[0] // 2, SIZE[1] // 2), f"{a} + {b}", fill=(10, 10, 10), font=_font(60), anchor="mm")
    return "What is the value of the sum written in the image? Answer with a number.", str(a + b), "number", False


FAMILIES = (_read, _count, _chart, _arith)


def render(i: int) -> tuple[Path, str, str, str, bool, str]:
    """Item i: (image path, question, answer, answer type, answer printed in image, family)."""
    from PIL import Image, ImageDraw

    rng = random.Random(f"vision_synth/{VERSION}/{i}")
    family = FAMILIES[i % len(FAMILIES)]
    image = Image.new("RGB", SIZE, (250, 250, 245))
    question, answer, kind, printed = family(rng, ImageDraw.Draw(image))
    out = _cache() / f"{i:04d}.png"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".tmp{os.getpid()}.png")
        image.save(tmp)
        os.replace(tmp, out)
    return out, question, answer, kind, printed, family.__name__.lstrip("_")


def load(split: str) -> list[Task]:
    tasks = []
    for i in range(ITEMS):
        if (split == "test") != (i % 5 == 4):
            continue
        path, question, answer, kind, printed, family = render(i)
        tasks.append(Task(id=f"vision_synth/{i}", prompt=question, media={"image": str(path)}, reference=answer,
                          verifier={"type": "vision", "answer": answer, "answer_type": kind,
                                    "answer_in_image": printed},
                          meta={"source": "vision_synth", "category": family}))
    return tasks


register_dataset(
    DatasetInfo(
        name="vision_synth",
        description="300 Pillow-drawn images: read a word, count shapes, read a bar chart, add a written sum "
                    "(offline VQA with known answers; 240 train / 60 test)",
        kind="vision",
        splits=("train", "test"),
        loader=load,
        source="generated: Pillow drawings from a seeded generator",
    )
)
