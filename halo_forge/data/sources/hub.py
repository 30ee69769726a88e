"""Hub datasets, loaded through the `datasets` library when the machine is online.

They keep the real loading path for users with internet; offline (HF_HUB_OFFLINE=1, or no
network) they fail with a one-line error instead of hanging or half-working.
"""

from __future__ import annotations

import os

from halo_forge.data.registry import DatasetInfo, register_dataset
from halo_forge.data.task import Task
from halo_forge.errors import DataError

HUB_IDS = {
    "codealpaca": ("sahil2801/CodeAlpaca-20k", "instruction", "output"),
    "metamath": ("meta-math/MetaMathQA", "query", "response"),
}


def _load_hub(name: str, split: str) -> list[Task]:
    hub_id, q_key, a_key = HUB_IDS[name]
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        raise DataError(f"dataset '{name}' comes from the hub ({hub_id}) and HF_HUB_OFFLINE=1 is set")
    try:
        import datasets
    except ImportError:
        raise DataError(f"dataset '{name}' needs the 'datasets' package: pip install 'halo-forge[hub]'") from None
    try:
        ds = datasets.load_dataset(hub_id, split=split)
    except Exception as exc:  # network errors come in many types; report the first line
        raise DataError(f"could not load '{hub_id}' from the hub: {str(exc).splitlines()[0]}") from None
    return [
        Task(id=f"{name}/{i}", prompt=row[q_key], reference=row[a_key], verifier={"type": "none"},
             meta={"source": name})
        for i, row in enumerate(ds)
    ]


for _name, (_hub, _, _) in HUB_IDS.items():
    register_dataset(
        DatasetInfo(
            name=_name,
            description=f"{_hub} (hub, needs network + `datasets`; SFT data)",
            kind="code" if _name == "codealpaca" else "reasoning",
            splits=("train",),
            loader=lambda split, _n=_name: _load_hub(_n, split),
            source=f"hub: {_hub}",
            offline=False,
            sft_only=True,
        )
    )
