"""Incremental runs: standardise and link only what changed since the last run.

A run is incremental when the last successful run left a consistent state behind
(silver, pairs and gold all written by it, its model saved) under the same project
file and engine. Records whose row hash is unchanged keep their silver row and their
pairs; new and changed records are standardised, then scored with the last run's model
against every record and among themselves. Clusters, ids and golden records are then
rebuilt from all pairs, so an incremental run gives what a full run with the same model
gives. Records that vanish from a source stay in silver, inactive. A full run
(`scv run --full`, a changed project file, or too much changed) retrains the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scv.pipeline import Run

MAX_CHANGED_SHARE = 0.5  # more new or changed records than this: train a new model
STATE_TABLES = ("silver/records", "silver/pairs", "gold/customer_xref")
# silver's own bookkeeping, not golden fields; last_customer_id: of an inactive record, for erasure
LINEAGE_COLUMNS = ("_batch_id", "_row_hash", "active", "last_customer_id")


@dataclass(frozen=True)
class Previous:
    """What the last successful run left: its id, the model it linked with and its threshold."""

    run_id: str
    model: dict
    threshold: float


def last_run(run: Run) -> dict | None:
    """The last successful run's audit row."""
    lake = run.lakehouse
    if not lake.exists("audit/runs"):
        return None
    runs = lake.read_table("audit/runs").to_pylist()
    done = [r for r in runs if r["status"] == "succeeded"]
    return max(done, key=lambda r: r["started_at"]) if done else None


def plan(run: Run, full: bool) -> None:
    """Decide whether the run can be incremental (`run.previous`) and say why not."""
    run.previous = None
    if full:
        run.mode_reason = "--full was asked for"
        return
    last = last_run(run)
    if last is None:
        run.mode_reason = "no earlier successful run"
        return
    why_not = _inconsistent(run, last)
    if why_not:
        run.mode_reason = why_not
        return
    facts = json.loads(last.get("linkage") or "{}")
    model = json.loads(run.lakehouse.read_file(f"models/{last['run_id']}.json"))
    run.previous = Previous(last["run_id"], model, float(facts.get("threshold", 0.9)))
    run.mode_reason = f"continues run {last['run_id']}"


def _inconsistent(run: Run, last: dict) -> str | None:
    if last["config_hash"] != run.config.hash():
        return f"the project file changed since run {last['run_id']}"
    if last["engine"] != run.engine.name:
        return f"run {last['run_id']} ran on {last['engine']}"
    for table in STATE_TABLES:
        if not run.lakehouse.exists(table) or run.lakehouse.info(table).last_run != last["run_id"]:
            return f"{table} was changed after run {last['run_id']} (an erasure, or a failed run)"
    if f"models/{last['run_id']}.json" not in run.lakehouse.files("models"):
        return f"run {last['run_id']} saved no model"
    return None


def load_previous_silver(run: Run) -> bool:
    """Engine tables `previous_silver` (every record the lakehouse holds) and
    `seen_records` (every record key read this run); False when there is no silver to carry."""
    if not run.lakehouse.exists("silver/records"):
        return False
    run.engine.load("previous_silver", run.lakehouse, "silver/records")
    if not {"_row_hash", "active"} <= {c for c, _ in run.engine.columns("previous_silver")}:
        return False  # written before scv kept row hashes: a full run rewrites it
    d = run.engine.dialect
    run.engine.create("seen_records", " union all ".join(
        f"select concat({d.literal(name + ':')}, _record_id) as record_key from {d.quote(f'seen_{name}')}"
        for name in run.config.record_sources))
    return True


def keep_unchanged(run: Run) -> None:
    """Engine table `unchanged_records`: the silver rows still right (same record, same row
    hash); their rows leave each source's valid rows, so only the rest is standardised.
    When more than MAX_CHANGED_SHARE changed, the run becomes a full one instead."""
    d = run.engine.dialect
    valid = " union all ".join(
        f"select concat({d.literal(name + ':')}, _record_id) as record_key, _row_hash from {d.quote(f'valid_{name}')}"
        for name in run.config.record_sources)
    run.engine.create("unchanged_records", f"""
        select p.* from previous_silver p join ({valid}) v
        on p.record_key = v.record_key and p._row_hash = v._row_hash""")
    unchanged = run.engine.count("unchanged_records")
    total = sum(run.engine.count(f"valid_{name}") for name in run.config.record_sources)
    if total and (total - unchanged) / total > MAX_CHANGED_SHARE:
        run.mode_reason = (f"{(total - unchanged) / total:.0%} of the records are new or changed "
                           f"(over {MAX_CHANGED_SHARE:.0%}): the model is trained afresh")
        run.previous = None
        run.engine.drop("unchanged_records")
        return
    for name in run.config.record_sources:
        prefix = d.literal(name + ":")
        run.engine.create(f"{name}__changed", f"""
            select v.* from {d.quote(f'valid_{name}')} v
            where not exists (select 1 from unchanged_records u
                              where u.record_key = concat({prefix}, v._record_id))""")
        run.engine.create(f"valid_{name}", f"select * from {d.quote(name + '__changed')}")
        run.engine.drop(f"{name}__changed")


def carry_forward(run: Run, columns: list[str]) -> None:
    """Engine table `silver_records` gains the unchanged records; `changed_records` names the
    ones standardised this run; `inactive_records` are the records no source holds any more,
    kept (inactive) rather than lost. Records read but held back this run (quarantined,
    erased, expired) are neither."""
    q = run.engine.dialect.quote
    cols = ", ".join(q(c) for c in columns if c not in ("active", "last_customer_id"))
    active = f"{cols}, true as active, cast(null as string) as last_customer_id"
    run.engine.create("changed_records", "select record_key from silver_records")
    run.totals["previous_active"] = run.engine.rows("select count(*) from previous_silver where active")[0][0]
    if run.previous is not None:  # keep_unchanged ran and the run stayed incremental
        run.engine.create("silver_with_unchanged", f"""
            select {active} from silver_records union all select {active} from unchanged_records""")
        run.engine.create("silver_records", "select * from silver_with_unchanged")
        run.engine.drop("silver_with_unchanged")
        run.engine.drop("unchanged_records")
    gone = "not exists (select 1 from seen_records s where s.record_key = p.record_key)"
    last_customer, join = "p.last_customer_id", ""
    if run.lakehouse.exists("gold/customer_xref") and run.engine.rows(
            f"select count(*) from previous_silver p where {gone} and p.active")[0][0]:
        # records gone this run remember their customer, so that forgetting it reaches them too
        run.engine.load("previous_xref", run.lakehouse, "gold/customer_xref")
        last_customer = "coalesce(p.last_customer_id, x.customer_id)"
        join = "left join previous_xref x on x.record_key = p.record_key"
    run.engine.create("inactive_records", f"""
        select {", ".join(f"p.{q(c)}" for c in columns if c not in ("active", "last_customer_id"))},
               false as active, {last_customer} as last_customer_id
        from previous_silver p {join} where {gone}""")
    run.engine.drop("previous_xref")


def link_changed(run: Run):
    """Engine tables `pairs` and `clusters`: the last run's pairs between unchanged records,
    and the new and changed records scored with the last run's model against all records
    and among themselves, term frequencies taken over all of them as a full run takes them."""
    from scv.clusters import cluster
    from scv.households import weigh_homes
    from scv.link import PAIRS_FLOOR, link_type, new_linker, register_input, rescore, scv_comparisons, weight

    engine, previous = run.engine, run.previous
    settings = {k: v for k, v in previous.model.items() if k != "linker_uid"}
    settings["link_type"] = link_type(run)
    linker = new_linker(register_input(engine), settings)
    in_changed = "record_key in (select record_key from changed_records)"
    engine.create("link_changed", f"select * from link_inputs where {in_changed}")
    engine.create("link_unchanged", f"select * from link_inputs where not {in_changed}")
    engine.load("previous_pairs", run.lakehouse, "silver/pairs")
    engine.create("kept_pairs", """select record_key_l, record_key_r from previous_pairs
        where record_key_l in (select record_key from link_unchanged)
          and record_key_r in (select record_key from link_unchanged)""")
    for column in linker._settings_obj._term_frequency_columns:
        linker.table_management.compute_tf_table(column.unquote().name)
    api, floor = engine.splink_api(), weight(PAIRS_FLOOR)
    kept_count = engine.count("kept_pairs")
    if kept_count == engine.count("previous_pairs") and not engine.count("link_changed") \
            and engine.count("link_unchanged") == run.totals.get("previous_active"):
        scored = [api.register("previous_pairs")]  # the same records: the same term frequencies, the same scores
    else:
        # the new records move the term frequencies, and a full run would score them with the new ones
        scored = [rescore(engine, linker, "kept_pairs", floor)] if kept_count else []
    if engine.count("link_changed"):
        changed, unchanged = api.register("link_changed"), api.register("link_unchanged")
        scored.append(linker.inference.predict_within(changed, threshold_match_weight=floor, warning_mode="never"))
        if engine.count("link_unchanged"):
            scored.append(linker.inference.predict_between(
                unchanged, changed, threshold_match_weight=floor, warning_mode="never"))
    # a pair is written with its lower key on the left, as a full run's blocking orders it
    engine.create("pairs", " union all ".join(
        f"""select least(record_key_l, record_key_r) as record_key_l,
                   greatest(record_key_l, record_key_r) as record_key_r, match_weight, match_probability
            from {found.physical_name}""" for found in scored) if scored else
        "select * from previous_pairs where false")
    if scv_comparisons(run):  # as a full run does, over all the records
        weigh_homes(run, linker, floor)
    engine.create("pairs_to_cluster", "select record_key_l, record_key_r, match_weight, match_probability from pairs")
    run.linkage_facts.update(threshold=previous.threshold, model_source="last run",
                             continued_run=previous.run_id, pairs_kept=kept_count)
    cluster(run, linker, engine.splink_api().register("pairs_to_cluster"), weight(previous.threshold))
    for table in ("link_changed", "link_unchanged", "previous_pairs", "kept_pairs",
                  "pairs_to_cluster"):
        engine.drop(table)
    run.lakehouse.save_model(run.run_id, previous.model)
    return linker
