"""Retention: records past their keep-for period leave on every run, with no history left.

A rule names a source (or `*`), a period and the column that holds a record's last
activity (by default the source's `updated_at`). At ingest, records whose activity is
older than the run's start minus the period are dropped before bronze is written and
counted as `expired` (and, in the ledger, as `suppressed`). A record without a readable
date is kept: retention removes what is known to be old, never what is unknown. When a
run has expired anything, the history of every record-holding table is purged as for an
erasure, so the old versions that still held those records go too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from scv.config import Source, period_days
from scv.errors import ConfigError
from scv.standardise import from_parts

if TYPE_CHECKING:
    from scv.pipeline import Run

NOT_PURGED = ("audit/",)  # run ledgers and check results hold counts, not records


def expire(run: Run, name: str, source: Source, table: str) -> int | None:
    """Drop the expired records of engine table `table` in place; None when no rule applies."""
    rules = [r for r in run.config.compliance.retention if r.source in ("*", name)]
    if not rules:
        return None
    d = run.engine.dialect
    q = d.quote
    expired = []
    for i, rule in enumerate(rules):
        column = rule.column or source.updated_at or source.at  # an event's activity is its time
        parts = [column] if column else source.parts("updated_at")
        if not parts:
            raise ConfigError(
                f"compliance.retention: source {name} has no updated_at; "
                f"give the rule a `column:` that holds each record's last activity")
        for column in parts:
            if column not in [c for c, _ in run.engine.columns(table)]:
                raise ConfigError(f"compliance.retention: column '{column}' is not in source {name}")
        cutoff = (run.started_at - timedelta(days=period_days(rule.keep_for))).replace(tzinfo=None)
        value, _ = from_parts(d, "updated_at", [q(c) for c in parts])
        activity = d.parse_timestamp(f"trim(cast({value} as string))", run.config.standardise.date_formats)
        expired.append(f"{activity} < cast({d.literal(cutoff.isoformat(sep=' '))} as {d.timestamp_type})")
    before = run.engine.count(table)
    kept = f"unexpired_{name}"
    run.engine.create(kept, f"select * from {q(table)} where not coalesce({' or '.join(expired)}, false)")
    run.engine.create(table, f"select * from {q(kept)}")
    run.engine.drop(kept)
    return before - run.engine.count(table)


def purge_expired(run: Run) -> None:
    """After a run that expired records: no older version of a table may still hold them."""
    if not run.total("expired"):
        return
    for table in run.lakehouse.tables():
        if not table.startswith(NOT_PURGED):
            run.lakehouse.purge_history(table, run.run_id)
