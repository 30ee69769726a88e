"""Hub datasets, loaded through the `datasets` library when the machine is online.

They keep the real loading path for users with internet; offline (HF_HUB_OFFLINE=1, or no
network) they fail with a one-line error instead of hanging or half-working. Each entry is a
hub id plus a pure row mapper (tested offline on rows of the documented shape).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable

from halo_forge.data.registry import DatasetInfo, register_dataset
from halo_forge.data.task import Task
from halo_forge.errors import DataError

MATH_SUBJECTS = ("algebra", "counting_and_probability", "geometry", "intermediate_algebra", "number_theory",
                 "prealgebra", "precalculus")


def codealpaca_row(i: int, row: dict) -> Task:
    prompt = row["instruction"] + (f"\n\n{row['input']}" if row.get("input") else "")
    return Task(id=f"codealpaca/{i}", prompt=prompt, reference=row["output"], verifier={"type": "none"},
                meta={"source": "codealpaca", "category": "code"})


def metamath_row(i: int, row: dict) -> Task:
    answer = row["response"].rsplit("The answer is:", 1)[-1].strip() if "The answer is:" in row["response"] else ""
    return Task(id=f"metamath/{i}", prompt=row["query"], reference=row["response"],
                verifier={"type": "math", "answer": answer} if answer else {"type": "none"},
                meta={"source": "metamath", "category": row.get("type", "math")})


def math_row(i: int, row: dict) -> Task:
    from halo_forge.data.answers import last_boxed

    answer = last_boxed(row["solution"]) or ""
    return Task(id=f"math/{i}", prompt=row["problem"] + "\nReason step by step and put your final answer within \\boxed{}.",
                reference=row["solution"], verifier={"type": "math", "answer": answer},
                meta={"source": "MATH", "category": row.get("type", "math"), "level": row.get("level")})


def xlam_row(i: int, row: dict) -> Task:
    """Salesforce xLAM: `tools` and `answers` are JSON strings; answers become BFCL-style ground truth."""
    tools = json.loads(row["tools"]) if isinstance(row["tools"], str) else row["tools"]
    answers = json.loads(row["answers"]) if isinstance(row["answers"], str) else row["answers"]
    truth = [{a["name"]: {k: [v] for k, v in (a.get("arguments") or {}).items()}} for a in answers]
    reference = "\n".join("<tool_call>\n" + json.dumps({"name": a["name"], "arguments": a.get("arguments") or {}})
                          + "\n</tool_call>" for a in answers)
    return Task(id=f"xlam/{i}", messages=[{"role": "user", "content": row["query"]}], reference=reference,
                verifier={"type": "toolcall", "tools": tools, "ground_truth": truth}, meta={"source": "xlam"})


def glaive_row(i: int, row: dict) -> Task:
    """glaive-function-calling-v2: a system text (with the functions) and a chat transcript; SFT data."""
    chat = row["chat"]
    user, _, rest = chat.partition("ASSISTANT:")
    reply = rest.split("USER:", 1)[0].replace("<|endoftext|>", "").strip()
    return Task(id=f"glaive/{i}", messages=[{"role": "system", "content": row["system"].replace("SYSTEM:", "").strip()},
                                            {"role": "user", "content": user.replace("USER:", "").strip()}],
                reference=reply, verifier={"type": "none"}, meta={"source": "glaive"})


@dataclass(frozen=True)
class HubSource:
    hub_id: str
    kind: str
    mapper: Callable[[int, dict], Task]
    configs: tuple[str, ...] = ()
    splits: tuple[str, ...] = ("train",)


HUB = {
    "codealpaca": HubSource("sahil2801/CodeAlpaca-20k", "code", codealpaca_row),
    "metamath": HubSource("meta-math/MetaMathQA", "reasoning", metamath_row),
    "math": HubSource("EleutherAI/hendrycks_math", "reasoning", math_row, MATH_SUBJECTS, ("train",)),
    "xlam": HubSource("Salesforce/xlam-function-calling-60k", "agentic", xlam_row),
    "glaive": HubSource("glaiveai/glaive-function-calling-v2", "agentic", glaive_row),
}


def _load_hub(name: str, split: str) -> list[Task]:
    src = HUB[name]
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        raise DataError(f"dataset '{name}' comes from the hub ({src.hub_id}) and HF_HUB_OFFLINE=1 is set")
    try:
        import datasets
    except ImportError:
        raise DataError(f"dataset '{name}' needs the 'datasets' package: pip install 'halo-forge[hub]'") from None
    try:
        parts = [datasets.load_dataset(src.hub_id, c, split=split) for c in src.configs] if src.configs \
            else [datasets.load_dataset(src.hub_id, split=split)]
    except Exception as exc:  # network errors come in many types; report the first line
        raise DataError(f"could not load '{src.hub_id}' from the hub: {str(exc).splitlines()[0]}") from None
    rows: list[dict[str, Any]] = [r for part in parts for r in part]
    return [src.mapper(i, r) for i, r in enumerate(rows)]


def register_hub(name: str, src: HubSource, sft_only: bool = False) -> None:
    HUB[name] = src
    register_dataset(
        DatasetInfo(
            name=name,
            description=f"{src.hub_id} (hub: needs network + `datasets`)",
            kind=src.kind,
            splits=src.splits,
            loader=lambda split, _n=name: _load_hub(_n, split),
            source=f"hub: {src.hub_id}",
            offline=False,
            sft_only=sft_only,
        )
    )


for _name, _src in list(HUB.items()):
    register_dataset(
        DatasetInfo(
            name=_name,
            description=f"{_src.hub_id} (hub: needs network + `datasets`)",
            kind=_src.kind,
            splits=_src.splits,
            loader=lambda split, _n=_name: _load_hub(_n, split),
            source=f"hub: {_src.hub_id}",
            offline=False,
            sft_only=_src.mapper in (codealpaca_row, glaive_row),
        )
    )
