"""The precision/recall-vs-threshold chart: one self-contained, offline HTML file.

Drawn like the quality report (scv.report): the same page template, inline SVG, no
scripts, no request when opened. It shows counts and scores only, never a record.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from string import Template

from scv.curves import Curve, CurvePoint, compact, format_threshold
from scv.report import BAR, _e, _svg

SERIES = (("precision", BAR), ("recall", "#c2410c"), ("f1", "#1a7f37"))  # CurvePoint fields
W, H, LEFT, RIGHT, TOP, BOTTOM = 600, 250, 40, 590, 10, 220  # the plot area inside the chart
CONFIGURED, BEST = "#5c6670", "#6f42c1"


def write_chart(curve: Curve, path: str | Path, title: str = "Precision and recall against threshold") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(curve, title), encoding="utf-8")
    return path


def render(curve: Curve, title: str = "Precision and recall against threshold") -> str:
    best, conf = curve.best, curve.configured
    cards = [("best F1", f"{best.f1:.3f} at {format_threshold(best.threshold)}"),
             ("configured", f"{conf.f1:.3f} at {format_threshold(conf.threshold)}"),
             ("true pairs", f"{curve.true_pairs:,}"),
             ("never scored", f"{curve.true_pairs_unscored:,}")]
    key = "".join(f'<span style="background:{c}"></span>{n.replace("f1", "F1")}' for n, c in SERIES)
    key += (f'<span style="background:{CONFIGURED}"></span>configured threshold'
            f'<span style="background:{BEST}"></span>best F1')
    weights = [c for c in curve.by_weight if c.match_weight is not None]
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">Judged by the {_e(curve.judged_by)} · scored pairs in silver/pairs, '
        "before clustering · recall counts the true pairs never scored as misses</p>",
        '<div class="cards">' + "".join(
            f"<div class=card><span>{k}</span><b>{_e(v)}</b></div>" for k, v in cards) + "</div>",
        f"<p>Recommended <code>linkage.threshold</code>: "
        f"<b>{format_threshold(curve.recommended_threshold)}</b> (configured {format_threshold(conf.threshold)}"
        "; the configured one is kept when it does as well as the best).</p>",
        '<h2 class="first">By match probability</h2>',
        _chart(curve.by_probability, "threshold", 0.0, 1.0, [i / 5 for i in range(6)], curve),
        f'<p class="key muted">{key}</p>',
        '<h2 class="first">By match weight</h2>',
        _chart(weights, "match_weight", weights[0].match_weight, weights[-1].match_weight,
               _weight_ticks(weights), curve),
        f'<p class="key muted">{key}</p>',
        '<h2 class="first">Table</h2>', _table(curve),
    ]
    template = Template((files("scv") / "templates" / "report.html").read_text("utf-8"))
    return template.substitute(title=_e(title), body="\n".join(body))


def _chart(points: list[CurvePoint], x_field: str, low: float, high: float, ticks: list[float],
           curve: Curve) -> str:
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return LEFT + (RIGHT - LEFT) * (value - low) / span

    def y(value: float) -> float:
        return BOTTOM - (BOTTOM - TOP) * value

    parts = []
    for v in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{LEFT}" x2="{RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#d8dee4"/>'
                     f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end" '
                     f'fill="#5c6670">{v:g}</text>')
    for t in ticks:
        parts.append(f'<text x="{x(t):.1f}" y="{BOTTOM + 16}" font-size="11" text-anchor="middle" '
                     f'fill="#5c6670">{t:g}</text>')
    for point, colour, name in ((curve.configured, CONFIGURED, "configured"), (curve.best, BEST, "best F1")):
        at = getattr(point, x_field)
        if at is not None and low <= at <= high:
            parts.append(f'<line x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{TOP}" y2="{BOTTOM}" '
                         f'stroke="{colour}" stroke-dasharray="4 3"><title>{name} '
                         f"{format_threshold(point.threshold)}: F1 {point.f1:.3f}</title></line>")
    for name, colour in SERIES:
        line = " ".join(f"{x(getattr(p, x_field)):.1f},{y(getattr(p, name)):.1f}" for p in points)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2">'
                     f"<title>{name}</title></polyline>")
    label = "match probability" if x_field == "threshold" else "match weight"
    parts.append(f'<text x="{(LEFT + RIGHT) / 2}" y="{H - 2}" font-size="11" text-anchor="middle" '
                 f'fill="#5c6670">{label} threshold</text>')
    return _svg(W, H, f"precision, recall and F1 against {label}", "".join(parts))


def _weight_ticks(points: list[CurvePoint]) -> list[float]:
    low, high = points[0].match_weight, points[-1].match_weight
    step = next(s for s in (1, 2, 5, 10, 20, 50) if (high - low) / s <= 10)
    return [float(w) for w in range(int(low), int(high) + 1) if w % step == 0]


def _table(curve: Curve) -> str:
    head = ("<tr><th>threshold</th><th class=num>match weight</th><th class=num>pairs at or above</th>"
            "<th class=num>true</th><th class=num>precision</th><th class=num>recall</th>"
            "<th class=num>F1</th><th></th></tr>")
    rows = [f"<tr><td>{format_threshold(p.threshold, 10)}</td>"
            f'<td class=num>{"—" if p.match_weight is None else f"{p.match_weight:.2f}"}</td>'
            f"<td class=num>{p.predicted_pairs:,}</td><td class=num>{p.true_positive_pairs:,}</td>"
            f"<td class=num>{p.precision:.4f}</td><td class=num>{p.recall:.4f}</td>"
            f"<td class=num>{p.f1:.4f}</td><td>{_e(note)}</td></tr>" for p, note in compact(curve)]
    return f"<table>{head}{''.join(rows)}</table>"
