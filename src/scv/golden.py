"""Golden records: one row per customer, built from the records of its cluster.

Records are ranked within their cluster, most complete first, then most recent, then
by record key so that ties always break the same way. Each golden field takes the
first non-null value in that order, so a gap in the best record is filled from the next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scv.config import CANONICAL_FIELDS
from scv.identity import assign_customer_ids
from scv.metrics import customer_metrics, publish_metrics
from scv.standardise import AUDIT_COLUMNS, MATCH_KEYS, SILVER_KEYS
from scv.validate import check_outputs

if TYPE_CHECKING:
    from scv.pipeline import Run

MATCH_FIELDS = tuple(f for f in CANONICAL_FIELDS if f not in ("created_at", "updated_at"))


def rank_records(run: Run) -> None:
    q = run.engine.dialect.quote
    filled = " + ".join(f"case when {q(f)} is not null then 1 else 0 end" for f in MATCH_FIELDS)
    run.engine.create(
        "ranked_records",
        f"""with scored as (
                select s.*, c.cluster_id, {filled} as _completeness,
                       coalesce(r.needs_review, false) as _needs_review, r.review_reason as _review_reason,
                       coalesce(s.updated_at, s.created_at) as _recency,
                       count(*) over (partition by c.cluster_id) as _cluster_size, i.customer_id
                from silver_records s join clusters c on s.record_key = c.record_key
                join customer_clusters i on c.cluster_id = i.cluster_id
                left join cluster_review r on c.cluster_id = r.cluster_id)
            select *,
                row_number() over (partition by cluster_id
                    order by _completeness desc, _recency desc nulls last, record_key) as _rank,
                row_number() over (partition by cluster_id
                    order by _recency desc nulls last, _completeness desc, record_key) as _recent_rank
            from scored""",
    )


def golden(run: Run) -> None:
    assign_customer_ids(run)
    rank_records(run)
    d = run.engine.dialect
    q = d.quote
    silver_only = (*SILVER_KEYS, *MATCH_KEYS, *AUDIT_COLUMNS, "_batch_id")
    carried = [c for c, _ in run.engine.columns("silver_records") if c not in silver_only]
    fields = ",\n".join(
        f"min_by({q(c)}, _rank) filter (where {q(c)} is not null) as {q(c)}" for c in carried
    )
    run.engine.create(
        "customers",
        f"""select customer_id, {fields},
                   count(*) as record_count, {d.sorted_set('source')} as sources,
                   min(created_at) as first_seen, max(_recency) as last_updated,
                   bool_or(_needs_review) as needs_review, max(_review_reason) as review_reason
            from ranked_records group by customer_id""",
    )
    run.engine.create(
        "customer_xref",
        """select source, source_record_id, record_key, customer_id,
                  _rank = 1 as golden_record, _rank = 1 as most_complete,
                  _recent_rank = 1 as most_recent, _cluster_size > 1 as duplicate
           from ranked_records""",
    )
    run.count(None, "customers", run.engine.count("customers"))
    customer_metrics(run)


def publish_gold(run: Run) -> None:
    """Gold is written last, and only when it passes its own checks, so a run that fails
    earlier leaves it as it was."""
    check_outputs(run)
    run.engine.publish("customers", run.lakehouse, "gold/customers", run.run_id)
    run.engine.publish("customer_xref", run.lakehouse, "gold/customer_xref", run.run_id)
    publish_metrics(run)
