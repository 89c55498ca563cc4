"""Training a linkage model: the prior from deterministic rules, u from random pairs,
m by EM in sessions blocked on different fields, each session judged before it counts.

EM only sees the pairs its blocking rule admits, so a session can learn the structure
of that block rather than of matches (households, or a data set whose duplicates have
exactly one field wrong). A session's estimate for a comparison counts only when it is
plausible for any data: agreeing exactly is at least as strong as agreeing partly, and
disagreeing is evidence against. Each comparison takes the median of the plausible
estimates; one without any keeps Splink's defaults. Once the prior is calibrated, u is
taken net of the matches among the random pairs (`net_of_matches`).
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import TYPE_CHECKING

from splink import block_on
from splink.internals import estimate_u as _estimate_u
from splink.internals import expectation_maximisation as _em
from splink.internals.comparison_level import M_U_CLAMP_MIN

from scv.blocking import present

if TYPE_CHECKING:
    from splink import Linker

    from scv.pipeline import Run

PRIOR_RECALL = 0.5  # share of true matches the deterministic rules are assumed to find
# The deterministic rules' pairs are counted on a sample of about this many records a
# side (exactly below it): at 1M records 0.24 s against 0.92, the prior within 0.3%, and
# it is calibrated on the scored pairs afterwards (`scv.link.calibrate_prior`).
PRIOR_SAMPLE_RECORDS = 250_000
FALLBACK_DUPLICATE_SHARE = 0.1  # prior when no deterministic pair exists: 1 record in 10 has a twin
EM_MAX_PAIRS = 1e6  # pairs one EM session samples at most
EM_ESTIMATES_WANTED = 2  # plausible estimates per comparison before sessions stop
EXACT_TOLERANCE = 4  # an exact agreement this many times weaker than a partial one is not believed
IDENTITY_COMPARISONS = ("first_name", "date_of_birth")
IDENTITY_AGREEMENT = 0.5  # share of matches that must agree on an identity comparison
UNSEEN_U_COUNT = 1.0  # random pairs a level none of them reached counts as having: u below 1 in the sample
MAX_U_CORRECTION = 6.0  # bits a level's weight may gain when u is taken net of matches
MIN_GAIN = 1e-3  # bits: a smaller change to a level's weight is left unmade
RARE_AMONG_STRANGERS = 0.01  # a level fewer random pairs reach than this says "same"
EM_SESSIONS = [("first_name", "last_name"), ("date_of_birth",), ("email",), ("phone_key",),
               ("postcode",), ("first_name_phonetic",), ("last_name_phonetic",), ("city",)]

log = logging.getLogger(__name__)


def deterministic_rules(fields: set[str]) -> list[tuple[str, ...]]:
    """Rules that should admit almost no false matches, to estimate the prior."""
    found = present(
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
    """Candidate EM sessions, in order of preference, whose fields are present."""
    return present(EM_SESSIONS, fields)


def train(linker: Linker, fields: set[str], run: Run, total: int) -> None:
    """Prior from deterministic rules, u from random pairs, m by judged EM sessions.

    A step that cannot run on this data (too few records, no pairs under a rule) is
    reported as a warning and Splink's defaults stand in for what it would estimate.
    """
    seed = run.config.linkage.seed
    training = linker.training
    estimate_prior(linker, fields, run, total)
    settings = linker._settings_obj  # Splink leaves a zero prior when the rules find no pair
    if not settings._probability_two_random_records_match:
        settings._probability_two_random_records_match = FALLBACK_DUPLICATE_SHARE / max(total, 2)
        run.warn("deterministic rules found no pair: assuming few duplicates for the prior")
    # One chunk, no early stop: u is counted over the whole sample. Splink's probe and
    # chunks save little on DuckDB but cost Spark a round of jobs per chunk and comparison.
    _attempt(run, "u from random pairs", lambda: training.estimate_u_using_random_sampling(
        max_pairs=run.config.linkage.max_pairs_for_u, seed=seed,
        min_count_per_level=None, num_chunks=1))
    estimate_m(linker, fields, run)


def estimate_prior(linker: Linker, fields: set[str], run: Run, total: int) -> None:
    """The prior from the pairs the deterministic rules admit, counted on a sample of the
    records when there are many (`prior_sample` in the linkage facts); a sample that
    holds no such pair is counted again in full. Splink warns of a rule whose own sampled
    pairs are few; the prior reads only their total."""
    rules = [block_on(*r) for r in deterministic_rules(fields)]
    sample = min(1.0, PRIOR_SAMPLE_RECORDS / max(total, 1))
    settings = linker._settings_obj
    for proportion in dict.fromkeys((sample, 1.0)):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The sampled blocking analysis estimate", UserWarning)
            _attempt(run, "prior from deterministic rules", lambda proportion=proportion: (
                linker.training.estimate_probability_two_random_records_match(
                    rules, recall=PRIOR_RECALL, record_sample_proportion=proportion)))
        run.linkage_facts["prior_sample"] = proportion
        if settings._probability_two_random_records_match:
            return


def estimate_m(linker: Linker, fields: set[str], run: Run) -> None:
    """EM sessions until each comparison has EM_ESTIMATES_WANTED plausible estimates;
    each session is recorded in `run.linkage_facts["em_sessions"]`."""
    settings = linker._settings_obj
    accepted = {c.output_column_name: 0 for c in settings.comparisons}
    sessions = run.linkage_facts.setdefault("em_sessions", [])
    coherence: dict[str, list[tuple[float | None, str]]] = {}  # identity comparison: its kept (agreement, session)
    for rule in em_rules(fields):
        estimable = [c.output_column_name for c in settings.comparisons
                     if not {col.input_name for col in c._input_columns_used_by_case_statement} & set(rule)]
        # one comparison alone cannot tell matches from non-matches: any m fits
        if len(estimable) < 2 or all(accepted[n] >= EM_ESTIMATES_WANTED for n in estimable):
            continue
        # Splink drops the session's blocked-on comparisons from the linker's own model
        # before it trains; a failed session would leave them dropped, so restore them.
        before = settings.core_model_settings.copy()
        session = _attempt(run, f"EM blocked on {', '.join(rule)}", lambda rule=rule: (
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule), max_pairs=EM_MAX_PAIRS, estimate_without_term_frequencies=True)))
        if session is None:
            settings.core_model_settings = before
            sessions.append({"blocked_on": list(rule), "estimated": [], "set_aside": [], "failed": True})
            continue
        description = f"EM, blocked on: {session._blocking_rule_for_training.blocking_rule_sql}"
        estimated = [c for c in session.core_model_settings.comparisons if c.output_column_name in estimable]
        # a session whose matches disagree on who they are learnt something else: all of it goes
        another_trait = any(not same_person(c) for c in estimated)
        kept, set_aside = [], []
        for comparison in estimated:
            name = comparison.output_column_name
            if not another_trait and plausible(comparison):
                accepted[name] += 1
                kept.append(name)
                if name in IDENTITY_COMPARISONS:
                    coherence.setdefault(name, []).append((agreement(comparison), description))
            else:
                _forget_estimate(settings, name, description)
                set_aside.append(name)
        sessions.append({"blocked_on": list(rule), "estimated": kept, "set_aside": set_aside, "failed": False})
        if set_aside:
            run.warn(f"EM blocked on {', '.join(rule)}: estimates for {', '.join(set_aside)} set aside "
                     "as implausible (its matches disagree on first name or date of birth, exact "
                     "agreement far weaker than partial, or disagreement counting for a match)")
    keep_most_coherent(settings, coherence)
    linker._populate_m_u_from_trained_values()


def keep_most_coherent(settings, coherence: dict[str, list[tuple[float | None, str]]]) -> None:
    """For first name and date of birth, only the kept estimate of the session whose
    matches agree on them most. What a session's block shares besides the person (a
    household's address, twins' birthday, a family inbox) can only add other people to
    its matches, who disagree on who they are: the most coherent session is the least
    mixed, where a median would take in half of a household's disagreement (on twins,
    first names disagreeing for 42% of one session's matches and 0.3% of another's)."""
    for name, found in coherence.items():
        kept = [(share, d) for share, d in found if share is not None]
        if len(kept) < 2:
            continue
        best = max(kept)[1]
        for _, description in kept:
            if description != best:
                _forget_estimate(settings, name, description)


def net_of_matches(linker: Linker, prior: float) -> dict[str, dict[int, float]]:
    """Take the matches among the random pairs out of u; returns the bits each changed
    level's weight gained, by comparison and comparison vector value.

    A random pair matches with probability `prior`, and then agrees at a level with
    probability m: the share sampled is prior * m + (1 - prior) * u. Strangers share a
    nearly unique identifier (an email, a phone number) so rarely that most random
    pairs agreeing on it are one person's duplicates, and the raw share overstates u
    many times over: thirty times for email on the demo data, where a pair agreeing on
    email alone scored even odds but is one person 96 times in 100. A level gains at
    most MAX_U_CORRECTION bits, as the prior is itself estimated. Levels adjusted by
    term frequency keep their u: the value's frequency stands in for it."""
    gained: dict[str, dict[int, float]] = {}
    for comparison in linker._settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            sampled = level.u_probability
            if (level._fix_u_probability or level._has_tf_adjustments or not level._has_estimated_u_values
                    or not sampled or level.m_probability is None):
                continue
            net = max((sampled - prior * level.m_probability) / (1 - prior), sampled * 2.0 ** -MAX_U_CORRECTION)
            bits = math.log2(sampled / net)
            if bits > MIN_GAIN:
                level.u_probability = net
                gained.setdefault(comparison.output_column_name, {})[level.comparison_vector_value] = bits
    return gained


def plausible(comparison) -> bool:
    """Whatever the data: exact agreement (the first level) is not far weaker than any
    partial agreement (typos can be common, so within EXACT_TOLERANCE), and the last
    level (disagreement) is evidence against a match."""
    levels = [(level.m_probability, level.u_probability) for level in comparison._comparison_levels_excluding_null]
    if any(m is None or u is None for m, u in levels) or len(levels) < 2:
        return True
    factors = [max(m, M_U_CLAMP_MIN) / max(u, M_U_CLAMP_MIN) for m, u in levels]
    return factors[0] * EXACT_TOLERANCE >= max(factors[1:-1], default=0) and factors[-1] < 1


def agreement(comparison) -> float | None:
    """The share of a session's matches that agree on a comparison, exactly or at a level
    strangers rarely reach (a typo, a nickname, a swapped day and month); None where a
    level has no estimate."""
    exact, *partial, _ = comparison._comparison_levels_excluding_null
    agree = [exact] + [level for level in partial if (level.u_probability or 1) < RARE_AMONG_STRANGERS]
    if any(level.m_probability is None for level in agree):
        return None
    return sum(level.m_probability for level in agree)


def same_person(comparison) -> bool:
    """Matches are one person: at least half of them agree on the first name and on the
    date of birth (`agreement`). A session whose 'matches' mostly do not has learnt a
    household, or whatever else its block shares."""
    if comparison.output_column_name not in IDENTITY_COMPARISONS:
        return True
    share = agreement(comparison)
    return share is None or share >= IDENTITY_AGREEMENT


def _forget_estimate(settings, name: str, description: str) -> None:
    """Drop one session's m estimates for a comparison; the level falls back to the
    other sessions' median, or to Splink's default when none is left."""
    for comparison in settings.comparisons:
        if comparison.output_column_name != name:
            continue
        for level in comparison._comparison_levels_excluding_null:
            level._trained_m_probabilities = [
                t for t in level._trained_m_probabilities if t["description"] != description]
            if not level._has_estimated_m_values and not level._fix_m_probability:
                level._m_probability = None


def _attempt(run: Run, step: str, action):
    """The action's result, or None (with a warning) when Splink cannot do it on this data."""
    try:
        return action() or True
    except Exception as err:  # noqa: BLE001 - Splink raises many types on degenerate data
        run.warn(f"linkage training step '{step}' skipped on this data ({type(err).__name__})")
        return None


def _clamped_lookup(records):
    """Splink 5.0's EM raises when an m estimate underflows below M_U_CLAMP_MIN (a level
    no match ever reaches, after many iterations); clamp it there, as Splink's own match
    weight does, so the session completes."""
    lookup = _lookup(records)
    for levels in lookup.values():
        for values in levels.values():
            for key in ("m_probability", "u_probability"):
                if isinstance(values.get(key), float) and values[key] < M_U_CLAMP_MIN:
                    values[key] = M_U_CLAMP_MIN
    return lookup


_lookup = _em.m_u_records_to_lookup_dict
_em.m_u_records_to_lookup_dict = _clamped_lookup


class CountsWithUnseenLevels(_estimate_u._MUCountsAccumulator):
    """Splink leaves u unestimated for a level no random pair reaches, and its default u
    for that level then stands (3e-3 for the middle of three levels): a phone number one
    typo apart, which strangers share about once in a million pairs, would count as weak
    evidence, or as strong, depending on whether the 2 million sampled pairs happened to
    hold one. Such a level counts as reached once: u is below one in the pairs sampled."""

    def to_record_list(self, with_extra_columns: bool = True) -> list[dict]:
        records = super().to_record_list(with_extra_columns)
        for record in records:
            record["u_count"] = record["u_count"] or UNSEEN_U_COUNT
        return records


_estimate_u._MUCountsAccumulator = CountsWithUnseenLevels
