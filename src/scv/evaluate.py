"""Scores a clustering against the truth: pairwise and B-cubed precision and recall.

Pairs are counted from cluster sizes (n choose 2), never enumerated, so scoring a
million records costs a few group-bys.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb
import pyarrow as pa


@dataclass(frozen=True)
class Scores:
    records: int
    clusters: int
    true_entities: int
    predicted_pairs: int
    true_pairs: int
    true_positive_pairs: int
    precision: float
    recall: float
    f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    unmatched_truth_records: int

    def as_dict(self) -> dict:
        return asdict(self)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score(predicted: pa.Table, truth: pa.Table) -> Scores:
    """`predicted` has (record_key, cluster); `truth` has (record_key, entity).

    Records without truth are left out, and counted in `unmatched_truth_records`.
    """
    con = duckdb.connect()
    con.register("predicted", predicted)
    con.register("truth", truth)
    (records, clusters, entities, pp, tp_pairs, tpp, bp, br, unmatched) = con.execute(
        """with joined as (
                select p.record_key, cast(p.cluster as varchar) as cluster,
                       cast(t.entity as varchar) as entity
                from predicted p join truth t on p.record_key = t.record_key),
            c as (select cluster, count(*) as n from joined group by 1),
            e as (select entity, count(*) as n from joined group by 1),
            ce as (select cluster, entity, count(*) as n from joined group by 1, 2),
            b as (select sum(ce.n * ce.n / c.n) as p_sum, sum(ce.n * ce.n / e.n) as r_sum
                  from ce join c using (cluster) join e using (entity))
        select (select count(*) from joined), (select count(*) from c), (select count(*) from e),
               (select coalesce(sum(n * (n - 1) / 2), 0) from c),
               (select coalesce(sum(n * (n - 1) / 2), 0) from e),
               (select coalesce(sum(n * (n - 1) / 2), 0) from ce),
               (select p_sum from b), (select r_sum from b),
               (select count(*) from predicted) - (select count(*) from joined)"""
    ).fetchone()
    con.close()
    precision = tpp / pp if pp else 1.0
    recall = tpp / tp_pairs if tp_pairs else 1.0
    b_p = (bp or 0) / records if records else 0.0
    b_r = (br or 0) / records if records else 0.0
    return Scores(
        records=records, clusters=clusters, true_entities=entities,
        predicted_pairs=int(pp), true_pairs=int(tp_pairs), true_positive_pairs=int(tpp),
        precision=round(precision, 6), recall=round(recall, 6), f1=round(_f1(precision, recall), 6),
        bcubed_precision=round(b_p, 6), bcubed_recall=round(b_r, 6),
        bcubed_f1=round(_f1(b_p, b_r), 6), unmatched_truth_records=int(unmatched),
    )
