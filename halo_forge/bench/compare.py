"""`benchmark compare`: result files side by side (rich table) and an optional plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from halo_forge.errors import DataError


def load_results(paths: list[str]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for p in paths:
        try:
            data = json.loads(Path(p).read_text())
        except FileNotFoundError:
            raise DataError(f"result file not found: {p}") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{p}: not a JSON result file ({exc.msg} at line {exc.lineno})") from None
        if "pass_at_k" not in data:
            raise DataError(f"{p}: not a halo-forge benchmark result (no 'pass_at_k')")
        out.append((data.get("label") or Path(p).stem, data))
    return out


def comparison_table(results: list[tuple[str, dict[str, Any]]]):
    from rich.table import Table

    ks = sorted({k for _, r in results for k in r["pass_at_k"]}, key=int)
    t = Table(title="benchmark comparison")
    for col in ["run", "problems", "samples", *[f"pass@{k}" for k in ks], "compile rate", "errors"]:
        t.add_column(col)
    for name, r in results:
        row = [name, str(r.get("problems", "")), str(r.get("total", ""))]
        row += [f"{r['pass_at_k'][k]:.3f}" if k in r["pass_at_k"] else "—" for k in ks]
        row += [f"{r['compile_rate']:.3f}" if r.get("compile_rate") is not None else "—", str(r.get("errors", 0))]
        t.add_row(*row)
    return t


def plot(results: list[tuple[str, dict[str, Any]]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, _ in results]
    ks = sorted({k for _, r in results for k in r["pass_at_k"]}, key=int)
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(names)), 4))
    for k in ks:
        ax.plot(names, [r["pass_at_k"].get(k) for _, r in results], marker="o", label=f"pass@{k}")
    if any(r.get("compile_rate") is not None for _, r in results):
        ax.plot(names, [r.get("compile_rate") for _, r in results], marker="s", linestyle="--", label="compile rate")
    values = [v for _, r in results for v in [*r["pass_at_k"].values(), r.get("compile_rate")] if v is not None]
    ax.set_ylim(0, min(1.0, max(values, default=1.0) * 1.3) or 1.0)  # small scores stay readable
    for k in ks:
        for x, (_, r) in enumerate(results):
            v = r["pass_at_k"].get(k)
            if v is not None:
                ax.annotate(f"{v:.1%}", (x, v), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    ax.set_ylabel("score (held-out)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
