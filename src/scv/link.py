"""Link: probabilistic record linkage with Splink across and within all sources.

The model is derived from the canonical fields that hold data: a comparison per field,
blocking rules over the strong identifiers, u from random pairs, m by EM, the prior
calibrated on the scored pairs and u taken net of the matches among the random ones, then
pairs are clustered at the configured threshold. Splink runs on the engine's own session,
so the same code serves DuckDB and Spark. A reused model or an expert's Splink settings
take the derived model's place (`scv.linkage_settings`).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import replace
from itertools import combinations
from typing import TYPE_CHECKING

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator

from scv import blocking
from scv.assessment import assess
from scv.clusters import SCORED_INSIDE, cluster, recommend_threshold, record_id_column, review, source_of
from scv.engine.splink_sampling import LINK_ID
from scv.households import HOME_APART, HOME_FACTS, weigh_homes
from scv.increment import link_changed
from scv.linkage_settings import blamed, given_settings
from scv.namesakes import TWO_PEOPLE, attested_names_sql, unlike_first_names, weigh_two_people
from scv.standardise import silver_columns
from scv.strangers import overlinked
from scv.structure import mostly_once_sources, one_to_one_sources, overstatement
from scv.training import net_of_matches, train

if TYPE_CHECKING:
    from scv.engine.base import Dialect, Engine
    from scv.pipeline import Run

FALLBACK_THRESHOLD = 0.9  # `auto` with no scored pairs to recommend from
AUTO_FLOOR = 0.5  # `auto` never clusters on a pair more likely two people than one
# What a household shares: the fields, and the comparisons they are compared in (`address`)
SHARED_BY_HOUSEHOLDS = {"phone_key", "email", "postcode", "house_number", "address_line_1", "city", "address"}
PAIRS_FLOOR = 0.01  # pairs scored below this probability are not kept in silver/pairs
# Calibration moves every weight by the same shift; pairs further below the floor than
# this many bits are not kept even for calibrating (they add almost nothing to it), so
# that the tens of millions of hopeless pairs of a large run are never written.
CALIBRATION_MARGIN = 10.0
PAIRS_PER_CHUNK = 50_000_000  # blocked pairs Splink materialises at once when predicting
MIN_PAIRS_TO_REESTIMATE = 100  # fewer scored pairs are too small a sample to re-estimate the prior
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


def date_of_birth_comparison():
    """Exact; a one-digit slip or day and month swapped; one of year, month and day
    wrong (the usual keying errors); else. Date distance says little: 1961-03-07 and
    1961-07-03 are four months apart but one transposition."""
    def part(name: str, side: str) -> str:
        return f"{name}(date_of_birth_{side})"

    same = {p: f"{part(p, 'l')} = {part(p, 'r')}" for p in ("year", "month", "day")}
    swapped = f"{same['year']} and {part('month', 'l')} = {part('day', 'r')} and {part('day', 'l')} = {part('month', 'r')}"
    one_digit = one_edit("cast(date_of_birth_l as varchar)", "cast(date_of_birth_r as varchar)")
    two_of_three = " or ".join(f"({same[a]} and {same[b]})" for a, b in combinations(same, 2))
    return cl.CustomComparison([
        cll.NullLevel("date_of_birth"),
        cll.ExactMatchLevel("date_of_birth"),
        cll.CustomLevel(f"({swapped}) or {one_digit}", "one digit different, or day and month swapped",
                        base_dialect_str="duckdb"),
        cll.CustomLevel(two_of_three, "two of year, month and day agree", base_dialect_str="duckdb"),
        cll.AbsoluteDateDifferenceLevel("date_of_birth", threshold=1, metric="year", input_is_string=False),
        cll.AbsoluteDateDifferenceLevel("date_of_birth", threshold=10, metric="year", input_is_string=False),
        cll.ElseLevel(),
    ], output_column_name="date_of_birth")


def one_edit(left: str, right: str) -> str:
    """Levenshtein distance at most 1. Of two texts of one length that is one character
    substituted, which Hamming distance counts in about a ninth of the time: dates and
    phone numbers nearly always have one length."""
    return (f"case when {left} = {right} then true "  # DuckDB's hamming refuses two empty texts
            f"when length({left}) = length({right}) then hamming({left}, {right}) <= 1 "
            f"else levenshtein({left}, {right}) <= 1 end")


def email_comparison():
    """Exact; else one mailbox name at two domains a typo apart (a.b27@mailhost.example,
    a.b27@mailhst.example: a provider gives an address out once, so that is one mailbox typed
    wrong); else. Nothing looser: emails are made from names (john.smith12@,
    john.smith21@), so close addresses are as often two namesakes as one person, and
    Levenshtein 2 over the address, or Jaro-Winkler 0.88 as in Splink's EmailComparison,
    linked them (common_names F1 0.947 -> 0.854, names_email 0.897 -> 0.503 with
    Jaro-Winkler); so did one mailbox name at any two domains (john.smith@ at two firms)."""
    return cl.CustomComparison([
        cll.NullLevel("email"),
        cll.ExactMatchLevel("email"),
        cll.CustomLevel("email_user_l = email_user_r and levenshtein(email_domain_l, email_domain_r) <= 2",
                        "one mailbox name, domains a typo apart", base_dialect_str="duckdb"),
        cll.ElseLevel(),
    ], output_column_name="email")


def phone_comparison():
    """Exact, or one digit mistyped, dropped or added (Splink's Levenshtein at 1)."""
    return cl.CustomComparison([
        cll.NullLevel("phone_key"),
        cll.ExactMatchLevel("phone_key"),
        cll.CustomLevel(one_edit("phone_key_l", "phone_key_r"), "Levenshtein distance of phone_key <= 1",
                        base_dialect_str="duckdb"),
        cll.ElseLevel(),
    ], output_column_name="phone_key")


ADDRESS_PARTS = ("address_line_1", "postcode", "city")


def address_comparison(parts: list[str]):
    """Street, postcode and town as one comparison, as they are one fact: where someone
    lives. Compared apart, Splink, which takes fields as independent, counts one shared
    home two or three times: a household's members outvoted their own first names and
    dates of birth, and on five voter lists, where strangers of one town agree on both
    postcode and town, EM learnt a town for a person (its matches disagreed on surname 38
    times in a hundred, truly 1), so a surname said little against a match. Levels:
    the same street address in the same place; the street a slip apart in the same place;
    the postcode (by how common it is); the postcode a slip apart in the same town; the
    town (by how common it is); a slip apart in any; else."""
    postcode_slip = cll.CustomLevel(one_edit("postcode_l", "postcode_r"), "postcode a character apart",
                                    base_dialect_str="duckdb") if "postcode" in parts else None
    town_slip = cll.JaroWinklerLevel("city", 0.9) if "city" in parts else None
    slips = [level for level in (postcode_slip, town_slip) if level]
    nulls = [cll.NullLevel(part) for part in parts]
    levels = [_all(nulls).configure(is_null_level=True, label_for_charts="no address part known on both sides")]
    if "address_line_1" in parts:
        # one place, or no place to tell by
        same_place = cll.Or(*slips, _all(nulls[1:])) if slips else None
        for threshold, label in ((None, "same street address"), (0.95, "street address nearly the same"),
                                 (0.85, "street address alike")):
            street = (cll.ExactMatchLevel("address_line_1") if threshold is None
                      else cll.JaroWinklerLevel("address_line_1", threshold))
            levels.append((cll.And(street, same_place) if same_place else street).configure(label_for_charts=label))
    if postcode_slip:
        levels.append(cll.ExactMatchLevel("postcode").configure(tf_adjustment_column="postcode",
                                                                  label_for_charts="same postcode"))
    if postcode_slip and town_slip:
        levels.append(cll.And(postcode_slip, town_slip).configure(
            label_for_charts="postcode a character apart, same town"))
    if town_slip:
        levels.append(cll.ExactMatchLevel("city").configure(tf_adjustment_column="city", label_for_charts="same town"))
    if slips:
        levels.append(_any(slips).configure(label_for_charts=" or ".join(
            label for level, label in ((postcode_slip, "postcode a character apart"), (town_slip, "town alike"))
            if level)))
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(levels, output_column_name="address")


def _all(levels):
    return levels[0] if len(levels) == 1 else cll.And(*levels)


def _any(levels):
    return levels[0] if len(levels) == 1 else cll.Or(*levels)


def comparisons(fields: set[str]) -> list:
    """One Splink comparison per linkable field present, strongest evidence first."""
    found = []
    for name in ("first_name", "last_name"):
        if name in fields:
            found.append(name_comparison(name))
    if "date_of_birth" in fields:
        found.append(date_of_birth_comparison())
    if "email" in fields:
        found.append(email_comparison())
    if "phone_key" in fields:
        found.append(phone_comparison())
    parts = [part for part in ADDRESS_PARTS if part in fields]
    if parts:
        found.append(address_comparison(parts))
    if "gender" in fields:
        found.append(cl.ExactMatch("gender"))
    return found


IDENTIFIER_SHARE = 0.2  # distinct values per record from which an attribute reads as an identifier
IDENTIFIER_LENGTH = 32  # longer values are text (notes), not identifiers
CATEGORY_VALUES = 20  # fewer distinct values (flags, segments) say little about who someone is


def attribute_columns(engine: Engine) -> list[str]:
    """The `attributes` carried in silver that linkage can name: plain identifiers."""
    known = set(silver_columns([]))
    return [c for c, _ in engine.columns("silver_records")
            if c not in known and c not in LINK_FIELDS and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", c)]


def attribute_kinds(run: Run, attributes: list[str]) -> dict[str, str]:
    """Which attributes can tell people apart, by measurement: an identifier (many
    distinct, short values: a national insurance number, a loyalty card), a category
    with enough values to help; coarser ones (flags, segments) and text are left out."""
    kinds = {}
    for name in attributes:
        q = run.engine.dialect.quote(name)
        present, distinct, length = run.engine.rows(
            f"select count({q}), count(distinct {q}), avg(length({q})) from silver_records")[0]
        if not present or distinct < CATEGORY_VALUES or length > IDENTIFIER_LENGTH:
            continue
        kinds[name] = "identifier" if distinct >= IDENTIFIER_SHARE * present else "category"
    return kinds


def attribute_comparisons(kinds: dict[str, str]) -> list:
    """An identifier exactly or with one typo; a category exactly, weighted by how
    common the value is."""
    return [cl.DamerauLevenshteinAtThresholds(name, [1]) if kind == "identifier"
            else cl.ExactMatch(name).configure(term_frequency_adjustments=True)
            for name, kind in kinds.items()]


def link_input_sql(d: Dialect, attributes: list[str] = (), numbered: bool = False) -> str:
    """Silver records with the columns the model compares; `numbered`: with LINK_ID too,
    where the engine numbers records (`Dialect.record_number`)."""
    extra = "".join(f", {d.quote(a)}" for a in attributes)
    source = "silver_records"
    number = d.record_number("record_key") if numbered else None
    if number:  # numbered over the keys alone: a window over the whole records costs four times more
        extra += f", {LINK_ID}"
        source = f"""silver_records join (select record_key as _numbered_key, {number} as {LINK_ID}
                                          from silver_records) n on n._numbered_key = record_key"""
    # email is compared as its mailbox (email_key: no +tags, no gmail dots), its name and
    # domain (`email_comparison`); a role address (info@) or a generic one says nothing
    # about the person. E.164 ends in the national number. A postcode is compared as its
    # letters and digits, valid or not.
    own = "not email_role and ge.value is null"
    return f"""with generic_email as ({generic_values_sql(d, "email_key", "not email_role")}),
                    generic_phone as ({generic_values_sql(d, "substr(phone, -10)")})
               select record_key, source, first_name, last_name,
                      first_name_key, first_name_phonetic, last_name_phonetic, date_of_birth,
                      case when {own} then email_key end as email,
                      case when {own} then split_part(email_key, '@', 1) end as email_user,
                      case when {own} then split_part(email_key, '@', 2) end as email_domain,
                      case when gp.value is null then substr(phone, -10) end as phone_key,
                      postcode_key as postcode, house_number, address_line_1, city, gender{extra}
               from (select * from {source}) s
               left join generic_email ge on ge.value = s.email_key
               left join generic_phone gp on gp.value = substr(s.phone, -10)"""


# A contact value held by records of this many differently named people or more is
# nobody's: a placeholder (noemail@, 0000000000), a shop's own number, a shared office
# inbox. Below it, a value is still nobody's own when two of the first names holding it
# cannot be one person's (`unlike_first_names`): a family's inbox or landline. It
# proves the household, not the person: with the surname the household shares it would
# outvote the first names (a random pair almost never shares an email, so the model
# weighs one as near proof), and the whole family would become one customer.
GENERIC_PEOPLE = 5
MAX_HOLDERS_COMPARED = 50  # distinct first names of a value compared pairwise (more: generic anyway)


def generic_values_sql(d: Dialect, value: str, where: str = "true") -> str:
    """SQL: the values of `value` (over silver_records) that are nobody's own: held by
    records with GENERIC_PEOPLE or more first names, or by two unlike first names that
    are both names people have (`scv.namesakes.ATTESTED_NAME`: a one-off
    spelling is more likely a typo of the one holder's name than a second person).
    Found from the data, no list of placeholders needed."""
    held = f"""select distinct {value} as value, first_name, last_name, first_name_key, first_name_phonetic
               from silver_records where {value} is not null and {where} and first_name is not null"""
    return f"""with held as ({held}),
               holders as (select value, count(distinct first_name_key) as people, count(*) as names
                           from held group by value having count(distinct first_name_key) >= 2),
               attested as ({attested_names_sql()})
               select value from holders where people >= {GENERIC_PEOPLE} or names > {MAX_HOLDERS_COMPARED}
               union
               select a.value from held a join held b on a.value = b.value and a.first_name < b.first_name
                 join holders h on h.value = a.value
                 join attested na on na.first_name = a.first_name
                 join attested nb on nb.first_name = b.first_name
               where h.people < {GENERIC_PEOPLE} and h.names <= {MAX_HOLDERS_COMPARED}
                 and {unlike_first_names(d, "a", "b")}"""


SILVER_COLUMN = {"phone_key": "phone", "postcode": "postcode_key"}  # link field -> silver column
LINK_INPUT_READS = (  # the silver columns link_input_sql reads, besides attributes
    "record_key", "source", "first_name", "last_name", "first_name_key", "first_name_phonetic",
    "last_name_phonetic", "date_of_birth", "email_role", "email_key", "phone", "postcode_key",
    "house_number", "address_line_1", "city", "gender")


def linkable_columns(silver: list[str]) -> list[str]:
    """Of silver's columns, those a model can read: enough to score pairs again without
    holding the rest of silver in memory."""
    known = set(silver_columns([]))
    return [c for c in silver if c in LINK_INPUT_READS or c not in known]


def present_fields(run: Run) -> set[str]:
    """The link fields and attributes that hold data in some record."""
    fields = [*LINK_FIELDS, "house_number", *attribute_columns(run.engine)]
    q = run.engine.dialect.quote
    counts = run.engine.rows(
        "select " + ", ".join(f"count({q(SILVER_COLUMN.get(f, f))})" for f in fields) + " from silver_records"
    )[0]
    return {f for f, n in zip(fields, counts) if n > 0}


def link(run: Run) -> None:
    """Engine tables `pairs`, `clusters` and `cluster_review`; pairs are published to silver/pairs."""
    total = run.engine.count("silver_records")
    linker = None
    if total < 2:
        _singletons(run)
    elif run.previous is not None:
        linker = link_changed(run)
    else:
        linker = _link_with_splink(run, total)
    threshold = run.linkage_facts.setdefault("threshold", configured_threshold(run))
    if total < 2:
        once = []
    elif "one_to_one" in run.linkage_facts:  # found before the clustering
        once = sorted(run.linkage_facts["one_to_one"])
    else:
        once = one_to_one_sources(run, threshold)
    if total >= 2:
        weigh_two_people(run, mostly_once_sources(run), threshold, weight(PAIRS_FLOOR))
        if "home_links_undone" in run.linkage_facts:  # the review parts them too
            run.engine.create("two_people_homes", f"""
                select record_key_l, record_key_r, certain from {TWO_PEOPLE}
                union all select record_key_l, record_key_r, false as certain from {HOME_APART}""")
            run.engine.create(TWO_PEOPLE, "select * from two_people_homes")
            for table in ("two_people_homes", HOME_APART):
                run.engine.drop(table)
    review(run, weight(threshold), weight(PAIRS_FLOOR), once,
           None if linker is None else lambda table: scored_anew(run.engine, linker, table),
           TWO_PEOPLE if total >= 2 else None)
    if total >= 2:
        release_splink_tables(run.engine)
        run.engine.drop("pairs_net_of_matches")
        assess(run, SCORED_INSIDE if run.linkage_facts.get("pairs_scored_inside") else None)
    run.engine.drop(SCORED_INSIDE)
    run.engine.drop(TWO_PEOPLE)
    run.engine.publish("pairs", run.lakehouse, "silver/pairs", run.run_id)
    run.count(None, "pairs", run.engine.count("pairs"))


def release_splink_tables(engine: Engine) -> None:
    """Splink keeps every table it made (each EM session's comparison vectors, the blocked
    pairs, the predictions): 2 GB at 1M records, which golden would otherwise spill to
    disk around. What linkage leaves is in scv's own tables (`pairs`, `clusters`)."""
    api = engine.splink_api()
    api.delete_tables_created_by_splink_from_db()
    api._intermediate_table_cache.invalidate_cache()


def register_input(engine: Engine, *, view: bool = False, numbered: bool = False):
    """Every record of engine table silver_records as Splink's one input (engine table
    link_inputs): how linkage, `scv explain` and the report's pair sample all present the
    records to a model. Scoring a few pairs reads the input little (its term frequencies,
    the pairs' records): `view` spares copying it. A full run scores on record numbers
    (`numbered`, `key_by`)."""
    sql = link_input_sql(engine.dialect, attribute_columns(engine), numbered)
    api = engine.splink_api()  # first: on Spark it registers the similarity functions the input reads
    (engine.view if view else engine.create)("link_inputs", sql)
    return api.register("link_inputs")


def key_by(linker: Linker, column: str) -> None:
    """Splink joins the records on `column` of its input from here on. A full run links
    on the records' numbers (LINK_ID): on one machine numbers join faster than text keys.
    Splink's samples still hash the keys (`scv.engine.splink_sampling`), so training
    draws the records it always drew, and pairs and clusters are named by the keys as
    before (`with_record_keys`, `scv.clusters.cluster`)."""
    settings = linker._settings_obj
    settings.column_info_settings = replace(settings.column_info_settings, unique_id_column_name=column)
    for comparison in settings.comparisons:
        comparison.column_info_settings = settings.column_info_settings


def with_record_keys(linker: Linker, predictions: str) -> str:
    """SQL: Splink's predictions with record_key_l and record_key_r, looked up in
    link_inputs when Splink joined the records on their numbers (in key order, so the
    lower key is on the left, as blocking on the keys puts it)."""
    key = record_id_column(linker)
    if key == "record_key":
        return predictions
    return f"""(select kl.record_key as record_key_l, kr.record_key as record_key_r, p.*
               from {predictions} p join link_inputs kl on kl.{key} = p.{key}_l
                                    join link_inputs kr on kr.{key} = p.{key}_r)"""


def link_type(run: Run) -> str:
    """The sources are one input whose record keys are unique across them, so dedupe_only
    compares what link_and_dedupe would, without Splink naming each record by source and
    key in every join (a sixth of linkage's time at 1M records). A source holding each
    person once is kept one-to-one by the clustering (`scv.coherence`), not by Splink."""
    return "dedupe_only"


def new_linker(records, settings) -> Linker:
    """A linker over `register_input`'s table."""
    return Linker(records, settings, log_level=logging.ERROR)


def _link_with_splink(run: Run, total: int) -> Linker:
    fields = present_fields(run)
    records = register_input(run.engine, numbered=True)
    attributes = attribute_kinds(run, sorted(fields - set(LINK_FIELDS) - {"house_number"}))
    identifiers = [name for name, kind in attributes.items() if kind == "identifier"]
    rules = blocking.choose(run, fields, total, identifiers)
    settings = SettingsCreator(
        link_type=link_type(run),
        unique_id_column_name="record_key",
        source_dataset_column_name="source",
        comparisons=comparisons(fields) + attribute_comparisons(attributes),
        blocking_rules_to_generate_predictions=rules,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    given = given_settings(run, settings, records, absent=set(LINK_FIELDS) - fields)
    linker, predictions, shift, threshold = _score(run, records, given, fields, total)
    own = scv_comparisons(run)
    # a home counted once first: the guard judges what is left (its retrain drops the home)
    if own and weigh_homes(run, linker, weight(PAIRS_FLOOR)):
        threshold = clustering_threshold(run)
    if own and overlinked(run, linker):
        run.engine.drop(HOME_APART)
        for fact in HOME_FACTS:
            run.linkage_facts.pop(fact, None)
        facts = run.linkage_facts
        run.warn(f"the trained model links people who are plainly not one person: "
                 f"{facts['share_linked_strangers']:.1%} of the pairs it links disagree on first name and date of "
                 f"birth, where its own estimate for one person is {facts['strangers_expected']:.2%}; retrained "
                 f"without the comparisons a household shares ({', '.join(sorted(SHARED_BY_HOUSEHOLDS & fields))})")
        given = given.without(SHARED_BY_HOUSEHOLDS)
        linker, predictions, shift, threshold = _score(run, records, given, fields - SHARED_BY_HOUSEHOLDS, total)
        run.linkage_facts["retrained_without"] = sorted(SHARED_BY_HOUSEHOLDS & fields)
        if overlinked(run, linker):
            run.warn("the retrained model still links people who disagree on first name and date of "
                     "birth: review the customers flagged in gold, or raise linkage.threshold")
    once = one_to_one_sources(run, threshold)
    if once and given.prior is None:
        shift, threshold = calibrate_on_lists(run, linker, once, shift)
    used = [r.blocking_rule_sql for r in linker._settings_obj._blocking_rules_to_generate_predictions]
    if "blocking_rules" not in run.linkage_facts:  # scored in parts: not counted while scoring
        blocking.record_counts(run, used, records, total)
    cluster(run, linker, predictions, weight(threshold) - shift)
    linked = f"(select * from pairs where match_probability >= {threshold!r})"
    run.linkage_facts["estimated_blocking_recall"] = blocking.estimated_recall(run, used, linked)
    key_by(linker, "record_key")  # the saved model reads any records by their keys
    run.lakehouse.save_model(run.run_id, linker.misc.save_model_to_json())
    return linker


def scv_comparisons(run: Run) -> bool:
    """Whether the run links with comparisons scv derived and trained: the over-linking
    guard reads their levels (`scv.strangers`), and a home is weighed anew only where the
    model is not one reused to give the same weights run after run (`scv.households`)."""
    return not run.config.linkage.model and "comparisons" not in (run.config.linkage.splink or {})


def calibrate_on_lists(run: Run, linker: Linker, once: list[str], shift: float) -> tuple[float, float]:
    """Every weight moved by what the lists of each person once show it overstates
    (`scv.structure.overstatement`), as a change of the prior, the threshold chosen again;
    returns the shift on Splink's predictions and the threshold."""
    bits = overstatement(run, once)
    run.linkage_facts["overstated_bits"] = bits
    if not bits:
        return shift, run.linkage_facts["threshold"]
    settings = linker._settings_obj
    prior = settings._probability_two_random_records_match
    odds = prior / (1 - prior) * 2 ** -bits
    settings._probability_two_random_records_match = odds / (1 + odds)
    run.linkage_facts.update(prior_before_lists=prior, prior=settings._probability_two_random_records_match)
    run.engine.create("pairs_on_lists", f"""
        select record_key_l, record_key_r, match_weight - {bits!r} as match_weight,
               1 / (1 + pow(2, -(match_weight - {bits!r}))) as match_probability
        from pairs where match_weight - {bits!r} >= {weight(PAIRS_FLOOR)!r}""")
    run.engine.create("pairs", "select * from pairs_on_lists")
    run.engine.drop("pairs_on_lists")
    return shift - bits, clustering_threshold(run)


def _score(run: Run, records, given, fields: set[str], total: int):
    """Train (unless the model is reused), score every blocked pair, calibrate the prior,
    write engine table `pairs` and choose the threshold; the calibrated weight of a pair
    is Splink's plus the returned shift."""
    with blamed(given.origin):  # a reused model trains nothing; a given prior stands
        linker = new_linker(records, given.settings)
        # link_and_dedupe joins source and id as text
        if linker._settings_obj._link_type == "dedupe_only" and run.engine.dialect.record_number("record_key"):
            key_by(linker, LINK_ID)
        if not given.reused:
            train(linker, fields, run, total)
        given.hold_prior(linker)
        # the prior moves after scoring: keep the pairs that calibration may lift over the floor
        margin = 0.0 if given.prior is not None else CALIBRATION_MARGIN
        run.linkage_facts["prediction_parts"] = parts = chunks(run)
        # in one part, the blocked pairs Splink scores are kept to count what each rule adds
        blocked = linker.inference.compute_blocked_pairs_for_predict() if parts == 1 else None
        predictions = linker.inference.predict(threshold_match_weight=weight(PAIRS_FLOOR) - margin,
                                               num_chunks_left=parts, num_chunks_right=1)
        if blocked is not None:
            blocking.count_blocked_pairs(run, linker, blocked.physical_name)
            blocked.drop_table_from_database_and_remove_from_cache()
    shift = 0.0 if given.prior is not None else calibrate_prior(run, linker, predictions.physical_name, total)
    if not given.reused:
        predictions, shift = _net_of_matches(run, linker, predictions, shift, total, margin)
    run.engine.create(
        "pairs",
        f"""select record_key_l, record_key_r, match_weight + {shift!r} as match_weight,
                   1 / (1 + pow(2, -(match_weight + {shift!r}))) as match_probability
            from {with_record_keys(linker, predictions.physical_name)} p
            where match_weight + {shift!r} >= {weight(PAIRS_FLOOR)!r}""",
    )
    return linker, predictions, shift, clustering_threshold(run)


def _net_of_matches(run: Run, linker: Linker, predictions, shift: float, total: int, margin: float):
    """u net of the matches among the random pairs (`training.net_of_matches`), taken at
    the calibrated prior; the kept pairs' weights raised to it (`raise_weights`) and the
    prior calibrated again. Returns the predictions and shift to use."""
    settings = linker._settings_obj
    gained = net_of_matches(linker, settings._probability_two_random_records_match)
    if not gained:
        return predictions, shift
    run.linkage_facts["u_net_of_matches"] = {name: {str(level): round(bits, 3) for level, bits in levels.items()}
                                             for name, levels in gained.items()}
    settings._probability_two_random_records_match = run.linkage_facts.get(
        "prior_from_rules", settings._probability_two_random_records_match)  # the prior the pairs were scored at
    rescored = raise_weights(run.engine, linker, predictions.physical_name, gained)
    predictions.drop_table_from_database_and_remove_from_cache()
    return rescored, (0.0 if margin == 0 else calibrate_prior(run, linker, rescored.physical_name, total))


def raise_weights(engine: Engine, linker: Linker, predictions: str, gained: dict[str, dict[int, float]]):
    """Splink's predictions with each pair's weight raised by the bits its levels gained
    (engine table `pairs_net_of_matches`). A weight is the sum of its levels' log Bayes
    factors: a lower u adds log2(u before / u after) to the pairs at that level, and
    nothing else moves, so only the changed comparisons are evaluated again, not every
    comparison as scoring the pairs anew would (2 s of linkage at 1M records)."""
    changed = [c for c in linker._settings_obj.comparisons if c.output_column_name in gained]
    key = record_id_column(linker)
    inputs = {col.name: col for c in changed for col in c._input_columns_used_by_case_statement}.values()
    sides = ", ".join(f"{col.l_name_as_l}, {col.r_name_as_r}" for col in inputs)
    raised = " + ".join(
        f"case {c._gamma_column_name} "
        + " ".join(f"when {level} then {bits!r}" for level, bits in gained[c.output_column_name].items())
        + " else 0 end" for c in changed)
    columns = [c for c, _ in engine.columns(predictions) if c not in ("match_weight", "match_probability")]
    kept = ", ".join(f"p.{engine.dialect.quote(c)}" for c in columns)
    engine.create("pairs_net_of_matches", f"""
        select {kept}, p.match_weight as match_weight, 1 / (1 + pow(2, -p.match_weight)) as match_probability
        from (select {kept}, p.match_weight + {raised} as match_weight
              from (select p.*, {', '.join(c._case_statement for c in changed)}
                    from (select p.*, {sides} from {predictions} p
                          join link_inputs l on l.{key} = p.{key}_l
                          join link_inputs r on r.{key} = p.{key}_r) p) p) p""")
    return engine.splink_api().register("pairs_net_of_matches")


def rescore(engine: Engine, linker: Linker, pairs: str, floor: float | None):
    """Splink's scores, under the linker's model, of engine table `pairs` (record_key_l,
    record_key_r) without blocking again: its pairs above the `floor` weight."""
    def join_key(side: str) -> str:  # how Splink's blocking names a record
        key = f"record_key_{side}"
        source = linker._settings_obj.column_info_settings.source_dataset_input_column
        return f"concat({source_of(key)}, '-__-', {key})" if source else key
    engine.create("pairs_to_rescore", f"""select '0' as match_key, {join_key('l')} as join_key_l,
                                             {join_key('r')} as join_key_r from {pairs}""")
    linker.table_management.register_blocked_pairs_for_predict(engine.splink_api().register("pairs_to_rescore"))
    found = linker.inference.predict(threshold_match_weight=floor)
    # the registration lives in the database API's cache, which every later linker shares
    for key in linker.inference._registered_blocked_pairs_cache_keys():
        del linker._intermediate_table_cache[key]
    engine.drop("pairs_to_rescore")
    return found


def scored_anew(engine: Engine, linker: Linker, pairs: str) -> str:
    """Engine table `pairs_scored_anew`: engine table `pairs` (record_key_l, record_key_r)
    with the weights the run's model gives them, however low (the pairs inside a customer
    that blocking never put together, or that scored below the floor)."""
    found = rescore(engine, linker, pairs, None)
    engine.create("pairs_scored_anew", f"""select record_key_l, record_key_r, match_weight
                                          from {found.physical_name}""")
    found.drop_table_from_database_and_remove_from_cache()
    return "pairs_scored_anew"


def chunks(run: Run) -> int:
    """How many parts Splink scores the blocked pairs in: each part's pairs are held at
    once (as long text keys), which at 10M records would fill tens of GB of disk."""
    return max(1, math.ceil(run.linkage_facts.get("pairs_to_score", 0) / PAIRS_PER_CHUNK))


def configured_threshold(run: Run) -> float:
    """linkage.threshold as a probability; under `auto`, the fallback when nothing was scored."""
    configured = run.config.linkage.threshold
    return FALLBACK_THRESHOLD if configured == "auto" else configured


def clustering_threshold(run: Run) -> float:
    """linkage.threshold, or under `auto` the threshold with the highest expected F1 over
    this run's scored pairs, taking their calibrated probabilities at their word, but
    never below even odds: a customer view should not merge two people on a pair that
    is more likely two. Recorded as the run's `threshold`."""
    threshold = configured_threshold(run)
    recommend_threshold(run, threshold)
    if run.config.linkage.threshold == "auto":
        threshold = max(run.linkage_facts.get("recommended_threshold", threshold), AUTO_FLOOR)
    run.linkage_facts.update(threshold=threshold, threshold_configured=run.config.linkage.threshold)
    return threshold


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
        log_odds = math.log2(prior / (1 - prior))
        expected = sum(n / (1 + 2 ** -min(max(log_odds + bf, -1000), 1000)) for bf, n in bayes_factors)
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
    # no higher than the scored pairs allow: a pair below the margin was not kept
    calibrated = min(calibrated, 1 / (1 + 2 ** -(w0 + CALIBRATION_MARGIN)))
    settings._probability_two_random_records_match = calibrated
    run.linkage_facts.update(prior_from_rules=prior, prior=calibrated)
    return weight(calibrated) - w0


def _singletons(run: Run) -> None:
    run.engine.create("clusters", "select record_key, record_key as cluster_id from silver_records")
    run.engine.create(
        "pairs",
        """select record_key as record_key_l, record_key as record_key_r,
                  cast(null as double) as match_weight, cast(null as double) as match_probability
           from silver_records where false""",
    )
