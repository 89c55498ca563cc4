"""The data quality report of a run: one self-contained HTML file beside the tables.

Built from the audit tables (runs, profiles, validation results), so it can be made again
for any past run, and shows no value the audit tables do not already hold; its linkage
section (`scv.report_linkage`) adds the run's model, and its pairs and clusters while the
tables still hold them, with personal values as shapes. It makes no request when opened
(inline CSS, SVG charts, no scripts): it reads the same offline, in a mail attachment or
printed. Every value is escaped, since source data can hold anything.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta
from html import escape
from importlib.resources import files
from string import Template

import pyarrow.dataset as ds

from scv.errors import ScvError
from scv.lakehouse import Lakehouse

SEVERITIES = ("critical", "error", "quarantine", "warn", "warning", "info")  # display order
TOP = 5  # rows in each top values / patterns list
BAR, TRACK = "#3b6fb6", "#eef1f4"
PASS, FAIL = '<span class="badge ok">pass</span>', '<span class="badge bad">FAIL</span>'
PROFILE_COLUMNS = "<colgroup>" + "".join(
    f'<col style="width:{w}%">' for w in (13, 13, 9, 14, 13, 19, 19)) + "</colgroup>"
VIEWER = "comparison_viewer.html"  # Splink's comparison viewer of the run's sample of pairs
LEDGER = (("passed", "#1a7f37"), ("quarantined", "#9a6700"), ("suppressed", "#8c959f"))


def write_report(lakehouse: Lakehouse, run_id: str) -> str:
    """Write reports/<run>/quality.html and reports/latest/quality.html; return the first.

    Beside each goes Splink's comparison viewer of the run's sample of pairs, when there is
    one; a viewer left from an earlier drawing is replaced by a page that says it is gone.
    """
    html, viewer = _build(lakehouse, run_id)
    path = ""
    for folder in (f"reports/{run_id}", "reports/latest"):
        written = lakehouse.write_file(f"{folder}/quality.html", html.encode("utf-8"), "text/html")
        path = path or written
        if viewer is not None or f"{folder}/{VIEWER}" in lakehouse.files(folder):
            page = viewer or _page("Comparison viewer", '<p class="muted">This run has no sample of pairs '
                                   "to view (any longer).</p>")
            lakehouse.write_file(f"{folder}/{VIEWER}", page.encode("utf-8"), "text/html")
    return path


def render(lakehouse: Lakehouse, run_id: str) -> str:
    """The report's HTML; only the run's own row in audit/runs is required."""
    return _build(lakehouse, run_id)[0]


def _build(lakehouse: Lakehouse, run_id: str) -> tuple[str, str | None]:
    """The report's HTML and the comparison viewer's, if the run has a sample of pairs."""
    runs = _rows(lakehouse, "audit/runs", run_id)
    if not runs:
        raise ScvError(f"run {run_id} is not in audit/runs; `scv status` shows the last run")
    run = runs[-1]
    cards, linkage, viewer = _linkage(lakehouse, run)
    profiles = _rows(lakehouse, "audit/profiles", run_id)
    checks = _rows(lakehouse, "audit/validation_results", run_id)
    per_source = _json(run["per_source"], {})
    outputs = sorted({c["source"] for c in checks or () if _is_output(c)})
    names = sorted((set(per_source) | {p["source"] for p in profiles or ()}
                    | {c["source"] for c in checks or ()}) - set(outputs))
    body = [_summary(run, checks, names, cards, bool(linkage))]
    for i, name in enumerate(names, 1):
        failed = sum(not c["success"] for c in checks or () if c["source"] == name)
        flag = f' <span class="badge bad">{failed} failed</span>' if failed else ""
        body += [f'<h2 id="source-{i}">Source {_e(name)}{flag}</h2>',
                 _ledger(per_source.get(name, {})),
                 "<h3>Expectations</h3>",
                 _checks([c for c in checks or () if c["source"] == name], checks is None),
                 "<h3>Column profile</h3>",
                 _profile([p for p in profiles or () if p["source"] == name], profiles is None)]
    body.append(linkage)
    body.append('<h2 id="output">Output checks (gold)</h2>')
    for name in outputs:
        body += [f"<h3>{_e(name)}</h3>" if name != "gold" else "",
                 _checks([c for c in checks if c["source"] == name], False)]
    if not outputs:
        body.append(_checks([], checks is None))
    return _page(f"Data quality · run {run_id}", "\n".join(body)), viewer


def _linkage(lakehouse: Lakehouse, run: dict) -> tuple[list[tuple[str, str]], str, str | None]:
    """The linkage section's summary cards, its HTML and the viewer page ("" and None when the run
    did not link). Drawing it fails no report: the rest stands with a note of what went wrong."""
    from scv import report_linkage

    try:
        every = lakehouse.read("audit/runs").to_table(columns=["run_id", "started_at", "stage_seconds"])
        link = report_linkage.load(lakehouse, run, every.to_pylist())
        if link is None:
            return [], "", None
        viewer = link.sample.viewer if link.sample else None
        return report_linkage.cards(link, run), report_linkage.section(link), viewer
    except Exception as err:  # noqa: BLE001 - the quality half of the report is still worth having
        return [], ('<h2 id="linkage">Linkage</h2><p class="error">The linkage section could not be drawn '
                    f"({_e(type(err).__name__)}).</p>"), None


def _page(title: str, body: str) -> str:
    template = Template((files("scv") / "templates" / "report.html").read_text("utf-8"))
    return template.substitute(title=_e(title), body=body)


def _is_output(check: dict) -> bool:
    """The checks on gold before it is published, as opposed to a source's expectations."""
    return check["origin"] == "output" or check["source"].split("/")[0] == "gold"


def _rows(lakehouse: Lakehouse, table: str, run_id: str) -> list[dict] | None:
    """The run's rows, or None when the table is not there (older lakehouse, early failure)."""
    if not lakehouse.exists(table):
        return None
    return lakehouse.read(table).to_table(filter=ds.field("run_id") == run_id).to_pylist()


def _json(text: str | None, default):
    return default if text in (None, "") else json.loads(text)


def _text(value) -> str:
    """Strings as they are (a regex stays readable), anything else as JSON."""
    return value if isinstance(value, str) else "" if value is None else json.dumps(value)


def _e(value) -> str:
    return escape(str(value), quote=True)


def _n(value) -> str:
    return "—" if value is None else f"{value:,}"


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 or x == int(x) else f"{x:.3g}"


def _pct(share: float | None, digits: int = 1) -> str:
    return "—" if share is None else f"{share * 100:.{digits}f}%"


def _summary(run: dict, checks: list[dict] | None, names: list[str], linkage: list[tuple[str, str]],
             linked: bool) -> str:
    ok = run["status"] == "succeeded"
    failed = Counter(c["severity"] or "unset" for c in checks or () if not c["success"])
    order = sorted(failed, key=lambda s: (SEVERITIES + (s,)).index(s))
    by_severity = ", ".join(f"{failed[s]} {_e(s)}" for s in order) or "none"
    stages = " · ".join(f"{_e(k)} {v:.1f} s" for k, v in _json(run["stage_seconds"], {}).items())
    cards = [
        ("status", f'<span class="badge {"ok" if ok else "bad"}">{_e(run["status"])}</span>'),
        ("engine", _e(run["engine"])), ("records read", _n(run["records_ingested"])),
        ("quarantined", _n(run["records_quarantined"])), ("in silver", _n(run["records_silver"])),
        ("customers", _n(run["customers"])), *linkage,
        ("failed expectations", "not recorded" if checks is None
         else f'<span class="{"fails" if failed else ""}">{by_severity}</span>'),
    ]
    verdict = _json(run.get("linkage"), {}).get("verdict")  # the report leads with it
    parts = [
        "<h1>Data quality report</h1>",
        *([f'<p class="error verdict"><b>{_e(verdict)}</b></p>'] if verdict else []),
        f'<p class="sub">Run <code>{_e(run["run_id"])}</code> · started {_time(run["started_at"])}'
        f' · finished {_time(run["finished_at"])} · {_n(run["seconds"])} s</p>',
        '<div class="cards">' + "".join(
            f"<div class=card><span>{k}</span><b>{v}</b></div>" for k, v in cards) + "</div>",
    ]
    if stages:
        parts.append(f'<p class="muted">Stages: {stages}</p>')
    if not ok:
        parts.append(f'<p class="error">Stage <b>{_e(run["failed_stage"] or "?")}</b> failed: '
                     f'{_e(run["error"] or "no cause recorded")}</p>')
    warnings = _json(run["warnings"], [])
    parts.append(f'<h2 class="first">Warnings ({len(warnings)})</h2>')
    parts.append('<ul class="warnings">' + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>"
                 if warnings else '<p class="muted">The run raised no warnings.</p>')
    links = [f'<a href="#source-{i}">{_e(n)}</a>' for i, n in enumerate(names, 1)]
    links += ['<a href="#linkage">linkage</a>'] if linked else []
    parts.append("<nav>Sources: " + "".join(links) + '<a href="#output">output checks</a></nav>')
    return "\n".join(parts)


def _time(value) -> str:
    return "—" if value is None else _e(value.strftime("%Y-%m-%d %H:%M:%S %Z").strip())


def _ledger(counts: dict) -> str:
    """read = passed + quarantined + suppressed: a row that is in none of them was lost."""
    read, passed = counts.get("ingested"), counts.get("silver")
    quarantined, suppressed = counts.get("quarantined", 0), counts.get("suppressed", 0)
    if read is None or passed is None:
        verdict = '<span class="badge warn">incomplete: the run stopped before silver</span>'
    elif read == passed + quarantined + suppressed:
        verdict = '<span class="badge ok">adds up</span>'
    else:
        gap = read - passed - quarantined - suppressed
        verdict = f'<span class="badge bad">does not add up: {gap:+,} rows unaccounted</span>'
    sizes = (passed or 0, quarantined, suppressed)
    parts = [(label, n, colour) for (label, colour), n in zip(LEDGER, sizes)]
    total, x, bar = max(read or 0, sum(sizes), 1), 0.0, []
    for label, n, colour in parts:
        w = max(240 * n / total, 2) if n else 0  # a handful of rows stays visible
        bar.append(f'<rect x="{x:.1f}" width="{w:.1f}" height="14" fill="{colour}">'
                   f"<title>{label} {n:,}</title></rect>")
        x += w
    track = f'<rect width="240" height="14" fill="{TRACK}"/>'
    svg = _svg(240, 14, "row ledger", track + "".join(bar))
    key = "".join(f'<span style="background:{c}"></span>{l}' for l, _, c in parts)
    equation = (f"read <b>{_n(read)}</b> = passed <b>{_n(passed)}</b> + quarantined "
                f"<b>{_n(quarantined)}</b> + suppressed <b>{_n(suppressed)}</b>")
    if "unmatched_events" in counts:  # an events source: passed rows are its events in silver/events
        equation += (f"; of the events passed, <b>{_n(counts['unmatched_events'])}</b> belong to no "
                     "known record (kept in silver/events, in no customer's metrics)")
    return (f'<div class="ledger"><span class="eq">{equation}</span>{verdict}{svg}'
            f'<span class="key muted">{key}</span></div>')


def _checks(rows: list[dict], missing: bool) -> str:
    if missing:
        return ('<p class="note">No validation results: audit/validation_results is not in this '
                "lakehouse (made by an older scv, or the run stopped before validation).</p>")
    if not rows:
        return '<p class="muted">No expectations were checked for this run.</p>'
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows = sorted(rows, key=lambda r: (r["success"], rank.get(r["severity"], 9)))
    head = ("<tr><th>result</th><th>severity</th><th>expectation</th><th>observed</th>"
            '<th class="num">unexpected</th><th class="num">%</th><th>sample (masked)</th></tr>')
    body = []
    for r in rows:
        kwargs = {k: v for k, v in _json(r["kwargs"], {}).items() if k != "column"}
        notes = [f'<span class="mono">{_e(", ".join(f"{k}={_text(v)}" for k, v in kwargs.items()))}'
                 "</span>"] if kwargs else []
        notes.append(_e(" · ".join(filter(None, (r["origin"], r["suite"])))))
        column = f" on <b>{_e(r['column'])}</b>" if r["column"] else ""
        sample = "".join(f"<code class=chip>{_e(_text(s))}</code>"
                         for s in _json(r["unexpected_sample"], []))
        pct = "—" if r["unexpected_percent"] is None else f'{r["unexpected_percent"]:.2f}%'
        body.append(
            f'<tr class="{"passed" if r["success"] else "failed"}">'
            f'<td>{PASS if r["success"] else FAIL}</td><td>{_e(r["severity"] or "")}</td>'
            f'<td class="wrap"><code>{_e(r["expectation"])}</code>{column}'
            f'<br><span class="muted">{"<br>".join(notes)}</span></td>'
            f'<td class="wrap">{_e(_text(r["observed_value"]))}</td>'
            f'<td class="num">{_n(r["unexpected_count"])} / {_n(r["element_count"])}</td>'
            f'<td class="num">{pct}</td><td class="wrap">{sample}</td></tr>')
    return f"<table>{head}{''.join(body)}</table>"


def _profile(rows: list[dict], missing: bool) -> str:
    if missing:
        return ('<p class="note">No column profile: audit/profiles is not in this lakehouse '
                "(made by an older scv, or the run stopped before profiling).</p>")
    if not rows:
        return '<p class="muted">No column profile was recorded for this source.</p>'
    head = (PROFILE_COLUMNS + "<tr><th>column</th><th>completeness</th><th class=num>distinct"
            "</th><th>values</th><th>distribution</th><th>top values</th><th>patterns</th></tr>")
    body = []
    for p in rows:
        pii = ' <span class="badge pii">personal</span>' if p["personal"] else ""
        field = p["canonical_field"]
        field = f'<br><span class="muted">→ {_e(field)}</span>' if field else ""
        tops = [(t["value"], t["count"], t.get("share", t["count"] / (p["non_null"] or 1)))
                for t in _json(p["top_values"], [])]
        patterns = [(t["pattern"], t["count"], t.get("share")) for t in _json(p["patterns"], [])]
        body.append(
            f'<tr><td class="wrap"><b>{_e(p["column"])}</b>{pii}'
            f'<br><span class="muted">{_e(p["data_type"])}</span>{field}</td>'
            f'<td>{_bar(p["completeness"])}<span class="stats">{_pct(p["completeness"])}<br>'
            f' <span>{_n(p["non_null"])} of {_n(p["row_count"])}</span></span></td>'
            f'<td class="num">{_n(p["distinct_count"])}<br><span class="muted">'
            f'{_pct(p["uniqueness"])} unique</span></td>'
            f"<td>{_stats(p)}</td><td>{_histogram(p)}</td>"
            f"<td>{_bar_list(tops, masked=p['personal'])}</td><td>{_bar_list(patterns)}</td></tr>")
    return f"<table class=profile>{head}{''.join(body)}</table>"


def _stats(p: dict) -> str:
    if p["personal"]:
        values = [("values", '<span class="masked">(masked)</span>')]
    else:
        values = [(k, _e(p[k])) for k in ("min", "median", "mean", "max") if p[k] is not None]
        if p["stddev"] is not None:
            values.append(("sd", _num(p["stddev"])))
    if p["min_length"] is not None:
        values.append(("length", f'{p["min_length"]}–{p["max_length"]}'
                       f' (mean {p["mean_length"] or 0:.1f})'))
    return "<br>".join(f'<span class="stats"><span>{k}</span> {v}</span>' for k, v in values)


def _svg(width: int, height: int, label: str, inner: str) -> str:
    """A chart that keeps its shape when a narrow page (print) scales it down."""
    return (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{_e(label)}">{inner}</svg>')


def _bar(share: float | None, width: int = 90, label: str = "completeness") -> str:
    w = width * min(max(share or 0, 0), 1)
    return _svg(width, 8, label, f'<rect width="{width}" height="8" fill="{TRACK}"/>'
                f'<rect width="{w:.1f}" height="8" fill="{BAR}"/>')


def _histogram(p: dict) -> str:
    """Bars of the binned values; dates are binned in days since 1970, shown as dates."""
    bins = _json(p["histogram"], [])
    if not bins:
        return '<span class="muted">—</span>'
    over = "values" if p["min"] is not None else "lengths"  # as the profile stage bins them
    is_date = re.match(r"\d{4}-\d{2}-\d{2}", p["min"] or "") is not None

    def fmt(x: float) -> str:
        return (date(1970, 1, 1) + timedelta(days=int(x))).isoformat() if is_date else _num(x)

    top, w = max(b["count"] for b in bins) or 1, 140 / len(bins)
    bars = ['<line x1="0" y1="32.5" x2="140" y2="32.5" stroke="#8c959f"/>']
    for i, b in enumerate(bins):
        h = 30 * b["count"] / top
        bars.append(f'<rect x="{i * w + 0.5:.1f}" y="{32 - h:.1f}" width="{max(w - 1, 0.5):.1f}" '
                    f'height="{h:.1f}" fill="{BAR}"><title>{_e(fmt(b["low"]))}–'
                    f'{_e(fmt(b["high"]))}: {b["count"]:,}</title></rect>')
    span = f"{over} {_e(fmt(bins[0]['low']))} – {_e(fmt(bins[-1]['high']))}"
    chart = _svg(140, 33, f"histogram of {over}", "".join(bars))
    return f"<figure>{chart}<figcaption>{span}</figcaption></figure>"


def _bar_list(items: list[tuple], masked: bool = False) -> str:
    """Label, a bar of its share, count and share: the top few of a column's values."""
    if not items:
        return '<span class="muted">—</span>'
    rows = []
    for label, count, share in items[:TOP]:
        title = "" if masked else _e(_text(label))
        text = '<span class="masked">(masked)</span>' if masked or label is None else title
        digits = 0 if (share or 0) >= 0.1 else 1
        rows.append(f'<li><span class="v" title="{title}">{text}</span>{_bar(share, 40, "share")}'
                    f'<span class="n">{_n(count)} · {_pct(share, digits)}</span></li>')
    more = f'<li class="muted">+{len(items) - TOP} more</li>' if len(items) > TOP else ""
    return f'<ul class="bars">{"".join(rows)}{more}</ul>'
