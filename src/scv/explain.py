"""Explain: why two records were or were not linked, comparison by comparison.

The pair is scored again with the model the last linking run saved, on the columns
linkage compares (`scv.link.link_input_sql`), with term frequencies taken over all of
silver/records as linkage took them: so the weights add up to the match weight that run
gave the pair. Personal values appear as their shape unless revealed, in the terminal
and in the chart alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.dataset as ds

from scv.config import CANONICAL_FIELDS, ProjectConfig
from scv.errors import ScvError
from scv.lakehouse import Lakehouse
from scv.link import FALLBACK_THRESHOLD, PAIRS_FLOOR, new_linker, register_input
from scv.pipeline import Run
from scv.quality_tables import PERSONAL_FIELDS
from scv.validate import mask

if TYPE_CHECKING:
    from scv.project import Project


@dataclass(frozen=True)
class ComparisonWeight:
    """One comparison's verdict: the level the pair reached and the weight it adds."""

    name: str
    level: str
    match_weight: float  # log2 Bayes factor, term-frequency adjustment included
    tf_adjustment: float  # the part of match_weight owed to how common the value is (0 if none)
    value_a: str | None
    value_b: str | None


@dataclass(frozen=True)
class Explanation:
    run_id: str  # the run whose model scored the pair
    record_key_a: str
    record_key_b: str
    prior_match_weight: float  # log2 of the prior odds that two random records match
    comparisons: list[ComparisonWeight]
    match_weight: float  # prior plus every comparison's weight
    match_probability: float
    found_by_blocking_rules: bool  # whether linkage would have scored the pair at all
    pairs_match_probability: float | None  # the pair's probability in silver/pairs, if kept
    customer_ids: dict[str, str | None]  # record key -> customer id in gold/customer_xref
    threshold: float
    revealed: bool
    notes: list[str]
    chart: object = field(repr=False, compare=False)  # Splink's waterfall chart

    @property
    def in_pairs(self) -> bool:
        return self.pairs_match_probability is not None

    @property
    def same_customer(self) -> bool | None:
        """None when there are no golden records yet."""
        a, b = (self.customer_ids.get(k) for k in (self.record_key_a, self.record_key_b))
        return None if a is None or b is None else a == b

    @property
    def pairs_verdict(self) -> str:
        """Why the pair is, or is not, in silver/pairs."""
        if self.in_pairs:
            return f"in silver/pairs with match probability {self.pairs_match_probability:.4f}"
        if not self.found_by_blocking_rules:
            return "not in silver/pairs: no blocking rule admits the pair, so linkage never scored it"
        if self.match_probability < PAIRS_FLOOR:
            return f"not in silver/pairs: scored below {PAIRS_FLOOR}, the floor for keeping a pair"
        return "not in silver/pairs, although a blocking rule admits it: silver/records changed since the run"

    def write_html(self, path: str | Path) -> Path:
        """The waterfall chart as one HTML file with vega inlined: it loads nothing from the network."""
        self.chart.save_offline_chart(str(path), overwrite=True, print_msg=False)
        return Path(path)


def explain(project: Project, record_key_a: str, record_key_b: str, *, reveal: bool = False) -> Explanation:
    """Score two records of silver/records with the last linking run's model."""
    if record_key_a == record_key_b:
        raise ScvError("give two different record keys")
    lake = project.lakehouse
    run_id, model = _last_model(lake)
    _check_known(lake, [record_key_a, record_key_b])
    model |= {"retain_matching_columns": True, "retain_intermediate_calculation_columns": True}
    engine = _engine(project, model["sql_dialect"])
    try:
        record, chart = _score(Run(project.config, project.base_dir, lake, engine), model, run_id,
                               (record_key_a, record_key_b), reveal)
    finally:
        engine.close()
    steps = chart.chart_data  # prior, a bar per comparison (and its tf adjustment), final score
    return Explanation(
        run_id=run_id, record_key_a=record_key_a, record_key_b=record_key_b,
        prior_match_weight=steps[0]["log2_bayes_factor"],
        comparisons=_comparisons(steps, record),
        match_weight=record["match_weight"], match_probability=record["match_probability"],
        found_by_blocking_rules=bool(record["found_by_blocking_rules"]),
        pairs_match_probability=_pairs_probability(lake, record_key_a, record_key_b),
        customer_ids=_customer_ids(lake, [record_key_a, record_key_b]),
        threshold=run_threshold(lake, run_id), revealed=reveal, notes=_notes(lake, run_id), chart=chart,
    )


def run_threshold(lake: Lakehouse, run_id: str) -> float:
    """The probability a run clustered at (under `linkage.threshold: auto`, its own)."""
    runs = lake.read("audit/runs").to_table(filter=ds.field("run_id") == run_id).to_pylist()
    facts = json.loads(runs[0].get("linkage") or "{}") if runs else {}
    return facts.get("threshold", FALLBACK_THRESHOLD)


def _last_model(lake: Lakehouse) -> tuple[str, dict]:
    """The latest succeeded run that linked (a `scv validate` run does not) and its model."""
    runs = lake.read_table("audit/runs").to_pylist() if lake.exists("audit/runs") else []
    linked = [r for r in runs if r["status"] == "succeeded" and "link" in json.loads(r["stage_seconds"] or "{}")]
    if not linked:
        raise ScvError("no run has linked records yet: run `scv run` first")
    last = max(linked, key=lambda r: r["started_at"])
    run_id = last["run_id"]
    if f"models/{run_id}.json" not in lake.files("models"):
        if last["records_silver"] < 2:
            raise ScvError(f"run {run_id} had {last['records_silver']} record(s) in silver, fewer than 2: "
                           "nothing was linked, so there is no model to explain a pair with")
        raise ScvError(f"no saved model models/{run_id}.json for run {run_id}: run `scv run` first")
    return run_id, json.loads(lake.read_file(f"models/{run_id}.json"))


def _check_known(lake: Lakehouse, keys: list[str]) -> None:
    """An unknown key is an error that names it."""
    found = lake.read("silver/records").to_table(columns=["record_key"], filter=ds.field("record_key").isin(keys))
    known = set(found["record_key"].to_pylist())
    for key in keys:
        if key not in known:
            raise ScvError(
                f"no record '{key}' in silver/records: a record key is source:record id (see the "
                "record_key column; `scv status` lists the tables); quarantined and erased records are not linked")


def _engine(project: Project, dialect: str):
    """An engine of the dialect the model was trained in: Splink refuses any other."""
    if dialect == project.config.engine:
        return project.engine()
    from scv.project import Project

    config = ProjectConfig.model_validate(project.config.model_dump() | {"engine": dialect})
    return Project(config, project.base_dir).engine()


def _score(run: Run, model: dict, model_run: str, keys: tuple[str, str], reveal: bool):
    """The pair's scored row and its waterfall chart.

    The records are registered as linkage registered them, so Splink derives term
    frequencies from all of them; the two records are picked by joining a table of
    their keys, so no key is written into SQL.
    """
    engine, quote = run.engine, run.engine.dialect.quote
    engine.load("silver_records", run.lakehouse, "silver/records")
    api = engine.splink_api()
    try:
        linker = new_linker(register_input(engine, view=True), model)
    except Exception as err:  # noqa: BLE001 - the engine's or Splink's; names columns, not values
        raise ScvError(f"cannot build the columns linkage compares from silver/records for the model of run "
                       f"{model_run} ({type(err).__name__}; --debug shows it): if an older scv wrote them, "
                       "run `scv run` again") from err
    sides = []
    for side, key in zip("ab", keys):
        engine.read_arrow(f"explain_key_{side}", pa.table({"record_key": [key]}))
        engine.create(f"explain_{side}", f"""select * from link_inputs
            where record_key in (select record_key from {quote('explain_key_' + side)})""")
        sides.append(api.register(f"explain_{side}"))
    scored = linker.inference.score_pair(*sides, include_found_by_blocking_rules=True)
    record = scored.as_record_list()[0]
    if not reveal:
        compared = [c for c, _ in engine.columns("link_inputs") if c not in ("record_key", "source")]
        record = masked(record, compared)
    return record, linker.visualisations.waterfall_chart([record])


def masked(record: dict, compared: list[str]) -> dict:
    """Both sides' personal values as shapes (`Jo` -> `Aa`), as `scv quarantine show` shows them.

    Derived keys (phone_key, first_name_phonetic) are as personal as their source value:
    only canonical fields outside PERSONAL_FIELDS (city, gender) are shown as they are.
    """
    shown = set(CANONICAL_FIELDS) - set(PERSONAL_FIELDS)
    hidden = {f"{c}_{side}" for c in compared if c not in shown for side in "lr"}
    return {k: mask(str(v)) if k in hidden and v is not None else v for k, v in record.items()}


def _comparisons(steps: list[dict], record: dict) -> list[ComparisonWeight]:
    """The waterfall's bars folded to one row per comparison (its level plus its tf bar)."""
    tf = {s["column_name"].removeprefix("tf_"): s["log2_bayes_factor"] for s in steps if s["term_frequency_adjustment"]}
    return [
        ComparisonWeight(
            name=s["column_name"], level=s["label_for_charts"],
            match_weight=s["log2_bayes_factor"] + tf.get(s["column_name"], 0.0),
            tf_adjustment=tf.get(s["column_name"], 0.0),
            value_a=_text(record.get(f"{s['column_name']}_l")), value_b=_text(record.get(f"{s['column_name']}_r")),
        )
        for s in steps[1:-1] if not s["term_frequency_adjustment"]
    ]


def _text(value) -> str | None:
    return None if value is None else str(value)


def _pairs_probability(lake: Lakehouse, a: str, b: str) -> float | None:
    if not lake.exists("silver/pairs"):
        return None
    l, r = ds.field("record_key_l"), ds.field("record_key_r")
    found = lake.read("silver/pairs").to_table(
        columns=["match_probability"], filter=((l == a) & (r == b)) | ((l == b) & (r == a)))
    return found["match_probability"][0].as_py() if found.num_rows else None


def _customer_ids(lake: Lakehouse, keys: list[str]) -> dict[str, str | None]:
    if not lake.exists("gold/customer_xref"):
        return {}
    xref = lake.read("gold/customer_xref").to_table(
        columns=["record_key", "customer_id"], filter=ds.field("record_key").isin(keys))
    return dict(zip(xref["record_key"].to_pylist(), xref["customer_id"].to_pylist()))


def _notes(lake: Lakehouse, run_id: str) -> list[str]:
    """What may make this score differ from the one the run gave."""
    written_by = lake.info("silver/records").last_run
    if written_by != run_id:
        return [f"silver/records was written by {written_by} after the model's run {run_id}: "
                "term frequencies, and so weights, may differ from silver/pairs"]
    return []

