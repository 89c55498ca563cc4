"""Link: probabilistic record linkage with Splink across and within all sources.

The model is derived from the canonical fields that hold data: a comparison per field,
blocking rules over the strong identifiers, u from random pairs, m by EM, then pairs
are clustered at the configured threshold. Splink runs on the engine's own session,
so the same code serves DuckDB and Spark.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on

from scv.clusters import cluster, recommend_threshold, review

if TYPE_CHECKING:
    from scv.engine.base import Dialect, Engine
    from scv.pipeline import Run

PAIRS_FLOOR = 0.01  # pairs scored below this probability are not kept in silver/pairs
PRIOR_RECALL = 0.5  # share of true matches the deterministic rules are assumed to find
MIN_PAIRS_TO_REESTIMATE = 100  # fewer scored pairs are too small a sample to re-estimate the prior
FALLBACK_DUPLICATE_SHARE = 0.1  # prior when no deterministic pair exists: 1 record in 10 has a twin
LINK_FIELDS = (
    "first_name", "last_name", "date_of_birth", "email", "phone_key",
    "postcode", "address_line_1", "city", "gender", "first_name_phonetic", "last_name_phonetic",
)
# Match keys from standardisation, compared as levels of their name's comparison.
NAME_LEVEL_KEYS = {"first_name": ("first_name_key", "first_name_phonetic"), "last_name": ("last_name_phonetic",)}


def name_comparison(name: str):
    """Exact (term-frequency adjusted), close spelling, then the same formal name
    (Bob, Robert) and the same sound (Allen, Alan) before weaker similarity: a
    nickname or a phonetic match is evidence Jaro-Winkler alone misses."""
    levels = [
        cll.NullLevel(name),
        cll.ExactMatchLevel(name).configure(tf_adjustment_column=name),
        cll.JaroWinklerLevel(name, 0.92),
        *(cll.ExactMatchLevel(key) for key in NAME_LEVEL_KEYS[name]),
        cll.ColumnsReversedLevel("first_name", "last_name"),
        cll.JaroWinklerLevel(name, 0.88),
        cll.JaroWinklerLevel(name, 0.7),
        cll.ElseLevel(),
    ]
    return cl.CustomComparison(levels, output_column_name=name)


def comparisons(fields: set[str]) -> list:
    """One Splink comparison per linkable field present, strongest evidence first."""
    found = []
    for name in ("first_name", "last_name"):
        if name in fields:
            found.append(name_comparison(name))
    if "date_of_birth" in fields:
        found.append(cl.DateOfBirthComparison("date_of_birth", input_is_string=False))
    if "email" in fields:
        found.append(cl.ExactMatch("email"))
    if "phone_key" in fields:
        found.append(cl.LevenshteinAtThresholds("phone_key", [1]))
    if "postcode" in fields:
        found.append(cl.ExactMatch("postcode").configure(term_frequency_adjustments=True))
    if "address_line_1" in fields:
        found.append(cl.JaroWinklerAtThresholds("address_line_1", [0.95, 0.85]))
    if "city" in fields:
        found.append(cl.ExactMatch("city").configure(term_frequency_adjustments=True))
    if "gender" in fields:
        found.append(cl.ExactMatch("gender"))
    return found


def _rules(candidates: list[tuple[str, ...]], fields: set[str]) -> list[tuple[str, ...]]:
    """The candidate rules whose columns are all present."""
    def column(part: str) -> str:
        return part.split("(")[1].split(",")[0] if "(" in part else part

    return [r for r in candidates if all(column(p) in fields for p in r)]


SWAPPED_NAMES = "l.first_name = r.last_name and l.last_name = r.first_name"


def blocking_rules(fields: set[str]) -> list:
    swapped = [SWAPPED_NAMES] if {"first_name", "last_name"} <= fields else []
    return [block_on(*r) for r in _blocking_rules(fields)] + swapped


def _blocking_rules(fields: set[str]) -> list[tuple[str, ...]]:
    return _rules(
        [
            ("first_name", "last_name"),
            ("first_name_phonetic", "last_name_phonetic"),
            ("email",),
            ("phone_key",),
            ("date_of_birth",),
            ("postcode", "substr(first_name, 1, 1)"),
            ("last_name", "city", "substr(first_name, 1, 1)"),
        ],
        fields,
    )


def deterministic_rules(fields: set[str]) -> list[tuple[str, ...]]:
    """Rules that should admit almost no false matches, to estimate the prior."""
    found = _rules(
        [
            ("first_name", "last_name", "date_of_birth"),
            ("email", "first_name"),
            ("phone_key", "first_name"),
            ("first_name", "last_name", "postcode"),
        ],
        fields,
    )
    return found or [tuple(sorted(fields))]


def em_rules(fields: set[str]) -> list[tuple[str, ...]]:
    """EM sessions, greedily, until every comparison has been estimated once.

    A session cannot estimate the comparisons its blocking rule holds fixed, so a
    second rule on other fields is needed to estimate those.
    """
    sessions, unestimated = [], set(fields)
    candidates = [("first_name", "last_name"), ("date_of_birth",), ("email",), ("phone_key",),
                  ("postcode",), ("city",)]
    for rule in _rules(candidates, fields):
        if unestimated - set(rule):
            sessions.append(rule)
            unestimated &= set(rule)
        if not unestimated:
            break
    return sessions


def link_input_sql(d: Dialect, source: str) -> str:
    """Silver records of one source with the columns the model compares."""
    lit = d.literal
    # email is compared as its mailbox (email_key: no +tags, no gmail dots); a role
    # address (info@) says nothing about the person. E.164 ends in the national number.
    # A postcode is compared as its letters and digits, valid for the country or not.
    return f"""select record_key, source, first_name, last_name,
                      first_name_key, first_name_phonetic, last_name_phonetic, date_of_birth,
                      case when not email_role then email_key end as email,
                      substr(phone, -10) as phone_key,
                      postcode_key as postcode, address_line_1, city, gender
               from silver_records where source = {lit(source)}"""


SILVER_COLUMN = {"phone_key": "phone", "postcode": "postcode_key"}  # link field -> silver column


def present_fields(run: Run) -> set[str]:
    counts = run.engine.rows(
        "select " + ", ".join(
            f"count({SILVER_COLUMN.get(f, f)})" for f in LINK_FIELDS
        ) + " from silver_records"
    )[0]
    return {f for f, n in zip(LINK_FIELDS, counts) if n > 0}


def link(run: Run) -> None:
    """Engine tables `pairs`, `clusters` and `cluster_review`; pairs are published to silver/pairs."""
    total = run.engine.count("silver_records")
    if total < 2:
        _singletons(run)
    else:
        _link_with_splink(run, total)
    review(run, weight(run.config.linkage.threshold))
    recommend_threshold(run, run.config.linkage.threshold)
    run.engine.publish("pairs", run.lakehouse, "silver/pairs", run.run_id)
    run.count(None, "pairs", run.engine.count("pairs"))


def register_inputs(engine: Engine) -> dict:
    """Each source of engine table silver_records as a Splink input (engine table
    link_input_<source>), by source name: how linkage, `scv explain` and the report's
    pair sample all present the records to a model."""
    api, inputs = engine.splink_api(), {}
    for source, in engine.rows("select distinct source from silver_records order by 1"):
        engine.create(f"link_input_{source}", link_input_sql(engine.dialect, source))
        inputs[source] = api.register(f"link_input_{source}", dataset_display_name=source)
    return inputs


def new_linker(inputs: dict, settings) -> Linker:
    """A linker over `register_inputs`' tables: one source is a dedupe, more a link."""
    frames = list(inputs.values())
    return Linker(frames if len(frames) > 1 else frames[0], settings, log_level=logging.ERROR)


def _link_with_splink(run: Run, total: int) -> None:
    fields = present_fields(run)
    inputs = register_inputs(run.engine)
    settings = SettingsCreator(
        link_type="link_and_dedupe" if len(inputs) > 1 else "dedupe_only",
        unique_id_column_name="record_key",
        source_dataset_column_name="source",
        comparisons=comparisons(fields),
        blocking_rules_to_generate_predictions=blocking_rules(fields),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    linker = new_linker(inputs, settings)
    train(linker, fields, run, total)
    predictions = linker.inference.predict(threshold_match_probability=PAIRS_FLOOR)
    shift = calibrate_prior(run, linker, predictions.physical_name, total)
    run.engine.create(
        "pairs",
        f"""select record_key_l, record_key_r, match_weight + {shift!r} as match_weight,
                   1 / (1 + pow(2, -(match_weight + {shift!r}))) as match_probability
            from {predictions.physical_name}""",
    )
    cluster(run, linker, predictions, weight(run.config.linkage.threshold) - shift)
    run.lakehouse.save_model(run.run_id, linker.misc.save_model_to_json())


def weight(probability: float) -> float:
    """A match probability as a match weight (log2 of the odds); ±inf at 1 and 0."""
    if probability >= 1:
        return math.inf
    if probability <= 0:
        return -math.inf
    return math.log2(probability / (1 - probability))


def reestimate_prior(bayes_factors: list[tuple[float, int]], prior: float, total_pairs: float) -> float:
    """The share of all record pairs that match, given the scored pairs' Bayes factors.

    `bayes_factors` is (log2 Bayes factor, pairs) of the scored pairs. With m and u held,
    EM on the prior alone: the prior is the expected number of matches over all pairs,
    the expectation taken at the prior itself, until it stops moving. The deterministic
    rules' prior assumes how many matches they find; this one lets the evidence say.
    Below MIN_PAIRS_TO_REESTIMATE scored pairs the prior stands.
    """
    if total_pairs < 1 or sum(n for _, n in bayes_factors) < MIN_PAIRS_TO_REESTIMATE:
        return prior
    for _ in range(200):
        odds = prior / (1 - prior)
        expected = sum(n / (1 + 1 / (odds * 2 ** min(bf, 1000))) for bf, n in bayes_factors)
        updated = min(max(expected / total_pairs, 1e-12), 0.5)
        if abs(math.log2(updated) - math.log2(prior)) < 1e-6:
            return updated
        prior = updated
    return prior


def calibrate_prior(run: Run, linker: Linker, predictions: str, total: int) -> float:
    """Re-estimate the model's prior from the pairs it scored; returns the change in
    match weight every pair gets (and the clustering threshold loses)."""
    settings = linker._settings_obj
    prior = settings._probability_two_random_records_match
    w0 = weight(prior)
    histogram = run.engine.rows(
        f"select round(match_weight - {w0!r}, 2), count(*) from {predictions} group by 1")
    calibrated = reestimate_prior([(float(b), n) for b, n in histogram], prior, total * (total - 1) / 2)
    settings._probability_two_random_records_match = calibrated
    run.linkage_facts.update(prior_from_rules=prior, prior=calibrated)
    return weight(calibrated) - w0


def train(linker: Linker, fields: set[str], run: Run, total: int) -> None:
    """Prior from deterministic rules, u from random pairs, m by EM.

    A step that cannot run on this data (too few records, no pairs under a rule) is
    reported as a warning and Splink's defaults stand in for what it would estimate.
    """
    seed = run.config.linkage.seed
    training = linker.training
    _attempt(run, "prior from deterministic rules", lambda: training.estimate_probability_two_random_records_match(
        [block_on(*r) for r in deterministic_rules(fields)], recall=PRIOR_RECALL))
    settings = linker._settings_obj  # Splink leaves a zero prior when the rules find no pair
    if not settings._probability_two_random_records_match:
        settings._probability_two_random_records_match = FALLBACK_DUPLICATE_SHARE / max(total, 2)
        run.warn("deterministic rules found no pair: assuming few duplicates for the prior")
    # One chunk, no early stop: u is counted over the whole sample. Splink's probe and
    # chunks save little on DuckDB but cost Spark a round of jobs per chunk and comparison.
    _attempt(run, "u from random pairs", lambda: training.estimate_u_using_random_sampling(
        max_pairs=run.config.linkage.max_pairs_for_u, seed=seed,
        min_count_per_level=None, num_chunks=1))
    for rule in em_rules(fields):
        # Splink drops the session's blocked-on comparisons from the linker's own model
        # before it trains; a failed session would leave them dropped, so restore them.
        before = settings.core_model_settings.copy()
        if not _attempt(run, f"EM blocked on {', '.join(rule)}", lambda rule=rule: (
                training.estimate_parameters_using_expectation_maximisation(block_on(*rule)))):
            settings.core_model_settings = before


def _attempt(run: Run, step: str, action) -> bool:
    try:
        action()
        return True
    except Exception as err:  # noqa: BLE001 - Splink raises many types on degenerate data
        run.warn(f"linkage training step '{step}' skipped on this data ({type(err).__name__})")
        return False


def _singletons(run: Run) -> None:
    run.engine.create("clusters", "select record_key, record_key as cluster_id from silver_records")
    run.engine.create(
        "pairs",
        """select record_key as record_key_l, record_key as record_key_r,
                  cast(null as double) as match_weight, cast(null as double) as match_probability
           from silver_records where false""",
    )
