"""Profile: what each source holds, column by column, before anything is cleaned.

A profile tells the data owner how complete each column is, what shapes its values take
(`Aa+ Aa+`, `99999 999999`) and how numbers and dates spread, so that a mapping or a
cleaning rule can be fixed before it costs a bad match. Columns the source maps to a
personal field (PERSONAL_FIELDS) are described by counts, lengths and patterns only:
the profile lands in audit/profiles, which more people read than the data itself.

Two queries per source, whatever its width: one aggregate over the rows for counts,
lengths and value statistics, then one over each column's distinct values (with their
counts) for distinct counts, top values, patterns and histograms, so a regex or a bin
runs once per distinct value, not once per row.

Patterns of a source with more than PATTERN_SAMPLE rows are computed on a sample of about
that many rows (those whose `_row_hash` is below a threshold: the same rows on every
engine and every run of the same data); their counts and shares are then of the sample.
Everything else is exact.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pyarrow as pa

from scv.config import Source
from scv.engine.base import Dialect
from scv.quality_tables import PERSONAL_FIELDS, PROFILE_SCHEMA

if TYPE_CHECKING:
    from scv.pipeline import Run

TOP = 10
BINS = 10
PATTERN_SAMPLE = 50_000  # rows: top-10 shares to within half a percent, at a quarter of the cost of 200,000
NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
ISO_DATE = r"\d{4}-\d{2}-\d{2}"
FLOAT_MAX = "1.7976931348623157e308"
UPPER, LOWER = r"[\p{Lu}\p{Lt}]", r"[\p{Ll}\p{Lm}\p{Lo}]"  # letters without case count as lower
# Runs first: a replacement per run, not per letter, is what makes patterns cheap. The
# single-letter steps then also rewrite the A of A+ and the a of a+ as themselves.
PATTERN_STEPS = ((LOWER + "{2,}", "a+"), (UPPER + "{2,}", "A+"), (LOWER, "a"), (UPPER, "A"))
_NUMBER_TYPE = re.compile(r"(u?(tiny|small|big|huge)?int(eger)?|long|short|byte|float|double|real"
                          r"|decimal|numeric)\b")
_NESTED = ("struct", "map", "list", "array", "union", "[")


def pattern(d: Dialect, e: str) -> str:
    """The value's shape: digits as 9, letters as A or a, runs of one case as A+ or a+."""
    e = f"translate({e}, '0123456789', '9999999999')"
    for regex, symbol in PATTERN_STEPS:
        e = d.regex_replace_all(e, regex, symbol)
    return e


@dataclass(frozen=True)
class Column:
    """A source column and how it is profiled."""

    name: str
    data_type: str
    field: str | None  # the canonical field the source maps it to

    @property
    def personal(self) -> bool:
        return self.field in PERSONAL_FIELDS

    @property
    def kind(self) -> str:
        """text, number, date, timestamp, nested or other (booleans, binary)."""
        t = self.data_type.lower()
        if any(n in t for n in _NESTED):
            return "nested"
        if t.startswith(("varchar", "string", "text", "char")):
            return "text"
        if t == "date":
            return "date"
        if t.startswith("timestamp"):
            return "timestamp"
        if _NUMBER_TYPE.match(t):
            return "number"
        return "other"


@dataclass(frozen=True)
class Reading:
    """A way to read a column's values as numbers: natively, or text parsed as numbers or dates."""

    kind: str  # number, date or timestamp: how min, max, mean and median are written
    value: Callable[[Dialect, str], str]  # SQL: the value as a double (days for dates)


def readings(column: Column) -> list[Reading]:
    """The readings worth trying; personal columns get none, so no value is ever computed."""
    if column.personal:
        return []
    if column.kind == "number":
        return [Reading("number", lambda d, e: _finite(f"cast({e} as double)"))]
    if column.kind in ("date", "timestamp"):
        return [Reading(column.kind, lambda d, e: d.epoch_days(e))]
    if column.kind == "text":  # CSV is read as text: numbers and dates may hide in it
        return [Reading("number", _text_number), Reading("date", _text_date)]
    return []


def _text_number(d: Dialect, e: str) -> str:
    return _finite(f"try_cast(case when {d.regex_matches(e, NUMBER)} then {e} end as double)")


def _finite(x: str) -> str:
    """NaN and infinities left out: they would make every statistic (or an engine) fail."""
    return f"case when {x} between -{FLOAT_MAX} and {FLOAT_MAX} then {x} end"


def _text_date(d: Dialect, e: str) -> str:
    return d.epoch_days(f"try_cast(case when {d.regex_matches(e, ISO_DATE)} then {e} end as date)")


def profile(run: Run) -> pa.Table:
    """One row per source column (PROFILE_SCHEMA), appended to audit/profiles."""
    rows = [row for name, source in run.config.sources.items()
            for row in profile_source(run, name, source)]
    table = pa.Table.from_pylist(rows, PROFILE_SCHEMA)
    run.lakehouse.write("audit/profiles", table, run.run_id, mode="append")
    return table


def profile_source(run: Run, name: str, source: Source) -> list[dict]:
    """The rows of one source's bronze table; scv's own `_` columns are not profiled."""
    fields = {column: field for field in reversed(source.columns) for column in source.parts(field)}
    if source.updated_at:
        fields.setdefault(source.updated_at, "updated_at")
    table = f"bronze_{name}"
    found = run.engine.columns(table)
    columns = [Column(c, t, fields.get(c)) for c, t in found if not c.startswith("_")]
    stats = _statistics(run, table, columns)
    for i, column in enumerate(columns):
        s = stats[i]
        s["reading"] = next((k for k, _ in enumerate(readings(column)) if s[f"n{k}"] and (
            column.kind != "text" or s[f"n{k}"] == s["non_null"])), None)  # text: every value parses
        s["bins"] = _bins(column, s)
    rows = stats[0]["rows"] if columns else 0
    sample = None
    if rows > PATTERN_SAMPLE and "_row_hash" in dict(found):
        sample = f"{int(PATTERN_SAMPLE / rows * 16**8):08x}"  # md5 hex below this: ~PATTERN_SAMPLE rows
    grouped = _distinct_values(run, table, columns, stats, sample)
    return [_row(run.run_id, name, column, stats[i], grouped[i]) for i, column in enumerate(columns)]


def _statistics(run: Run, table: str, columns: list[Column]) -> list[dict]:
    """Counts, lengths and every reading's statistics of every column, in one pass."""
    d, q = run.engine.dialect, run.engine.dialect.quote
    aggs: list[tuple[int, str, str]] = [(-1, "rows", "count(*)")]
    for i, column in enumerate(columns):
        c = q(column.name)
        aggs.append((i, "non_null", f"count({c})"))
        if column.kind == "text":
            aggs += [(i, "min_length", f"min(length({c}))"), (i, "max_length", f"max(length({c}))"),
                     (i, "mean_length", f"avg(length({c}))")]
        for k, reading in enumerate(readings(column)):
            v = reading.value(d, c)
            # min and max of a bigint or decimal as stored, not as a double
            exact = f"case when {v} is not null then {c} end" if column.kind == "number" else v
            aggs += [(i, f"{s}{k}", sql) for s, sql in (
                ("n", f"count({v})"), ("min", f"min({exact})"), ("max", f"max({exact})"),
                ("mean", f"avg({v})"), ("median", f"median({v})"), ("stddev", f"stddev_samp({v})"))]
    values = run.engine.rows(
        f"select {', '.join(f'{sql} as a{j}' for j, (_, _, sql) in enumerate(aggs))} from {q(table)}")[0]
    stats: list[dict] = [{"rows": values[0]} for _ in columns]
    for (i, key, _), value in zip(aggs[1:], values[1:]):
        stats[i][key] = value
    return stats


def _bins(column: Column, s: dict) -> tuple[str, float, float] | None:
    """What the histogram is over (a reading's values, or lengths) and its range."""
    if s["reading"] is not None:
        low, high = s[f"min{s['reading']}"], s[f"max{s['reading']}"]
        what = "value"
    elif column.kind == "text" and s["non_null"]:
        low, high, what = s["min_length"], s["max_length"], "length"
    else:
        return None
    low, high = float(low), float(high)
    return (what, low, high) if math.isfinite(low) and math.isfinite(high) else None


def _distinct_values(run: Run, table: str, columns: list[Column], stats: list[dict],
                     sample: str | None) -> list[dict]:
    """Distinct count, top values, patterns and histogram bins of every column, in one query."""
    d, q = run.engine.dialect, run.engine.dialect.quote
    ctes, parts = [], []

    def values(cte: str, c: str, where: str = "") -> str:
        """The column's distinct values `v` with their counts `n`."""
        ctes.append(f"{cte} as (select {c} as v, count(*) as n from {q(table)} "
                    f"where {c} is not null{where} group by {c})")
        return cte

    for i, column in enumerate(columns):
        if column.kind == "nested":  # maps and structs do not group alike on every engine
            continue
        g = values(f"g{i}", q(column.name))
        label = "cast(null as string)" if column.personal else "cast(v as string)"
        parts += [
            f"select {i} as col, 'distinct' as part, cast(null as string) as label, count(*) as n from {g}",
            f"select {i}, 'value', {label}, n from "
            f"(select v, n from {g} order by n desc, v limit {TOP}) t{i}",
        ]
        if column.kind == "text":
            shapes = g
            if sample:
                shapes = values(f"s{i}", q(column.name), f" and _row_hash < {d.literal(sample)}")
                parts.append(f"select {i}, 'sampled', cast(null as string), sum(n) from {shapes}")
            parts.append(
                f"select {i}, 'pattern', p, m from (select p, sum(n) as m from "
                f"(select {pattern(d, 'v')} as p, n from {shapes}) x{i} group by p "
                f"order by m desc, p limit {TOP}) p{i}")
        if stats[i]["bins"]:
            what, low, high = stats[i]["bins"]
            x = "length(v)" if what == "length" else readings(column)[stats[i]["reading"]].value(d, "v")
            lo, hi = (f"cast({d.literal(repr(b))} as double)" for b in (low, high))
            b = "0" if high == low else f"cast(floor({BINS} * ({x} - {lo}) / ({hi} - {lo})) as int)"
            parts.append(f"select {i}, 'bin', cast(b as string), sum(n) from (select least({BINS - 1}, {b})"
                         f" as b, n from {g} where {x} is not null) h{i} group by b")
    found: list[dict] = [defaultdict(list) for _ in columns]
    if parts:
        for i, part, label, n in run.engine.rows(
                f"with {', '.join(ctes)} {' union all '.join(parts)}"):
            found[i][part].append((label, int(n or 0)))
    return found


def _row(run_id: str, source: str, column: Column, s: dict, grouped: dict) -> dict:
    """A PROFILE_SCHEMA row. A personal column's values never got here: SQL returned only counts."""
    rows, non_null = s["rows"], s["non_null"]
    distinct = grouped["distinct"][0][1] if grouped.get("distinct") else None
    row = {
        "run_id": run_id, "source": source, "column": column.name, "data_type": column.data_type,
        "personal": column.personal, "canonical_field": column.field,
        "row_count": rows, "non_null": non_null,
        "completeness": non_null / rows if rows else None,
        "distinct_count": distinct,
        "uniqueness": distinct / non_null if non_null and distinct is not None else None,
        "min_length": s.get("min_length"), "max_length": s.get("max_length"),
        "mean_length": _round(s.get("mean_length")),
    }
    k = s["reading"]
    if k is not None:
        kind = readings(column)[k].kind
        row.update({key: _as(kind, s[f"{key}{k}"]) for key in ("min", "max", "mean", "median")})
        row["stddev"] = _round(s[f"stddev{k}"])
    number = column.kind == "number" and not column.personal
    top = sorted(grouped.get("value", []), key=lambda t: (-t[1], float(t[0]) if number else t[0] or ""))
    row["top_values"] = json.dumps([
        {"value": _number(label) if number else label, "count": n, "share": round(n / non_null, 6)}
        for label, n in top
    ]) if "distinct" in grouped else None
    if column.kind == "text":
        shaped = grouped["sampled"][0][1] if grouped.get("sampled") else non_null
        row["patterns"] = json.dumps([
            {"pattern": p, "count": n, "share": round(n / shaped, 6)}
            for p, n in sorted(grouped.get("pattern", []), key=lambda t: (-t[1], t[0]))
        ])
    if s["bins"]:
        _, low, high = s["bins"]
        counts = dict((int(b), n) for b, n in grouped.get("bin", []))
        width = (high - low) / BINS
        edges = [(low, high)] if high == low else [  # one value: one bin, not ten empty ones
            (low + b * width, high if b == BINS - 1 else low + (b + 1) * width) for b in range(BINS)]
        row["histogram"] = json.dumps([
            {"low": _round(lo), "high": _round(hi), "count": counts.get(b, 0)}
            for b, (lo, hi) in enumerate(edges)
        ])
    return row


def _as(kind: str, value) -> str | None:
    """A statistic as text: ISO for dates (read from days since 1970), numbers as written."""
    if value is None:
        return None
    if kind == "date":
        return (date(1970, 1, 1) + timedelta(days=math.floor(value))).isoformat()
    if kind == "timestamp":
        return (datetime(1970, 1, 1) + timedelta(microseconds=round(value * 86_400e6))).isoformat(" ")
    return _number(value)


def _number(value) -> str | None:
    """Integers and decimals as written; floats to 10 significant digits, so engines agree."""
    if value is None or isinstance(value, (int, Decimal)):
        return None if value is None else str(value)
    if isinstance(value, str):  # an engine's text: '1e-05' on DuckDB is '1.0E-5' on Spark
        if re.fullmatch(r"-?\d+(\.\d+)?", value):
            return value
        value = float(value)
    return f"{value:.10g}"


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.10g}")
