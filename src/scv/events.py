"""Events sources: orders, visits or payments of another source's customer records.

An events source (`kind: events`) is ingested, profiled and validated like any source:
rows without an event id, a record id or a readable time, or with an amount that is no
number, are quarantined by its default expectations (scv.expectations.event_expectations).
Its valid rows are not customer records, so they are neither standardised into
silver/records nor linked: they become silver/events, each with the `record_key` of the
record it belongs to (`<record_of>:<record id>`), and reach a customer through that
record's customer in gold (scv.metrics).

An event whose record is not in silver/records (never sent, quarantined, expired) stays
in silver/events: it joins its customer on the run in which the record arrives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scv.pipeline import Run

SILVER_EVENTS = "silver/events"


def events_select(run: Run, name: str) -> str:
    """One events source's valid rows as silver/events rows."""
    d, source = run.engine.dialect, run.config.sources[name]
    q = d.quote

    def trimmed(column: str) -> str:
        return f"nullif(trim(cast(v.{q(column)} as string)), '')"

    at = d.parse_timestamp(f"trim(cast(v.{q(source.at)} as string))", run.config.standardise.date_formats)
    amount = f"try_cast({trimmed(source.amount)} as double)" if source.amount else "cast(null as double)"
    return f"""select concat({d.literal(name + ':')}, v._record_id) as event_key,
                      {d.literal(name)} as source, v._record_id as event_id,
                      concat({d.literal(source.record_of + ':')}, {trimmed(source.record_id)}) as record_key,
                      cast({at} as {d.timestamp_type}) as {q('at')}, cast({amount} as double) as amount, v._batch_id
               from {q(f'valid_{name}')} v"""


def cleanse_events(run: Run) -> None:
    """Engine table silver_events (published as silver/events) from every events source;
    nothing when the project has none. Counts each source's rows as `silver` for the ledger."""
    names = list(run.config.event_sources)
    if not names:
        return
    run.engine.create("silver_events", " union all ".join(events_select(run, name) for name in names))
    run.engine.publish("silver_events", run.lakehouse, SILVER_EVENTS, run.run_id)
    counts = dict(run.engine.rows("select source, count(*) from silver_events group by source"))
    for name in names:
        run.count(name, "silver", counts.get(name, 0))
