"""Validate: each source against its expectation suite; failing rows leave for quarantine.

One pass per source flags every row-level expectation, so quarantine, the results and
the valid rows come from the same scan. Exact copies of a row keep one copy; lines the
reader could not parse join quarantine too. Rows a steward has released (by row hash)
stay in the pipeline although they fail a quarantine-severity expectation. An `error`
failure stops the run after everything is recorded, before silver is written.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

import pyarrow as pa

from scv import birth_dates
from scv.errors import ScvError
from scv.expectations import (
    Expectation, check_columns, denominator_sql, duplicates_sql, metric_sql, source_suite,
    table_success, unexpected_sql,
)
from scv.ingest import rejects_table
from scv.quality_tables import VALIDATION_SCHEMA, personal_columns

if TYPE_CHECKING:
    from scv.pipeline import Run

RELEASES = "audit/quarantine_releases"
SAMPLE_SIZE = 5


class ValidationFailed(ScvError):
    """An expectation graded `error` failed: the run stops before silver is written."""


def validate(run: Run) -> None:
    releases = _load_releases(run)
    results: list[dict] = []
    birth_dates.decide(run)
    for name, source in run.config.sources.items():
        suite = source_suite(name, source, run.base_dir, run.birth_ranges.get(name))
        check_columns(name, suite, [c for c, _ in run.engine.columns(f"bronze_{name}")])
        results += check_source(run, name, suite, personal_columns(source), releases)
    record_results(run, results)
    stop_on_errors(results)


def check_source(run: Run, name: str, suite: list[Expectation], personal: set[str],
                 releases: bool) -> list[dict]:
    """Split bronze into valid and quarantined rows; the result row of every expectation."""
    d = run.engine.dialect
    q, lit = d.quote, d.literal
    bronze = f"bronze_{name}"
    columns = run.engine.columns(bronze)
    cols = ", ".join(q(c) for c, _ in columns)
    # Exact copies are held back, not checked. Numbering them takes a window over whole
    # rows, so it runs over the rows that have a copy only: few or none.
    copied = f"copied_{name}"
    run.engine.create(copied, f"""select _record_id, _row_hash from {q(bronze)} where _record_id is not null
                                  group by _record_id, _row_hash having count(*) > 1""")
    has_copy = (f"exists (select 1 from {q(copied)} c "
                f"where c._record_id = b._record_id and c._row_hash = b._row_hash)")
    numbered = f"""select b.*, 1 as _copy from {q(bronze)} b where not {has_copy}
                   union all
                   select b.*, row_number() over (partition by _record_id, _row_hash order by _ingested_at)
                          as _copy from {q(bronze)} b where {has_copy}"""
    kept = "(_copy = 1 or _record_id is null)"
    released = (f"_row_hash in (select row_hash from quarantine_releases where source = {lit(name)})"
                if releases else None)
    checked = f"checked_{name}"
    results = evaluate(run, name, checked, numbered, suite, personal, kept=kept, released=released,
                       whole=bronze)
    run.engine.create(f"valid_{name}", f"select {cols} from {q(checked)} where {kept} and _reason is null")
    unparsed = ", ".join(lit(name) if c == "_source" else f"cast(null as {t}) as {q(c)}"
                         for c, t in columns)
    run.engine.create(
        f"quarantine_{name}",
        f"""select {cols}, coalesce(_reason, 'exact duplicate of another row') as _reason,
                   _failed_expectations, cast(null as string) as _file, cast(null as bigint) as _line,
                   cast(null as string) as _raw_line, {lit(run.run_id)} as _run_id
            from {q(checked)} where _reason is not null or not {kept}
            union all
            select {unparsed}, _reason, cast(null as string), _file, _line, _raw_line, {lit(run.run_id)}
            from {q(rejects_table(name))}""",
    )
    run.engine.drop(checked)
    run.engine.drop(copied)
    run.engine.publish(f"quarantine_{name}", run.lakehouse, f"quarantine/{name}", run.run_id)
    run.count(name, "quarantined", run.engine.count(f"quarantine_{name}"))
    return results


def evaluate(run: Run, label: str, checked: str, rows_sql: str, suite: list[Expectation],
             personal: set[str], kept: str = "true", released: str | None = None,
             whole: str | None = None) -> list[dict]:
    """Results of `suite` on the rows of `rows_sql` for which `kept` holds.

    Leaves engine table `checked` with `_fail_<key>` flags and a `_reason` for kept rows
    that fail a quarantine-severity expectation (unless `released` holds for them).
    Table-level expectations observe the table `whole` (default: `checked`)."""
    d = run.engine.dialect
    lit = d.literal
    formats = run.config.standardise.date_formats
    rows = [e for e in suite if e.row_level]
    quarantining = [e for e in rows if e.severity == "quarantine"]
    duplicates = [duplicates_sql(e, d, rows_sql, kept) for e in rows if "unique" in e.type]
    counts = "".join(f", {column}" for column, _ in duplicates)
    joins = " ".join(join for _, join in duplicates)
    flags = "".join(f", coalesce({unexpected_sql(e, d, formats)}, false) as _fail_{e.key}" for e in rows)
    hold = f"{kept} and not ({released})" if released else kept

    def held(texts: list[str]) -> str:
        if not texts:
            return "cast(null as string)"
        return f"case when {hold} then nullif(concat_ws('; ', {', '.join(texts)}), '') end"

    reasons = held([f"case when _fail_{e.key} then {lit(e.why())} end" for e in quarantining])
    labels = held([f"case when _fail_{e.key} then {lit(e.label())} end" for e in quarantining])
    run.engine.create(
        checked,
        f"""with counted as (select s.*{counts} from ({rows_sql}) s {joins}),
                 flagged as (select *{flags} from counted)
            select *, {reasons} as _reason, {labels} as _failed_expectations from flagged""",
    )
    return (_row_level_results(run, label, checked, rows, personal, kept)
            + _table_level_results(run, label, whole or checked, [e for e in suite if not e.row_level], personal))


def _row_level_results(run: Run, label: str, checked: str, rows: list[Expectation],
                       personal: set[str], kept: str) -> list[dict]:
    if not rows:
        return []
    d = run.engine.dialect
    checked = d.quote(checked)
    measures = ", ".join(
        f"sum(case when _fail_{e.key} then 1 else 0 end), {denominator_sql(e, d)}" for e in rows)
    counts = run.engine.rows(f"select count(*), {measures} from {checked} where {kept}")[0]
    total, results = counts[0], []
    for i, e in enumerate(rows):
        unexpected, measured = int(counts[1 + 2 * i] or 0), int(counts[2 + 2 * i] or 0)
        share = unexpected / measured if measured else 0.0
        success = share <= 1 - float(e.kwargs.get("mostly", 1.0)) + 1e-12
        sample = [] if not unexpected or not e.column else [
            r[0] for r in run.engine.rows(
                f"select distinct cast({d.quote(e.column)} as string) from {checked} "
                f"where {kept} and _fail_{e.key} and {d.quote(e.column)} is not null limit {SAMPLE_SIZE}")]
        if e.column in personal:
            sample = [mask(v) for v in sample]
        observed = f"{unexpected:,} unexpected of {measured:,} ({100 * share:.2f}%)"
        results.append(_result(run, label, e, success, observed, total, unexpected, 100 * share, sample))
    return results


def _table_level_results(run: Run, label: str, table: str, tables: list[Expectation],
                         personal: set[str]) -> list[dict]:
    if not tables:
        return []
    d = run.engine.dialect
    formats = run.config.standardise.date_formats
    columns = [c for c, _ in run.engine.columns(table)]
    metrics = [(e.key, metric_sql(e, d, formats, columns)) for e in tables]
    wanted = [(k, sql) for k, sql in metrics if sql is not None]
    row = run.engine.rows(f"select {', '.join(['count(*)'] + [sql for _, sql in wanted])} from {d.quote(table)}")[0]
    values = {k: v for (k, _), v in zip(wanted, row[1:])}
    results = []
    for e in tables:
        success, observed = table_success(e, values.get(e.key), columns)
        if e.column in personal and e.type != "expect_column_to_exist":
            observed = "(masked: personal data)"
        results.append(_result(run, label, e, success, observed, row[0], None, None, []))
    return results


def _result(run: Run, source: str, e: Expectation, success: bool, observed: str, total: int,
            unexpected: int | None, percent: float | None, sample: list[str]) -> dict:
    return {
        "run_id": run.run_id, "source": source, "suite": f"{source}.{e.origin}",
        "expectation": e.type, "column": ", ".join(e.columns) or None,
        "kwargs": json.dumps(e.kwargs, sort_keys=True, default=str), "severity": e.severity,
        "origin": e.origin,
        "success": bool(success), "observed_value": observed, "element_count": total,
        "unexpected_count": unexpected, "unexpected_percent": percent,
        "unexpected_sample": json.dumps(sample),
    }


def mask(value: str) -> str:
    """A personal value as its shape (`Jo Smith` -> `Aa Aa+`): says what is wrong, not who."""
    out, prev = [], ""
    for ch in value:
        cls = "9" if ch.isdigit() else "A" if ch.isupper() else "a" if ch.isalpha() else ch
        if cls in "Aa" and prev in (cls, cls + "+"):
            out[-1], prev = cls + "+", cls + "+"
            continue
        out.append(cls)
        prev = cls
    return "".join(out)


def record_results(run: Run, results: list[dict]) -> None:
    if results:
        run.lakehouse.write("audit/validation_results", pa.Table.from_pylist(results, VALIDATION_SCHEMA),
                            run.run_id, mode="append")
    failed = [r for r in results if not r["success"]]
    for r in failed:
        if r["severity"] == "warn":
            run.warn(f"source {r['source']}: {r['expectation']}({r['column'] or ''}) failed: {r['observed_value']}")


def stop_on_errors(results: list[dict]) -> None:
    errors = [r for r in results if not r["success"] and r["severity"] == "error"]
    if errors:
        raise ValidationFailed(
            f"{len(errors)} expectation(s) graded error failed: " + "; ".join(
                f"source {r['source']}: {r['expectation']}({r['column'] or ''}) observed {r['observed_value']}"
                for r in errors)
            + ". Fix the source, or re-grade the expectation (severity: warn or quarantine)"
        )


def _load_releases(run: Run) -> bool:
    if not run.lakehouse.exists(RELEASES):
        return False
    run.engine.load("quarantine_releases", run.lakehouse, RELEASES)
    return True


def output_suites(run: Run) -> dict[str, list[Expectation]]:
    """What gold must satisfy before it replaces the published tables."""
    silver = run.engine.count("silver_records")
    [(customers,)] = run.engine.rows("select count(distinct customer_id) from customer_xref")

    def check(kind: str, **kwargs) -> Expectation:
        return Expectation(kind, kwargs, "error", "output")

    suites = {
        "customers": [
            check("expect_column_values_to_not_be_null", column="customer_id"),
            check("expect_column_values_to_be_unique", column="customer_id"),
            check("expect_table_row_count_to_equal", value=customers),
        ],
        "customer_xref": [
            check("expect_column_values_to_not_be_null", column="record_key"),
            check("expect_column_values_to_be_unique", column="record_key"),
            check("expect_column_values_to_not_be_null", column="customer_id"),
            check("expect_table_row_count_to_equal", value=silver),
        ],
    }
    if run.config.event_sources:  # one row per customer, as gold/customers
        suites["customer_metrics"] = [
            check("expect_column_values_to_not_be_null", column="customer_id"),
            check("expect_column_values_to_be_unique", column="customer_id"),
            check("expect_table_row_count_to_equal", value=customers),
        ]
    return {table: [replace(e, key=i) for i, e in enumerate(suite)] for table, suite in suites.items()}


def check_outputs(run: Run) -> None:
    """Gold's own suite: one golden record per customer, every silver record once in the xref."""
    results = []
    for table, suite in output_suites(run).items():
        results += evaluate(run, f"gold/{table}", f"checked_{table}", f"select * from {table}", suite, set())
        run.engine.drop(f"checked_{table}")
    record_results(run, results)
    stop_on_errors(results)
