"""Held-out pass@1 per RAFT stage and seed, with the compute-matched control beside the last stage.

    .venv/bin/python benchmarks/plot_heldout_seeds.py ARMS_DIR OUT.png "title"

ARMS_DIR holds one folder per arm (`start`, `raft_cycle_N`…, `control`), each with one result JSON
per seed (`seed_S.json`), as `benchmark compare DIR DIR…` reads them; the points are the JSONs'
pass@1, the bars their 95% intervals.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_arm(d: Path) -> dict[str, tuple[float, float, float]]:
    out = {}
    for f in sorted(d.glob("seed_*.json")):
        r = json.loads(f.read_text())
        lo, hi = r["pass_at_1_ci95"]
        out[f.stem] = (100 * r["pass_at_k"]["1"], 100 * lo, 100 * hi)
    return out


def main(arms_dir: str, png: str, title: str) -> None:
    root = Path(arms_dir)
    stages = ["start"] + sorted((p.name for p in root.glob("raft_cycle_*")), key=lambda n: int(n.rsplit("_", 1)[1]))
    data = {s: read_arm(root / s) for s in stages}
    control = read_arm(root / "control") if (root / "control").is_dir() else {}
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, seed in enumerate(sorted(data["start"])):
        ys = [data[s][seed][0] for s in stages]
        ax.plot(range(len(stages)), ys, marker="o", alpha=0.8, label=f"RAFT {seed}", color=f"C{i}")
        if seed in control:
            v, lo, hi = control[seed]
            ax.errorbar(len(stages) - 1 + 0.15 + 0.05 * i, v, yerr=[[v - lo], [hi - v]], fmt="s", color=f"C{i}",
                        capsize=3, label=f"SFT control {seed}")
    ax.set_xticks(range(len(stages)), ["start"] + [s.replace("raft_cycle_", "cycle ") for s in stages[1:]])
    ax.set_ylabel("held-out pass@1 (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(png, dpi=120)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: plot_heldout_seeds.py ARMS_DIR OUT.png TITLE")
    main(*sys.argv[1:])
