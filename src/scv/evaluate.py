"""Scores a clustering against the truth (pairwise and B-cubed) or against clerical labels.

Pairs are counted from cluster sizes (n choose 2), never enumerated, so scoring a
million records costs a few group-bys. Clerical labels are pairs a person has judged
(Splink's labels format); a labelled pair is predicted a match when both of its records
are in the same customer cluster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from scv.errors import ConfigError

LABEL_COLUMNS = ("source_dataset_l", "unique_id_l", "source_dataset_r", "unique_id_r",
                 "clerical_match_score")
MATCH_AT = 0.5  # a clerical_match_score at or above this is a match (0/1 or a probability)


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


@dataclass(frozen=True)
class Labels:
    """Labelled pairs as scv record keys: (record_key_l, record_key_r, match)."""

    pairs: pa.Table
    source_mapping: dict[str, str] = field(default_factory=dict)  # labels' name -> project source


@dataclass(frozen=True)
class LabelScores:
    labels: int
    labelled_matches: int
    unknown_record_labels: int  # labels naming a record that is not in gold/customer_xref
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    precision: float
    recall: float
    f1: float
    source_mapping: dict[str, str]

    def as_dict(self) -> dict:
        return asdict(self)


def open_file(option: str, path: str | Path) -> tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyRelation]:
    """A CSV (read as text) or Parquet file given to `option`, as a DuckDB relation."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{option}: no such file {path}")
    con = duckdb.connect()
    reader = "read_parquet" if path.suffix in (".parquet", ".pq") else "read_csv"
    extra = ", all_varchar = true" if reader == "read_csv" else ""
    return con, con.sql(f"select * from {reader}(?{extra})", params=[str(path)])


def read_labels(path: str | Path, sources: list[str]) -> Labels:
    """Read clerical labels (CSV or Parquet) and map them onto scv record keys.

    A label source named like a project source is that source; any other name (Splink's
    "fake_1000", say) is taken as the project's source when it has only one. Without
    source_dataset_l/_r columns, a one-source project's source is used.
    """
    con, rel = open_file("--labels", path)
    optional = ("source_dataset_l", "source_dataset_r") if len(sources) == 1 else ()
    needed = [c for c in LABEL_COLUMNS if c not in optional]
    missing = [c for c in needed if c not in rel.columns]
    if missing:
        raise ConfigError(
            f"--labels {path}: missing column(s) {', '.join(missing)}; a labels file has columns "
            f"{', '.join(LABEL_COLUMNS)} (a 0/1 or a probability; >= {MATCH_AT} is a match)")
    has_source = {"source_dataset_l", "source_dataset_r"} <= set(rel.columns)
    side = ("cast(source_dataset_{0} as varchar)" if has_source else "cast(? as varchar)")
    params = [] if has_source else [sources[0], sources[0]]
    con.execute(
        f"""create temp table labels as select
              {side.format("l")} as source_l, cast(unique_id_l as varchar) as id_l,
              {side.format("r")} as source_r, cast(unique_id_r as varchar) as id_r,
              try_cast(clerical_match_score as double) as score from rel""", params)
    bad = con.sql("select count(*) from labels where score is null or score < 0 or score > 1"
                  " or id_l is null or id_r is null").fetchone()[0]
    if bad:
        raise ConfigError(f"--labels {path}: {bad:,} row(s) lack unique_id_l/_r or a "
                          "clerical_match_score between 0 and 1")
    names = [r[0] for r in con.sql("select distinct coalesce(source_l, '') from labels union "
                                   "select distinct coalesce(source_r, '') from labels").fetchall()]
    mapping = _map_sources(path, sorted(names), sources)
    con.register("mapping", pa.table({"name": list(mapping), "source": list(mapping.values())}))
    pairs = con.sql(
        """select concat(ml.source, ':', id_l) as record_key_l,
                  concat(mr.source, ':', id_r) as record_key_r, score >= ? as match
           from labels join mapping ml on coalesce(source_l, '') = ml.name
                       join mapping mr on coalesce(source_r, '') = mr.name""",
        params=[MATCH_AT]).to_arrow_table()
    con.close()
    return Labels(pairs, {k: v for k, v in mapping.items() if k != v})


def _map_sources(path: Path, names: list[str], sources: list[str]) -> dict[str, str]:
    unknown = [n for n in names if n not in sources]
    if unknown and len(sources) != 1:
        shown = ", ".join(repr(n[:40]) for n in unknown[:3]) + (" ..." if len(unknown) > 3 else "")
        raise ConfigError(
            f"--labels {path}: unknown source(s) {shown} in source_dataset_l/_r; "
            f"the project's sources are {', '.join(sources)}")
    return {n: n if n in sources else sources[0] for n in names}


def score_labels(predicted: pa.Table, labels: Labels) -> LabelScores:
    """`predicted` has (record_key, cluster). Labels naming an unknown record are counted only."""
    con = duckdb.connect()
    con.register("predicted", predicted)
    con.register("labels", labels.pairs)
    n, matches, unknown, tp, fp, fn, tn = con.execute(
        """with j as (
              select l.match, pl.cluster is not null and pr.cluster is not null as known,
                     cast(pl.cluster as varchar) = cast(pr.cluster as varchar) as same
              from labels l left join predicted pl on l.record_key_l = pl.record_key
                            left join predicted pr on l.record_key_r = pr.record_key)
           select count(*), count(*) filter (where match), count(*) filter (where not known),
                  count(*) filter (where known and match and same),
                  count(*) filter (where known and not match and same),
                  count(*) filter (where known and match and not same),
                  count(*) filter (where known and not match and not same) from j"""
    ).fetchone()
    con.close()
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return LabelScores(
        labels=n, labelled_matches=matches, unknown_record_labels=unknown,
        true_positives=tp, false_positives=fp, false_negatives=fn, true_negatives=tn,
        precision=round(precision, 6), recall=round(recall, 6),
        f1=round(_f1(precision, recall), 6), source_mapping=dict(labels.source_mapping),
    )
