"""`halo-forge report`: one self-contained HTML file for a RAFT run, a benchmark result, or a
paired comparison of several results — curves, histograms, phase timing, and a sample browser
that reads offline (no network, no server)."""

from __future__ import annotations

from pathlib import Path

from halo_forge.report.collect import MAX_EMBEDDED_SAMPLES, load_inputs

__all__ = ["write_report", "default_output"]


def default_output(inputs: list[str]) -> Path:
    """report.html inside a run folder; A.report.html beside a single result; else ./report.html."""
    first = Path(inputs[0])
    if first.is_dir():
        return first / "report.html"
    if len(inputs) == 1:
        return first.with_name(first.name[:-5] + ".report.html" if first.name.endswith(".json") else first.name + ".html")
    return Path("report.html")


def write_report(inputs: list[str], output: str | Path | None = None, budget: int = MAX_EMBEDDED_SAMPLES) -> Path:
    from halo_forge.data.jsonl import write_text_atomic
    from halo_forge.report.page import render

    data = load_inputs(inputs, budget)
    out = Path(output) if output else default_output(inputs)
    write_text_atomic(out, render(data))
    return out
