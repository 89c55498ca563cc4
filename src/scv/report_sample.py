"""A sample of scored pairs for the run report, scored again comparison by comparison.

silver/pairs keeps a pair's total weight only; its levels come from scoring the pair
again with the run's saved model on the columns linkage compares (`link_input_sql`),
over all of silver/records so term frequencies are those linkage used, as `scv explain`
does. Personal values leave this module as shapes (`scv.explain.masked`).

The sample is a few pairs a probability band at evenly spaced ranks: the same pairs
every time the report is drawn. It is scored on DuckDB, so a model trained on Spark
(whose SQL DuckDB does not run) gets pairs and weights without levels. Drawn as a table a
band, and as Splink's comparison viewer: a page of its own, since it runs JavaScript.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from scv.lakehouse import Lakehouse
from scv.report import VIEWER, _e

BANDS = ((0.01, 0.5), (0.5, 0.9), (0.9, 0.99), (0.99, 1.0))  # the last band includes 1
PER_BAND = 3
# The viewer is Splink's page with its JavaScript inlined; only its web font is fetched,
# so that is dropped, and a policy stops anything else from loading.
VIEWER_POLICY = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
                 "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:\">")
REMOTE_LINK = re.compile(r'<link [^>]*href="https?://[^>]*>\n?')


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    pairs: int  # pairs of silver/pairs in the band
    sample: list[dict]  # scored rows, masked: record_key_l/_r, match_weight, gamma_*, mw_*, <col>_l/_r


@dataclass(frozen=True)
class Sample:
    bands: list[Band]
    scored: bool  # whether the rows carry levels (gamma_*, mw_*)
    note: str | None  # why they do not
    viewer: str | None  # Splink's comparison viewer of the sample, as an offline page


def in_band(probability: pa.ChunkedArray, low: float, high: float) -> pa.ChunkedArray:
    upper = pc.less_equal if high >= 1 else pc.less
    return pc.and_(pc.greater_equal(probability, low), upper(probability, high))


def sample_pairs(lake: Lakehouse, probability: pa.ChunkedArray, model: dict) -> Sample:
    """PER_BAND pairs of each band, scored again with `model` where it can be."""
    ranked = [(low, high, *_ranks(probability, low, high)) for low, high in BANDS]
    found = _pairs_at(lake, {value for *_, wanted in ranked for value in wanted})
    picked = [(low, high, (n, _first_at(found, wanted))) for low, high, n, wanted in ranked]
    rows = [r for _, _, band in picked for r in band[1]]
    scored, note, viewer = {}, None, None
    if rows and model.get("sql_dialect") != "duckdb":
        note = (f"the model was trained on {model.get('sql_dialect')} and levels are scored again on "
                "DuckDB only (scv explain KEY KEY shows one pair's levels)")
    elif rows:
        try:
            scored, viewer = _score(lake, model, rows)
        except Exception as err:  # noqa: BLE001 - a report is drawn even when this cannot be
            note = (f"the pairs could not be scored again ({type(err).__name__}): silver/records may "
                    "have been rewritten by an older scv")
    bands = [Band(low, high, n, [scored.get((r["record_key_l"], r["record_key_r"]), r) for r in rows])
             for low, high, (n, rows) in picked]
    return Sample(bands, bool(scored), note, viewer)


def _ranks(probability: pa.ChunkedArray, low: float, high: float) -> tuple[int, list[float]]:
    """The band's size and the probabilities at its evenly spaced ranks."""
    band = probability.filter(in_band(probability, low, high))
    band = band.take(pc.sort_indices(band))
    return len(band), [band[int((j + 0.5) * len(band) / PER_BAND)].as_py() for j in range(min(PER_BAND, len(band)))]


def _pairs_at(lake: Lakehouse, values: set[float]) -> pa.Table | None:
    """The pairs of silver/pairs at these probabilities, by probability then keys: only
    they are read back with their keys, so a band of millions is never sorted in memory."""
    if not values:
        return None
    found = lake.read("silver/pairs").to_table(filter=ds.field("match_probability").isin(values))
    return found.sort_by([("match_probability", "ascending"), ("record_key_l", "ascending"),
                          ("record_key_r", "ascending")])


def _first_at(found: pa.Table | None, wanted: list[float]) -> list[dict]:
    """For each wanted probability, as many of the first pairs at it as it was wanted."""
    rows = []
    for value in sorted(set(wanted)):
        same = found.filter(pc.equal(found["match_probability"], value))
        rows += same.slice(0, wanted.count(value)).to_pylist()
    return rows


def _score(lake: Lakehouse, model: dict, rows: list[dict]) -> tuple[dict, str]:
    """Scored rows by (record_key_l, record_key_r), masked, and the viewer page of them."""
    from scv.engine import create_engine
    from scv.explain import masked
    from scv.link import linkable_columns, new_linker, register_input

    engine = create_engine("duckdb")
    try:
        # all records: term frequencies count them all
        engine.load("silver_records", lake, "silver/records", linkable_columns(lake.columns("silver/records")))
        api = engine.splink_api()
        settings = model | {"retain_matching_columns": True, "retain_intermediate_calculation_columns": True}
        linker = new_linker(register_input(engine, view=True), settings)
        engine.read_arrow("sample_keys", pa.Table.from_pylist(rows))
        # the input is a view over every record: read once for the sample's records
        engine.create("sample_records", "select * from link_inputs where record_key in (select record_key_l "
                                        "from sample_keys union select record_key_r from sample_keys)")
        for side in "lr":  # every left key against every right key; the pairs are kept below
            engine.create(f"sample_{side}", "select * from sample_records where record_key in "
                                            f"(select record_key_{side} from sample_keys)")
        result = linker.inference.score_pairs(api.register("sample_l"), api.register("sample_r"))
        wanted = {(r["record_key_l"], r["record_key_r"]) for r in rows}
        compared = [c for c, _ in engine.columns("link_inputs") if c not in ("record_key", "source")]
        scored = [masked(r, compared) for r in result.as_record_list()
                  if (r["record_key_l"], r["record_key_r"]) in wanted]
        engine.read_arrow("sample_scored", pa.Table.from_pylist(scored))
        # the viewer's SQL reads its input by the name Splink gives predictions
        viewer = _viewer(linker, api.table_to_splink_dataframe("__splink__df_predict", "sample_scored"))
    finally:
        engine.close()
    return {(r["record_key_l"], r["record_key_r"]): r for r in scored}, viewer


def _viewer(linker, scored) -> str:
    """Splink's comparison viewer of the (masked) sample, made safe to open offline."""
    with tempfile.TemporaryDirectory() as folder:
        html = linker.visualisations.comparison_viewer_dashboard(
            scored, str(Path(folder) / "viewer.html"), overwrite=True, num_example_rows=PER_BAND,
            return_html_as_string=True)
    html = REMOTE_LINK.sub("", html)
    return html.replace('<meta charset="UTF-8" />', '<meta charset="UTF-8" />\n' + VIEWER_POLICY, 1)


def sample_section(sample: Sample, levels: list, names: list[str]) -> str:
    """A table a band: a column a pair, a row a comparison (`names`) with its level, weight and
    values; `levels` are the model's parameter records (`scv.report_linkage.levels`), prior first."""
    labels = {(r.comparison_name, r.comparison_vector_value): r.label_for_charts for r in levels}
    prior = levels[0].log2_bayes_factor
    parts = [f'<p class="muted">Up to {max((len(b.sample) for b in sample.bands), default=0)} pairs a band, '
             "at evenly spaced ranks (the same pairs each time the report is drawn). Personal values are "
             "shown as their shape (<code>Aa+</code>); <code>scv explain KEY KEY</code> shows one pair in full.</p>"]
    if sample.note:
        parts.append(f'<p class="note">Levels not shown: {_e(sample.note)}.</p>')
    if sample.viewer:
        parts.append(f'<p><a href="{VIEWER}">Splink\'s comparison viewer of this sample</a> '
                     "(a separate page: Splink's JavaScript, bundled, loads nothing from the network)</p>")
    for band in sample.bands:
        upper = "≤" if band.high >= 1 else "&lt;"
        parts.append(f"<h4>{band.low:g} ≤ match probability {upper} {band.high:g} · {band.pairs:,} pairs</h4>")
        if not band.sample:
            parts.append('<p class="muted">No pair in this band.</p>')
            continue
        head = "<tr><th>comparison</th>" + "".join(
            f'<th><code>{_e(r["record_key_l"])}</code> · <code>{_e(r["record_key_r"])}</code></th>'
            for r in band.sample) + "</tr>"
        rows = [f"<tr><td>prior</td>{''.join(f'<td>{_signed(prior)}</td>' for _ in band.sample)}</tr>"]
        if sample.scored:
            rows += [f"<tr><td><b>{_e(name)}</b></td>{''.join(_cell(r, name, labels) for r in band.sample)}</tr>"
                     for name in names]
        rows.append("<tr><td><b>match weight</b></td>" + "".join(
            f'<td>{_signed(r["match_weight"])} · probability {r["match_probability"]:.4f}</td>'
            for r in band.sample) + "</tr>")
        parts.append(f'<table class="pairs">{head}{"".join(rows)}</table>')
    return "\n".join(parts)


def _cell(row: dict, name: str, labels: dict) -> str:
    gamma = row.get(f"gamma_{name}")
    w = (row.get(f"mw_{name}") or 0.0) + (row.get(f"mw_tf_adj_{name}") or 0.0)
    tf = row.get(f"mw_tf_adj_{name}")
    tf_note = f' <span class="muted">(tf {tf:+.2f})</span>' if tf else ""
    values = " / ".join('<span class="masked">null</span>' if v is None else f"<code>{_e(v)}</code>"
                        for v in (row.get(f"{name}_l"), row.get(f"{name}_r")))
    return (f'<td>{_signed(w)}{tf_note}<br><span class="muted">{_e(labels.get((name, gamma), gamma))}</span>'
            f"<br>{values}</td>")


def _signed(w: float | None) -> str:
    if w is None:
        return "—"
    return f'<span class="{"pos" if w > 0 else "neg" if w < 0 else "muted"}">{w:+.2f}</span>'

