"""Golden records: one row per customer, built from the records of its cluster.

Each golden field survives by a rule (scv.survivorship): by default names from the most
complete record, email and phone from the most recent valid one, the address fields
together from one record, date of birth the most frequent. `golden.rules` in scv.yaml
changes any of them, `golden.views` builds further golden tables from a subset of the
records, and `golden.flags` adds boolean columns to the xref and the customers.
gold/customer_lineage says which record and rule each value came from.

Everything here is SQL over engine tables (`silver_records`, `clusters`,
`customer_clusters`, `cluster_review`), so restricting them restricts what is rebuilt.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from scv.clusters import source_of
from scv.config import ADDRESS_FIELDS, CANONICAL_FIELDS
from scv.identity import assign_customer_ids, load_previous_assignment, publish_customer_id_history
from scv.increment import LINEAGE_COLUMNS
from scv.metrics import customer_metrics, publish_metrics
from scv.standardise import AUDIT_COLUMNS, MATCH_KEYS, SILVER_KEYS
from scv.survivorship import RECORD_RANKS, Rule, View, check_sql, condition, plan, suppression, survive
from scv.validate import check_outputs

if TYPE_CHECKING:
    from scv.pipeline import Run

MATCH_FIELDS = tuple(f for f in CANONICAL_FIELDS if f not in ("created_at", "updated_at"))
LINEAGE = "customer_lineage"
LINEAGE_TABLE = f"gold/{LINEAGE}"
# Survivorship folds the customers of several records part by part, at most this many of
# their records a GB of the engine's memory limit: DuckDB cannot spill the text a min_by
# holds. At 10M records 6.5 million such records (2.8 million customers) fold in one part
# within 9 GB, in 57 s against 76 s in five parts written and copied into one table.
RECORDS_PER_GB = 1_000_000


def rank_records(run: Run) -> None:
    """Engine view ranked_records: each silver record with its customer and what the rules
    rank by (completeness, recency, first seen, suppression) and the xref's own ranks
    (a cluster is one customer: survivorship orders by the same ranks).

    The ranks are a narrow table (record_ranks) that the view joins to silver: the
    records are read a few times, which costs less than writing them all again (a
    million wide rows, 3 s)."""
    q = run.engine.dialect.quote
    silver = [c for c, _ in run.engine.columns("silver_records")]

    def present(fields) -> str:
        return " + ".join(f"case when {q(f)} is not null then 1 else 0 end" for f in fields if f in silver) or "0"

    suppressed = suppression(run.engine, run.config.golden.suppressed_when, "silver_records")
    run.engine.create(
        "record_ranks",
        f"""with scored as (
                select s.record_key, c.cluster_id, {present(MATCH_FIELDS)} as _completeness,
                       {present(ADDRESS_FIELDS)} as _address_completeness,
                       coalesce(r.needs_review, false) as _needs_review, r.review_reason as _review_reason,
                       coalesce(s.updated_at, s.created_at) as _recency,
                       coalesce(s.created_at, s.updated_at) as _first_seen, {suppressed} as _suppressed,
                       i.customer_id
                from silver_records s join clusters c on s.record_key = c.record_key
                join customer_clusters i on c.cluster_id = i.cluster_id
                left join cluster_review r on c.cluster_id = r.cluster_id)
            select *, count(*) over (partition by cluster_id) as _cluster_size, {', '.join(
                f"row_number() over (partition by cluster_id order by {', '.join(o)}) as {rank}"
                for o, rank in RECORD_RANKS.items())}
            from scored""",
    )
    ranks = [c for c, _ in run.engine.columns("record_ranks") if c != "record_key"]
    run.engine.view("ranked_records", f"""select s.*, {', '.join(f'r.{q(c)}' for c in ranks)}
        from silver_records s join record_ranks r on r.record_key = s.record_key""")


def views(run: Run) -> list[View]:
    """gold/customers, then one golden table per `golden.views` entry."""
    g = run.config.golden
    silver_only = (*SILVER_KEYS, *MATCH_KEYS, *AUDIT_COLUMNS, *LINEAGE_COLUMNS)
    fields = [c for c, _ in run.engine.columns("silver_records") if c not in silver_only]
    return [plan("customers", fields, None, g.rules)] + [
        plan(f"customers_{name}", fields, v.filter, v.rules, g.rules) for name, v in g.views.items()]


def check_conditions(run: Run) -> None:
    """Every condition of `golden:` runs over silver's columns before any is used: else one
    line naming its key (a failure later could only name the stage)."""
    g = run.config.golden
    conditions = [("golden.suppressed_when", g.suppressed_when)]
    conditions += [(f"golden.flags.{name}", sql) for name, sql in g.flags.items()]
    conditions += [(f"golden.views.{name}.filter", v.filter) for name, v in g.views.items()]
    for where, sql in conditions:
        if sql is not None:
            check_sql(run.engine, where, sql, "silver_records", aggregate=False)


def check_sql_rules(run: Run) -> None:
    """Every {sql: ...} rule runs as an aggregate over ranked_records, else one line naming its key."""
    g, engine = run.config.golden, run.engine
    rules = [("golden.rules", g.rules)] + [(f"golden.views.{name}.rules", v.rules) for name, v in g.views.items()]
    for where, layer in rules:
        for field, raw in layer.items():
            rule = Rule.of(raw)
            if rule.sql:
                check_sql(engine, f"{where}.{field}", rule.sql, "ranked_records", aggregate=True)


def survivorship_parts(run: Run) -> int:
    """How many parts survivorship folds the customers of several records in (one on an
    engine that spills any aggregate); a customer of one record is not folded."""
    limit = run.engine.memory_limit_bytes()
    if limit is None:
        return 1
    [(folded,)] = run.engine.rows("select count(*) from record_ranks where _cluster_size > 1")
    return max(1, math.ceil(folded / (limit / 1e9 * RECORDS_PER_GB)))


def golden(run: Run) -> None:
    load_previous_assignment(run)
    assign_customer_ids(run)
    check_conditions(run)
    rank_records(run)
    check_sql_rules(run)
    planned = views(run)
    engine, q = run.engine, run.engine.dialect.quote
    flags = run.config.golden.flags
    parts = survivorship_parts(run)
    chosen = " union all ".join(survive(engine, view, "ranked_records", flags, parts) for view in planned)
    # a row per customer and field (13 million at 1M records), read once, by publish_gold;
    # a record key is '<source>:<source_record_id>' (a source name holds no colon), so the
    # source and id come from the key rather than a join of every row with the records
    engine.view(LINEAGE, f"""select golden_table, customer_id, field, rule,
                                    {source_of('record_key')} as source, record_key,
                                    substr(record_key, instr(record_key, ':') + 1) as source_record_id,
                                    contributing_records
                             from ({chosen}) l""")
    record_flags = "".join(f", {condition(sql)} as {q(name)}" for name, sql in flags.items())
    engine.create(
        "customer_xref",
        f"""select source, source_record_id, record_key, customer_id,
                  _rank = 1 as golden_record, _rank = 1 as most_complete,
                  _recent_rank = 1 as most_recent, _cluster_size > 1 as duplicate{record_flags}
           from ranked_records""",
    )
    run.count(None, "customers", engine.count("customers"))
    customer_metrics(run)


def golden_tables(run: Run) -> list[str]:
    """gold/customers and one table per golden view."""
    return ["customers", *(f"customers_{v}" for v in run.config.golden.views)]


def gold_tables(run: Run) -> list[str]:
    """Engine tables published as gold/<name>."""
    return ["customers", "customer_xref", LINEAGE, *golden_tables(run)[1:]]


def publish_gold(run: Run) -> None:
    """Gold is written last, and only when it passes its own checks, so a run that fails
    earlier leaves it as it was."""
    check_outputs(run)
    for name in gold_tables(run):
        run.engine.publish(name, run.lakehouse, f"gold/{name}", run.run_id)
    run.engine.drop(LINEAGE)
    for name in golden_tables(run):
        run.engine.drop(f"{name}_chosen")  # what the lineage view read
    publish_customer_id_history(run)
    publish_metrics(run)
