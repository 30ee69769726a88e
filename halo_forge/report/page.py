"""Assemble the report's one HTML file: header, charts (inline SVG), the paired comparison, and
the sample browser (a small script over samples embedded as JSON).

Model output is untrusted text: it reaches the page only inside a JSON script block (with `<`
escaped, so a completion containing `</script>` cannot end it) and is put on screen with
`textContent`, never parsed as HTML.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from importlib import resources
from typing import Any

from halo_forge.report import svg
from halo_forge.report.collect import ReportData, Section

PROVENANCE_KEYS = ("halo_forge_version", "git_commit", "git_dirty", "engine", "dtype", "device_name", "isolation",
                   "verifier", "verifier_version", "dataset", "dataset_version", "split", "data_sha256", "tasks",
                   "seed", "started", "finished")
HIST_BINS = 10


def _asset(name: str) -> str:
    return resources.files("halo_forge.report").joinpath("assets", name).read_text(encoding="utf-8")


def _task_ci(sec: Section, value) -> tuple[float, float, float] | None:
    from halo_forge.bench.pass_at_k import bootstrap_ci

    per_task = [value(sec, tid) for tid in sec.per_task]
    per_task = [v for v in per_task if v is not None]
    if not per_task:
        return None
    lo, hi = bootstrap_ci(per_task, iters=500)
    return sum(per_task) / len(per_task), lo, hi


def _pass_frac(sec: Section, tid: str) -> float:
    flags = sec.per_task_passed[tid]
    return sum(flags) / len(flags)


def _mean_reward(sec: Section, tid: str) -> float | None:
    vals = [r for r in sec.per_task[tid] if r is not None]
    return sum(vals) / len(vals) if vals else None


def _histogram(sec: Section) -> list[int]:
    counts = Counter(min(HIST_BINS - 1, int(float(r) * HIST_BINS)) for rs in sec.per_task.values() for r in rs
                     if r is not None)
    return [counts.get(i, 0) for i in range(HIST_BINS)]


def _heldout(sec: Section) -> tuple | None:
    h = sec.metrics.get("heldout")
    if not isinstance(h, dict) or "pass_rate" not in h:
        return None
    lo, hi = h.get("pass_at_1_ci95") or (None, None)
    return h.get("pass_at_k", {}).get("1", h["pass_rate"]), lo, hi


def raft_charts(data: ReportData) -> list[str]:
    secs = data.sections
    labels = [s.label.replace("cycle ", "c") for s in secs]
    quality = {"train pass rate": [_task_ci(s, _pass_frac) for s in secs]}
    if any(_heldout(s) for s in secs):
        quality["held-out pass@1"] = [_heldout(s) for s in secs]
    charts = [svg.line_chart("pass-rate", "pass rate per cycle (95% CI over tasks)", labels, quality, "pct"),
              svg.line_chart("reward", "mean reward per cycle (95% CI over tasks)", labels,
                             {"mean reward": [_task_ci(s, _mean_reward) for s in secs]}, "num"),
              svg.bar_chart("kept", "samples kept for training", labels,
                            [float(s.metrics.get("kept", 0)) for s in secs], "int")]
    timing = {k: [float((s.metrics.get("timing") or {}).get(f"{k}_s", 0.0)) for s in secs]
              for k in ("generate", "verify", "train")}
    charts.append(svg.stacked_bars("timing", "time per phase (verify = tail after generation)", labels, timing))
    charts.append(svg.line_chart("throughput", "tokens/s", labels, {
        "generation": [(float(s.metrics.get("gen_tokens_per_s", 0)), None, None) for s in secs],
        "training": [(float(s.metrics.get("train_tokens_per_s", 0)), None, None) for s in secs]}, "num"))
    return charts


def bench_charts(data: ReportData) -> list[str]:
    secs = data.sections
    labels = [s.label for s in secs]
    ks = sorted({int(k) for s in secs for k in s.metrics.get("pass_at_k", {})})
    ci = {s.label: s.metrics.get("pass_at_1_ci95") or (None, None) for s in secs}
    charts = [svg.line_chart("pass-at-1", "pass@1 per run (95% CI over tasks)", labels, {"pass@1": [
        (float(s.metrics["pass_at_k"]["1"]), *ci[s.label]) if "1" in s.metrics.get("pass_at_k", {}) else None
        for s in secs]}, "pct")]
    if len(ks) > 1:
        series = {s.label: [(float(s.metrics["pass_at_k"][str(k)]), None, None) if str(k) in s.metrics["pass_at_k"]
                            else None for k in ks] for s in secs}
        charts.append(svg.line_chart("pass-at-k", "pass@k per run", [f"pass@{k}" for k in ks], series, "pct"))
    charts.append(svg.stacked_bars("timing", "time per phase", labels, {
        "generate": [float((s.metrics.get("timing") or {}).get("generation_time", 0.0)) for s in secs],
        "verify": [float((s.metrics.get("timing") or {}).get("verification_time", 0.0)) for s in secs]}))
    return charts


def runs_html(data: ReportData) -> str:
    """For benchmarks: one row per result, so differing models, seeds or commits are visible."""
    if data.kind == "raft":
        return ""
    cols = ("model", "engine", "dtype", "device_name", "verifier", "verifier_version", "seed", "git_commit")
    rows = []
    for s in data.sections:
        prov = s.metrics.get("provenance") or {}
        cfg = s.metrics.get("config") or {}
        vals = [cfg.get("model") if c == "model" else prov.get(c) for c in cols]
        vals[-1] = str(vals[-1] or "")[:10]
        rows.append("<tr>" + "".join(f"<td>{escape(str(v if v is not None else '—'))}</td>"
                                     for v in (s.label, *vals)) + "</tr>")
    head = "".join(f"<th>{c}</th>" for c in ("run", *cols))
    return (f'<section id="runs"><h2>runs</h2><table class="grid"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def histograms(data: ReportData) -> list[str]:
    bins = [f"{i / HIST_BINS:.1f}" for i in range(HIST_BINS)]
    return [svg.bar_chart(f"hist-{i}", f"reward histogram — {s.label}", bins, [float(c) for c in _histogram(s)],
                          "int") for i, s in enumerate(data.sections)]


def _kv_table(rows: dict[str, Any], cls: str) -> str:
    cells = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in rows.items()
                    if v not in (None, "", {}))
    return f'<table class="{cls}">{cells}</table>'


def header_html(data: ReportData) -> str:
    h = data.header
    prov = h.get("provenance", {})
    basics = {k: h.get(k) for k in ("status", "model", "task", "dataset", "split")}
    basics.update({k: prov.get(k) for k in ("isolation", "engine", "device_name")})
    basics["samples"] = f"{data.total_samples:,}"
    prov = {k: prov.get(k) for k in PROVENANCE_KEYS}
    hw = h.get("hardware") or {}
    return (f'<section id="header"><h1>{escape(data.title)}</h1>{_kv_table(basics, "kv")}'
            f'<details><summary>provenance (commit, versions, data hash)</summary>{_kv_table(prov, "kv prov")}</details>'
            + (f'<details><summary>hardware</summary>{_kv_table(hw, "kv")}</details>' if hw else "")
            + "<p class=src>from " + ", ".join(escape(s) for s in data.sources) + "</p></section>")


def _p(p: float) -> str:
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def comparison_html(comp: dict[str, Any] | None) -> str:
    if not comp:
        return ""
    rows = []
    for pair in comp["pairs"]:
        mc = pair.get("mcnemar")
        for metric, m in pair["metrics"].items():
            lo, hi = m["ci95"]
            rows.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in (
                pair["run"], pair["baseline"], metric, f"{100 * m['baseline']:.1f}%", f"{100 * m['run']:.1f}%",
                f"{100 * m['delta']:+.1f} pts", f"[{100 * lo:+.1f}, {100 * hi:+.1f}]", _p(m["p_permutation"]),
                f"{mc['gained']}/{mc['lost']}, p={mc['p']:.4g}" if mc and metric == "pass@1" else "—")) + "</tr>")
    head = "".join(f"<th>{c}</th>" for c in ("run", "vs", "metric", "baseline", "run value", "Δ",
                                               "95% CI (paired bootstrap)", "p (sign-flip)", "McNemar gained/lost"))
    notes = "".join(f"<p class=warn>{escape(w)}</p>" for w in [comp.get("note")] + comp.get("warnings", []) if w)
    return (f'<section id="comparison"><h2>paired comparison on {comp["tasks"]} shared tasks</h2>{notes}'
            f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></section>')


def _json_block(element_id: str, value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def render(data: ReportData) -> str:
    charts = raft_charts(data) if data.kind == "raft" else bench_charts(data)
    embedded = len(data.samples)
    note = "" if embedded == data.total_samples else (
        f"<p class=warn id=sample-note>{embedded:,} of {data.total_samples:,} samples are embedded (every sample of "
        f"a stable subset of tasks, in every {'cycle' if data.kind == 'raft' else 'run'}); all of them are in the "
        f"samples files next to the sources.</p>")
    group_word = "cycle" if data.kind == "raft" else "run"
    body = (header_html(data) + runs_html(data) + comparison_html(data.comparison)
            + '<section id="charts"><h2>curves</h2><div class="charts">' + "".join(charts) + "</div>"
            + '<h2>reward histograms</h2><div class="charts small">' + "".join(histograms(data)) + "</div></section>"
            + f'<section id="browser" data-group-word="{group_word}"><h2>samples</h2>{note}'
            + _asset("browser.html") + "</section>")
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<title>{escape(data.title)}</title><style>{_asset('report.css')}</style></head><body>"
            + body + _json_block("samples-data", data.samples) + _json_block("prompts-data", data.prompts)
            + f"<script>{_asset('browser.js')}</script></body></html>")
