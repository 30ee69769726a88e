"""Charts as inline SVG, drawn here.

Why not a charting library: the page must work offline and stay one file, and the charts are
three simple shapes (lines with interval whiskers, bars, stacked bars) over at most a few dozen
points. Rendering them in Python is ~100 lines, needs no vendored JavaScript, and the chart is
already drawn when the page opens (nothing to execute before it shows).
"""

from __future__ import annotations

from html import escape

W, H = 520, 240
PAD_L, PAD_R, PAD_T, PAD_B = 52, 16, 28, 44
COLORS = ("#2b6cb0", "#c05621", "#2f855a", "#805ad5", "#b83280", "#718096")


def _fmt(v: float, kind: str) -> str:
    if kind == "pct":
        return f"{100 * v:.0f}%" if abs(v) >= 0.1 or v == 0 else f"{100 * v:.1f}%"
    if kind == "s":
        return f"{v:.0f}s" if v >= 10 else f"{v:.1f}s"
    if kind == "int":
        return f"{v:,.0f}"
    return f"{v:.3g}"


def _frame(name: str, title: str, body: list[str], y_max: float, kind: str, labels: list[str]) -> str:
    ih = H - PAD_T - PAD_B
    out = [f'<svg class="chart" data-chart="{escape(name)}" viewBox="0 0 {W} {H}" role="img" '
           f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
           f'<text x="{PAD_L}" y="16" class="ct">{escape(title)}</text>']
    for i in range(5):
        v = y_max * i / 4
        y = PAD_T + ih - ih * i / 4
        out.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" class="ax" text-anchor="end">{_fmt(v, kind)}</text>')
    step = (W - PAD_L - PAD_R) / max(1, len(labels))
    every = max(1, len(labels) // 12)
    for i, lab in enumerate(labels):
        if i % every == 0:
            x = PAD_L + step * (i + 0.5)
            out.append(f'<text x="{x:.1f}" y="{H - PAD_B + 16}" class="ax" text-anchor="middle">{escape(lab)}</text>')
    return "\n".join(out + body + ["</svg>"])


def _y(v: float, y_max: float) -> float:
    ih = H - PAD_T - PAD_B
    return PAD_T + ih - ih * (v / y_max if y_max else 0)


def _legend(names: list[str]) -> list[str]:
    out, x = [], PAD_L
    for i, n in enumerate(names):
        out.append(f'<rect x="{x}" y="{H - 16}" width="10" height="10" fill="{COLORS[i % len(COLORS)]}"/>'
                   f'<text x="{x + 14}" y="{H - 7}" class="ax">{escape(n)}</text>')
        x += 24 + 7 * len(n)
    return out


def nice_max(v: float, kind: str) -> float:
    if kind == "pct":
        return 1.0 if v > 0.5 else max(0.05, min(1.0, round(v * 1.25 + 0.005, 2)))
    if kind == "int":
        return float(max(4, -(-int(v * 1.15) // 4) * 4))  # a multiple of 4: whole numbers on every grid line
    return v * 1.15 if v > 0 else 1.0


def line_chart(name: str, title: str, labels: list[str], series: dict[str, list[tuple | None]], kind: str) -> str:
    """series: name -> per-label (value, lo, hi) or None; lo/hi may be None (no whisker)."""
    top = max([p[2] if p[2] is not None else p[0] for s in series.values() for p in s if p] or [0])
    y_max = nice_max(top, kind)
    step = (W - PAD_L - PAD_R) / max(1, len(labels))
    body = []
    for si, (sname, pts) in enumerate(series.items()):
        color = COLORS[si % len(COLORS)]
        coords = [(PAD_L + step * (i + 0.5), p) for i, p in enumerate(pts) if p]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{_y(p[0], y_max):.1f}" for x, p in coords)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, (v, lo, hi) in coords:
            if lo is not None and hi is not None:
                body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_y(lo, y_max):.1f}" y2="{_y(hi, y_max):.1f}" '
                            f'stroke="{color}" stroke-width="1.5"/>')
            body.append(f'<circle cx="{x:.1f}" cy="{_y(v, y_max):.1f}" r="3.5" fill="{color}">'
                        f'<title>{escape(sname)}: {_fmt(v, kind)}</title></circle>')
    return _frame(name, title, body + _legend(list(series)), y_max, kind, labels)


def bar_chart(name: str, title: str, labels: list[str], values: list[float], kind: str) -> str:
    y_max = nice_max(max(values or [0]), kind)
    step = (W - PAD_L - PAD_R) / max(1, len(labels))
    body = []
    for i, v in enumerate(values):
        x, y = PAD_L + step * i + step * 0.15, _y(v, y_max)
        body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{_y(0, y_max) - y:.1f}" '
                    f'fill="{COLORS[0]}"><title>{escape(labels[i])}: {_fmt(v, kind)}</title></rect>')
    return _frame(name, title, body, y_max, kind, labels)


def stacked_bars(name: str, title: str, labels: list[str], stacks: dict[str, list[float]], kind: str = "s") -> str:
    totals = [sum(vals[i] for vals in stacks.values()) for i in range(len(labels))]
    y_max = nice_max(max(totals or [0]), kind)
    step = (W - PAD_L - PAD_R) / max(1, len(labels))
    body = []
    for i in range(len(labels)):
        base = 0.0
        for si, (sname, vals) in enumerate(stacks.items()):
            v = vals[i]
            y0, y1 = _y(base, y_max), _y(base + v, y_max)
            body.append(f'<rect x="{PAD_L + step * i + step * 0.2:.1f}" y="{y1:.1f}" width="{step * 0.6:.1f}" '
                        f'height="{max(0.0, y0 - y1):.1f}" fill="{COLORS[si % len(COLORS)]}">'
                        f'<title>{escape(labels[i])} {escape(sname)}: {_fmt(v, kind)}</title></rect>')
            base += v
    return _frame(name, title, body + _legend(list(stacks)), y_max, kind, labels)
