"""Precision and recall of the scored pairs against the match threshold.

Judges the pairs Splink scored (silver/pairs) against the truth or clerical labels at a
grid of thresholds: match probability 0.01 .. 0.99, and whole match weights from -6 up to
the highest weight scored (probabilities too close to 1 to tell apart). A pair is
predicted at threshold t when it scored at least t. Recall counts every true pair,
including those never scored (not blocked together, or scored below silver/pairs'
floor of 0.01), so it is the recall a threshold can reach with this blocking.

This is the pairs before clustering: clustering joins records transitively, so the
clusters' scores at a threshold can differ. With the truth, true pairs are counted from
entity sizes (n choose 2) and the scored pairs joined to the truth in DuckDB; no pair
list is built in Python.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from scv.evaluate import Labels
from scv.link import weight

PROBABILITIES = [round(i / 100, 2) for i in range(1, 100)]
LOWEST_WEIGHT, HIGHEST_WEIGHT = -6, 50  # weight -6.6 is probability 0.01, the floor
SHOWN = {0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99}


@dataclass(frozen=True)
class CurvePoint:
    threshold: float  # match probability
    match_weight: float | None  # the same threshold as a match weight (None at probability 1)
    predicted_pairs: int
    true_positive_pairs: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Curve:
    judged_by: str  # "truth" or "labels"
    true_pairs: int
    true_pairs_unscored: int  # true pairs with no row in silver/pairs: recall no threshold reaches
    judged_pairs_scored: int  # scored pairs whose two records the truth or the labels judge
    by_probability: list[CurvePoint]
    by_weight: list[CurvePoint]
    best: CurvePoint  # highest F1: probability grid, weights above 0.99; the higher of a tie
    configured: CurvePoint  # at linkage.threshold

    @property
    def recommended_threshold(self) -> float:
        """The best threshold, or the configured one when it does as well."""
        return self.configured.threshold if self.configured.f1 >= self.best.f1 else self.best.threshold

    def as_dict(self) -> dict:
        return asdict(self) | {"recommended_threshold": self.recommended_threshold}


def probability(weight: float) -> float:
    return 1 / (1 + 2.0 ** -weight)


def threshold_curve(pairs: pa.Table | ds.Dataset, records: pa.Table, *, truth: pa.Table | None = None,
                    labels: Labels | None = None, configured: float = 0.9) -> Curve:
    """`pairs` as silver/pairs; `records` (record_key) the records scored, e.g. gold/customer_xref.

    Give `truth` (record_key, entity) or `labels`; records outside `records` are left out.
    """
    if (truth is None) == (labels is None):
        raise ValueError("give truth or labels, one of them")
    con = duckdb.connect()
    con.register("pairs", pairs)
    con.register("records", records.select(["record_key"]))
    con.execute("""create temp table scored as
        select least(record_key_l, record_key_r) as a, greatest(record_key_l, record_key_r) as b,
               max(match_probability) as p, max(match_weight) as w
        from pairs group by 1, 2""")
    if truth is not None:
        true_pairs = _judge_by_truth(con, truth)
    else:
        true_pairs = _judge_by_labels(con, labels.pairs)
    judged, scored_true, top = con.execute(
        "select count(*), count(*) filter (where is_true), max(w) from judged").fetchone()
    top = min(max(math.ceil(top or 0), 7), HIGHEST_WEIGHT)
    by_p = _sweep(con, "p", PROBABILITIES, true_pairs)
    by_w = _sweep(con, "w", [float(w) for w in range(LOWEST_WEIGHT, top + 1)], true_pairs)
    configured_point = _point(con, configured, true_pairs)
    con.close()
    candidates = by_p + [c for c in by_w if c.threshold > PROBABILITIES[-1]]
    best = max(candidates, key=lambda c: (c.f1, c.threshold))
    return Curve("truth" if truth is not None else "labels", true_pairs, true_pairs - scored_true,
                 judged, by_p, by_w, best, configured_point)


def _judge_by_truth(con: duckdb.DuckDBPyConnection, truth: pa.Table) -> int:
    con.register("truth_in", truth)
    con.execute("""create temp table truth as select record_key, cast(entity as varchar) as entity
                   from truth_in where record_key in (select record_key from records)""")
    con.execute("""create temp table judged as
        select s.p, s.w, tl.entity = tr.entity as is_true
        from scored s join truth tl on s.a = tl.record_key join truth tr on s.b = tr.record_key""")
    return int(con.execute("""select coalesce(sum(n * (n - 1) / 2), 0)
        from (select entity, count(*) as n from truth group by 1)""").fetchone()[0])


def _judge_by_labels(con: duckdb.DuckDBPyConnection, labels: pa.Table) -> int:
    con.register("labels_in", labels)
    con.execute("""create temp table labels as
        select least(record_key_l, record_key_r) as a, greatest(record_key_l, record_key_r) as b,
               "match" as is_true from labels_in
        where record_key_l in (select record_key from records)
          and record_key_r in (select record_key from records)""")
    con.execute("""create temp table judged as
        select s.p, s.w, l.is_true from labels l join scored s using (a, b)""")
    return con.execute("select count(*) filter (where is_true) from labels").fetchone()[0]


def _sweep(con: duckdb.DuckDBPyConnection, column: str, thresholds: list[float],
           true_pairs: int) -> list[CurvePoint]:
    """Pairs at or above each threshold: each pair counted once, in the highest threshold it
    reaches (an as-of join), then summed from the top threshold down."""
    con.register("grid", pa.table({"t": pa.array(thresholds, pa.float64())}))
    rows = con.execute(f"""
        with b as (select g.t, count(*) as n, count(*) filter (where j.is_true) as tp
                   from judged j asof join grid g on j."{column}" >= g.t group by g.t)
        select g.t, sum(coalesce(b.n, 0)) over w, sum(coalesce(b.tp, 0)) over w
        from grid g left join b using (t)
        window w as (order by g.t desc rows between unbounded preceding and current row)
        order by g.t""").fetchall()
    con.unregister("grid")
    as_probability = probability if column == "w" else (lambda t: t)
    return [_make_point(as_probability(t), int(n), int(tp), true_pairs) for t, n, tp in rows]


def _point(con: duckdb.DuckDBPyConnection, threshold: float, true_pairs: int) -> CurvePoint:
    n, tp = con.execute("select count(*), count(*) filter (where is_true) from judged where p >= ?",
                        [threshold]).fetchone()
    return _make_point(threshold, n, tp, true_pairs)


def _make_point(threshold: float, predicted: int, tp: int, true_pairs: int) -> CurvePoint:
    precision = tp / predicted if predicted else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    w = weight(threshold)
    return CurvePoint(threshold, round(w, 3) if math.isfinite(w) else None, predicted, tp,
                      round(precision, 6), round(recall, 6), round(f1, 6))


def format_threshold(threshold: float, max_digits: int = 15) -> str:
    """0.9 as 0.90; near 1 with the digits that tell thresholds apart (0.99976), or as ≈1
    when that takes more than `max_digits`."""
    if threshold >= 1:
        return "1"
    gap = 1 - threshold
    if gap >= 0.01 - 1e-12:
        text = f"{threshold:.2f}"
        return text if abs(float(text) - threshold) < 1e-9 else f"{threshold:.4g}"
    digits = math.floor(-math.log10(gap)) + 2
    return "≈1" if digits > max_digits else f"{threshold:.{digits}f}".rstrip("0")


def compact(curve: Curve) -> list[tuple[CurvePoint, str]]:
    """A short table: a few probabilities, weights above 0.99 (8, 12 .. 24, then every 8th),
    the best and the configured threshold, each with a note."""
    rows = {c.threshold: (c, "") for c in curve.by_probability if c.threshold in SHOWN}
    rows |= {c.threshold: (c, "") for c in curve.by_weight if c.threshold > 0.99
             and c.match_weight is not None and round(c.match_weight) % (4 if c.match_weight < 24 else 8) == 0}
    for point, note in ((curve.configured, "configured"), (curve.best, "best F1")):
        old = rows.get(point.threshold, (point, ""))[1]
        rows[point.threshold] = (point, ", ".join(filter(None, (old, note))))
    return [rows[t] for t in sorted(rows)]
