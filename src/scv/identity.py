"""Customer ids: which id each cluster of records carries, stable from run to run.

A customer id is opaque (`C` + 12 upper-case hex digits of an MD5 of a fixed salt, the
cluster's lowest record key and an attempt number): it says nothing about the person, and
depends on neither the engine, the row order nor the run. It survives re-runs because the
previous assignment (gold/customer_xref) decides first, record by record:

- each previous id goes to the one new cluster that holds most of its records (ties: the
  cluster holding the lowest of those record keys);
- a cluster given several ids keeps the oldest (issued in the earliest run, ties by id), the
  others are retired as `merge` into it;
- a cluster given none gets a new id: `split` when it holds previous records (from the id
  holding most of them), `new` when it holds none; an id that was ever issued is never
  issued again (gold/customer_id_history and the previous xref say which were);
- a previous id none of whose records remain is `retired`.

Engine tables in: `clusters(record_key, cluster_id)`, and from `load_previous_assignment`
`previous_customer_ids(record_key, customer_id)` and `issued_customer_ids(customer_id,
issued_at)`. Engine tables out: `customer_clusters(cluster_id, customer_id)`, read by the
golden stage, and `customer_id_changes` (the rows gold/customer_id_history gains).

An incremental run may hold only the affected clusters in `clusters`; it must then restrict
`previous_customer_ids` to the whole previous customers that have a record there (a
previous customer outside them is untouched, so it neither moves nor retires).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pyarrow as pa

from scv.errors import ScvError

if TYPE_CHECKING:
    from scv.engine import Engine
    from scv.pipeline import Run

CUSTOMER_ID_PREFIX = "C"
ID_SALT = "scv/customer_id/v1"  # fixed: the same cluster key gives the same id in every lakehouse
XREF = "gold/customer_xref"
HISTORY = "gold/customer_id_history"
NEW, MERGE, SPLIT, RETIRED = "new", "merge", "split", "retired"
FIRST_ROUND_ATTEMPTS, LATER_ROUND_ATTEMPTS, MAX_ROUNDS = 1, 8, 50

PREVIOUS_SCHEMA = pa.schema([("record_key", pa.string()), ("customer_id", pa.string())])
ISSUED_SCHEMA = pa.schema([("customer_id", pa.string()), ("issued_at", pa.timestamp("us"))])


def load_previous_assignment(run: Run) -> None:
    """Engine tables `previous_customer_ids` (the published xref) and `issued_customer_ids`
    (every id gold has ever held, with the time it was issued; null for ids issued before
    the history was kept, which makes them the oldest). Empty on a new lakehouse."""
    engine, lake = run.engine, run.lakehouse
    if lake.exists(XREF):
        engine.load("previous_customer_xref", lake, XREF)
        engine.create("previous_customer_ids", "select record_key, customer_id from previous_customer_xref")
        engine.drop("previous_customer_xref")
    else:
        engine.read_arrow("previous_customer_ids", PREVIOUS_SCHEMA.empty_table())
    ever = ["select customer_id, cast(null as {ts}) as issued_at from previous_customer_ids"]
    if lake.exists(HISTORY):
        engine.load("previous_customer_id_history", lake, HISTORY)
        ever += ["select new_customer_id, changed_at from previous_customer_id_history "
                 "where new_customer_id is not null",
                 "select old_customer_id, cast(null as {ts}) from previous_customer_id_history "
                 "where old_customer_id is not null"]
    ts = engine.dialect.timestamp_type
    engine.create("issued_customer_ids", f"""
        select customer_id, min(issued_at) as issued_at
        from ({' union all '.join(s.format(ts=ts) for s in ever)}) ids group by customer_id""")
    if lake.exists(HISTORY):
        engine.drop("previous_customer_id_history")


def assign_customer_ids(run: Run) -> None:
    """Engine tables `customer_clusters` and `customer_id_changes` for this run's clusters."""
    assign(run.engine, run.run_id, run.started_at)


def assign(engine: Engine, run_id: str, changed_at: datetime) -> None:
    """The assignment as set-based SQL over the engine tables named in the module docstring."""
    d = engine.dialect
    engine.create("customer_id_overlap", """
        select c.cluster_id, p.customer_id, count(*) as records, min(c.record_key) as first_record
        from clusters c join previous_customer_ids p on c.record_key = p.record_key
        group by c.cluster_id, p.customer_id""")
    # each previous id to its best cluster; each cluster ranks the ids it was given, oldest first
    engine.create("customer_id_claims", """
        with best as (
            select o.*, row_number() over (partition by customer_id
                                           order by records desc, first_record) as place
            from customer_id_overlap o)
        select b.cluster_id, b.customer_id, b.records,
               row_number() over (partition by b.cluster_id
                                  order by i.issued_at asc nulls first, b.customer_id) as age
        from best b left join issued_customer_ids i on b.customer_id = i.customer_id
        where b.place = 1""")
    engine.create("customer_id_unclaimed", """
        with keys as (select cluster_id, min(record_key) as cluster_key, count(*) as records
                      from clusters group by cluster_id),
             source as (select cluster_id, customer_id, records, row_number() over (
                            partition by cluster_id order by records desc, first_record) as place
                        from customer_id_overlap)
        select k.cluster_id, k.cluster_key, coalesce(s.records, k.records) as records,
               s.customer_id as split_from
        from keys k left join customer_id_claims c on k.cluster_id = c.cluster_id and c.age = 1
        left join source s on k.cluster_id = s.cluster_id and s.place = 1
        where c.cluster_id is null""")
    _issue_new_ids(engine)
    engine.create("customer_clusters", """
        select cluster_id, customer_id from customer_id_claims where age = 1
        union all select cluster_id, customer_id from customer_id_issued_now""")
    when = changed_at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    run = f"{d.literal(run_id)} as run_id, cast({d.literal(when)} as {d.timestamp_type}) as changed_at"
    engine.create("customer_id_changes", f"""
        with kept as (select cluster_id, customer_id from customer_id_claims where age = 1),
             changes as (
                select c.customer_id as old_customer_id, k.customer_id as new_customer_id,
                       {d.literal(MERGE)} as change, c.records as records_moved
                from customer_id_claims c join kept k on c.cluster_id = k.cluster_id where c.age > 1
                union all
                select n.split_from, n.customer_id,
                       case when n.split_from is null then {d.literal(NEW)} else {d.literal(SPLIT)} end,
                       n.records
                from customer_id_issued_now n
                union all
                select p.customer_id, cast(null as string), {d.literal(RETIRED)}, count(*)
                from previous_customer_ids p left join customer_id_overlap o on p.customer_id = o.customer_id
                where o.customer_id is null group by p.customer_id)
        select {run}, old_customer_id, new_customer_id, change, cast(records_moved as bigint) as records_moved
        from changes""")
    for name in ("customer_id_overlap", "customer_id_claims", "customer_id_unclaimed", "customer_id_issued_now"):
        engine.drop(name)


def _issue_new_ids(engine: Engine) -> None:
    """Engine table `customer_id_issued_now(cluster_id, customer_id, split_from, records)`:
    a new id for each unclaimed cluster.

    Candidates are tried in rounds, attempt 0 first: a candidate is refused when it was ever
    issued, was given in an earlier round, or is another cluster's candidate in this round
    (then neither gets it), so no two clusters share an id whatever order rows come in.
    """
    d = engine.dialect
    key = f"concat({d.literal(ID_SALT + ':')}, u.cluster_key, ':', cast(a.attempt as string))"
    candidate = f"concat({d.literal(CUSTOMER_ID_PREFIX)}, upper(substr(md5({key}), 1, 12)))"
    engine.create("customer_id_issued_now", """
        select cluster_id, cast(null as string) as customer_id, split_from, records
        from customer_id_unclaimed where 1 = 0""")
    engine.create("customer_id_waiting", "select * from customer_id_unclaimed")
    first = 0
    for round_ in range(MAX_ROUNDS):
        if not engine.count("customer_id_waiting"):
            break
        n = FIRST_ROUND_ATTEMPTS if round_ == 0 else LATER_ROUND_ATTEMPTS
        engine.read_arrow("customer_id_attempts", pa.table({"attempt": pa.array(range(first, first + n), pa.int64())}))
        first += n
        engine.create("customer_id_candidates", f"""
            select u.cluster_id, a.attempt, {candidate} as customer_id
            from customer_id_waiting u cross join customer_id_attempts a""")
        engine.create("customer_id_chosen", """
            with shared as (select customer_id from customer_id_candidates
                            group by customer_id having count(*) > 1),
                 free as (
                    select c.* from customer_id_candidates c
                    left join issued_customer_ids i on c.customer_id = i.customer_id
                    left join customer_id_issued_now n on c.customer_id = n.customer_id
                    left join shared s on c.customer_id = s.customer_id
                    where i.customer_id is null and n.customer_id is null and s.customer_id is null),
                 ranked as (select cluster_id, customer_id,
                                   row_number() over (partition by cluster_id order by attempt) as place
                            from free)
            select u.cluster_id, r.customer_id, u.split_from, u.records
            from customer_id_waiting u join ranked r on u.cluster_id = r.cluster_id and r.place = 1""")
        engine.create("customer_id_issued_now", """
            select * from customer_id_issued_now union all select * from customer_id_chosen""")
        engine.create("customer_id_waiting", """
            select u.* from customer_id_waiting u
            left join customer_id_chosen c on u.cluster_id = c.cluster_id where c.cluster_id is null""")
    if engine.count("customer_id_waiting"):
        raise ScvError(f"customer ids: no free id found for some clusters after {MAX_ROUNDS} rounds")
    for name in ("customer_id_waiting", "customer_id_attempts", "customer_id_candidates", "customer_id_chosen"):
        engine.drop(name)


def publish_customer_id_history(run: Run) -> None:
    """Append this run's id changes to gold/customer_id_history; nothing when ids stood still."""
    if run.engine.count("customer_id_changes"):
        run.engine.publish("customer_id_changes", run.lakehouse, HISTORY, run.run_id, mode="append")
