"""Held-out score per stage for the code recipes (docs/results/code_stages.png).

    .venv/bin/python benchmarks/plot_code_stages.py

Reads the result JSONs in docs/results/code/; the two MBPP T=0.8 stages whose JSON did not come
back from the GPU machine (8 files a run) are taken from the run's printed output (see results.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

D = Path(__file__).resolve().parents[1] / "docs" / "results"
PRINTED = {"mbpp_t08_base": 0.050194552529182875, "mbpp_t08_sft": 0.05642023346303502}


def score(name: str, key: str) -> float | None:
    f = D / "code" / f"{name}.json"
    if not f.exists():
        return PRINTED.get(name)
    r = json.loads(f.read_text())
    return r["compile_rate"] if key == "compile" else r["pass_at_k"]["1"]


def main() -> None:
    stages = ["base", "sft", "raft_cycle_1", "raft_cycle_2"]
    series = {"MBPP test greedy pass@1": ("mbpp_greedy", "pass"), "MBPP test T=0.8 pass@1": ("mbpp_t08", "pass"),
              "C++ held-out compile rate": ("cpp", "compile")}
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, (prefix, key) in series.items():
        pts = [(i, score(f"{prefix}_{s}", key)) for i, s in enumerate(stages)]
        pts = [(i, v * 100) for i, v in pts if v is not None]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    ax.set_xticks(range(len(stages)), ["base", "SFT", "SFT+RAFT c1", "SFT+RAFT c2"])
    ax.set_ylabel("% (held-out)")
    ax.set_title("SmolLM2-135M-Instruct, code recipes (H100)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(D / "code_stages.png", dpi=120)


if __name__ == "__main__":
    main()
