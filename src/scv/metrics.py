"""Customer metrics: what each customer's events add up to, and their RFM segment.

gold/customer_metrics has one row per customer (every customer of gold/customers, so a
customer without events is a row too, with `event_count` 0 and no scores). An event
reaches its customer through its record: silver/events.record_key -> the customer of that
record in customer_xref, so the orders of a web-shop account count for the person the
account was linked to, together with the events of their other records.

Recency, frequency and monetary scores are quintiles (SQL `ntile(5)`) over the customers
with events: 5 is the most recent last event, the most events, the highest total amount.
Equal values are ordered by customer id, so the same data always gets the same scores
(equal values at a quintile's edge may fall into neighbouring scores). The segment is the
first row of RFM_SEGMENTS whose score ranges hold the customer's scores.

Everything is set-based SQL over engine tables: `metrics_sql` over another xref (a subset
of customers) gives their metrics, with quintiles over that subset.
"""

from __future__ import annotations

from datetime import timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scv.engine.base import Dialect
    from scv.pipeline import Run

GOLD_METRICS = "gold/customer_metrics"
ANY = (1, 5)
# (segment, recency, frequency, monetary): inclusive score ranges; the first that fits wins.
RFM_SEGMENTS = (
    ("champions", (4, 5), (4, 5), (4, 5)),   # bought lately, often, and spent the most
    ("loyal", (3, 5), (4, 5), ANY),          # buy often and not long ago
    ("new", (4, 5), (1, 2), ANY),            # bought lately, but seldom so far
    ("promising", (3, 5), ANY, ANY),         # fairly recent, middling frequency
    ("at risk", (1, 2), (3, 5), ANY),        # used to buy often, not lately
    ("hibernating", (1, 2), (1, 2), ANY),    # long ago and seldom
)
SCORES = ("recency_score", "frequency_score", "monetary_score")


def segment_sql(d: Dialect) -> str:
    """The RFM_SEGMENTS table as a CASE over the three scores; null without scores."""
    whens = []
    for name, *ranges in RFM_SEGMENTS:
        held = [f"{score} between {low} and {high}" for score, (low, high) in zip(SCORES, ranges)
                if (low, high) != ANY]
        whens.append(f"when {' and '.join(held)} then {d.literal(name)}")
    return f"case {' '.join(whens)} end"


def metrics_sql(run: Run, xref: str) -> str:
    """Metrics of the customers of engine table `xref` (record_key, customer_id) from
    engine table silver_events; recency is counted from the run's start."""
    d = run.engine.dialect
    q = d.quote
    start = run.started_at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    now = f"cast({d.literal(start)} as {d.timestamp_type})"
    recency = f"cast(floor({d.epoch_days(now)} - {d.epoch_days('s.last_event_at')}) as bigint)"

    def quintile(value: str) -> str:
        """ntile over the customers that have a value; null for those without."""
        return (f"case when {value} is not null then ntile(5) over (partition by {value} is null "
                f"order by {value}, customer_id) end")

    return f"""
        with owned as (
            select x.customer_id, e.{q('at')} as event_at, e.amount
            from silver_events e join {q(xref)} x on e.record_key = x.record_key),
        totals as (
            select customer_id, min(event_at) as first_event_at, max(event_at) as last_event_at,
                   count(*) as event_count, sum(amount) as total_amount, avg(amount) as average_amount
            from owned group by customer_id),
        scored as (
            select *, {quintile('last_event_at')} as recency_score,
                   {quintile('event_count')} as frequency_score,
                   {quintile('total_amount')} as monetary_score
            from totals),
        customers as (select distinct customer_id from {q(xref)})
        select c.customer_id,
               cast(s.first_event_at as {d.timestamp_type}) as first_event_at,
               cast(s.last_event_at as {d.timestamp_type}) as last_event_at,
               cast(coalesce(s.event_count, 0) as bigint) as event_count,
               cast(s.total_amount as double) as total_amount,
               cast(s.average_amount as double) as average_amount,
               {recency} as recency_days,
               cast(s.recency_score as int) as recency_score,
               cast(s.frequency_score as int) as frequency_score,
               cast(s.monetary_score as int) as monetary_score,
               cast({segment_sql(d)} as string) as rfm_segment
        from customers c left join scored s on c.customer_id = s.customer_id"""


def count_unmatched(run: Run) -> None:
    """Events whose record has no customer (no silver record with that key) stay in
    silver/events but count for no customer: counted per source and warned about."""
    unmatched = dict(run.engine.rows(
        """select e.source, count(*) from silver_events e
           left join customer_xref x on e.record_key = x.record_key
           where x.record_key is null group by e.source"""))
    for name, source in run.config.event_sources.items():
        n = unmatched.get(name, 0)
        run.count(name, "unmatched_events", n)
        if n:
            run.warn(f"source {name}: {n:,} event(s) belong to no {source.record_of} record in silver "
                     "(unknown, quarantined or expired); kept in silver/events, in no customer's metrics")


def customer_metrics(run: Run) -> None:
    """The golden stage's step: engine table customer_metrics, when the project has events."""
    if not run.config.event_sources:
        return
    count_unmatched(run)
    run.engine.create("customer_metrics", metrics_sql(run, "customer_xref"))


def publish_metrics(run: Run) -> None:
    if run.config.event_sources:
        run.engine.publish("customer_metrics", run.lakehouse, GOLD_METRICS, run.run_id)
