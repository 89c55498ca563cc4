"""Blocking chosen by measurement: which candidate pairs linkage scores at all.

Candidate rules run from the strongest keys (full name, email, phone) to looser
combinations (a phonetic name with the birth year or the city). Each is counted on
the data before it is used, and taken in order while the comparisons stay within a
budget per record: on a small data set the loose rules recover matches with typos in
every strong key; on a large one they would explode, and are left out. Nothing is
tuned to a data set: the budget decides.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import TYPE_CHECKING

from splink import block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules

if TYPE_CHECKING:
    from scv.pipeline import Run

SWAPPED_NAMES = "l.first_name = r.last_name and l.last_name = r.first_name"
SWAPPED_NAMES_BY_YEAR = f"{SWAPPED_NAMES} and year(l.date_of_birth) = year(r.date_of_birth)"
EXACT_COUNT_LIMIT = 1e6  # above this many comparisons Splink's analysis counts on a sample
SAMPLED_COUNT_PAIRS = 2.5e5  # of about this many pairs: each rule's count within 6% at 1M records
# The `auto` budget: 10 pairs a record, as at a million records a looser rule (everyone
# born on one day: 9M pairs) bought no F1 and doubled the time of linking, but never
# under 5M pairs, which score in seconds and let noisy small data use the loose rules.
AUTO_PAIRS_PER_RECORD = 10
AUTO_MIN_PAIRS = 5_000_000
# Under `auto`, no one rule may take more than a third of the budget: a rule that needs
# that much is unselective, its pairs nearly all strangers. At 10M records names with the
# city took 49M of 97M pairs; at 1M, where it fits, it adds 0.0005 of recall.
AUTO_RULE_SHARE = 1 / 3
CANDIDATES: list[tuple[str, ...]] = [
    ("first_name", "last_name"),
    ("first_name_phonetic", "last_name_phonetic"),
    # the same names narrowed, for data so large that the two above exceed the budget
    # (namesakes grow with the square of the records); skipped where those are taken
    ("first_name", "last_name", "year(date_of_birth)"),
    ("first_name_phonetic", "last_name_phonetic", "year(date_of_birth)"),
    ("first_name", "last_name", "city"),
    ("email",),
    ("email_user", "substr(email_domain, 1, 1)"),
    ("phone_key",),
    ("date_of_birth",),
    ("postcode", "substr(first_name, 1, 1)"),
    ("postcode", "house_number"),
    ("year(date_of_birth)", "first_name_phonetic"),
    ("year(date_of_birth)", "last_name_phonetic"),
    ("month(date_of_birth)", "day(date_of_birth)", "substr(last_name, 1, 1)"),
    ("city", "first_name_phonetic"),
    ("city", "last_name_phonetic"),
    ("first_name_phonetic", "substr(last_name, 1, 1)"),
    ("last_name_phonetic", "substr(first_name, 1, 1)"),
    ("postcode",),
    ("last_name",),
    ("first_name",),
    # for names typed badly on both sides: each sound alone, the first letters of both,
    # the initials within a town; the budget takes them only where they are affordable
    ("last_name_phonetic",),
    ("first_name_phonetic",),
    ("substr(first_name, 1, 2)", "substr(last_name, 1, 2)"),
    ("city", "substr(first_name, 1, 1)", "substr(last_name, 1, 1)"),
]


# Columns of the link input made from another (`scv.link.link_input_sql`): present where it is.
DERIVED = {"email_user": "email", "email_domain": "email"}  # the mailbox name and domain


def column(part: str) -> str:
    """The field a rule part reads: `substr(first_name, 1, 1)` reads first_name."""
    name = part.split("(")[-1].split(",")[0].split(")")[0] if "(" in part else part
    return DERIVED.get(name, name)


def present(rules: list[tuple[str, ...]], fields: set[str]) -> list[tuple[str, ...]]:
    """The rules whose columns all hold data."""
    return [r for r in rules if all(column(p) in fields for p in r)]


def candidates(fields: set[str], identifiers: list[str]) -> list[tuple[str, ...]]:
    """The candidate rules whose columns all hold data; identifier attributes after
    the canonical identifiers (email, phone)."""
    found = present(CANDIDATES, fields)
    return found[:4] + [(a,) for a in identifiers] + found[4:]


def comparisons_under(run: Run, rule: tuple[str, ...]) -> int:
    """Pairs a rule admits on its own: the sum over its blocks of n(n-1)/2, one
    group-by over the linkage inputs (an upper bound of what it adds to the others)."""
    present = " and ".join(f"{p} is not null" for p in rule)
    found = run.engine.rows(
        f"select sum(n * (n - 1) / 2) from (select count(*) as n from link_inputs "
        f"where {present} group by {', '.join(rule)}) as blocks")[0][0]
    return int(found or 0)


def choose(run: Run, fields: set[str], total: int, identifiers: list[str]) -> list:
    """The blocking rules for prediction over engine table link_inputs, recorded in
    `run.linkage_facts`."""
    budget = pairs_budget(run, total)
    most = budget * AUTO_RULE_SHARE if run.config.linkage.comparisons_per_record == "auto" else budget
    chosen: dict[tuple[str, ...], int] = {}  # rule: the pairs it admits
    for rule in candidates(fields, identifiers):
        if any(set(taken) <= set(rule) for taken in chosen):
            continue  # narrower than a rule already taken: it finds nothing new
        cost = comparisons_under(run, rule)
        if cost == 0 or cost > most or sum(chosen.values()) + cost > budget:
            continue
        chosen[rule] = cost
    chosen = without_narrower(chosen)
    spent = sum(chosen.values())
    rules = [block_on(*r) for r in chosen]
    if {"first_name", "last_name"} <= fields:  # swapped names, narrowed by birth year if need be
        for rule, by_year in ((SWAPPED_NAMES, False), (SWAPPED_NAMES_BY_YEAR, True)):
            if by_year and "date_of_birth" not in fields:
                continue
            cost = swapped_names_under(run, by_year)
            if cost <= most and spent + cost <= budget:
                rules.append(rule)
                spent += cost
                break
    run.linkage_facts.update(budget_per_record=budget / total, pairs_to_score=spent)
    return rules


def without_narrower(chosen: dict[tuple[str, ...], int]) -> dict[tuple[str, ...], int]:
    """The rules without those a broader rule taken after them covers (postcode with the
    house number, then postcode alone): every pair they admit, it admits, and each is
    one more join of all the records."""
    return {r: n for r, n in chosen.items() if not any(set(other) < set(r) for other in chosen)}


def pairs_budget(run: Run, total: int) -> float:
    """The pairs all blocking rules together may admit: linkage.comparisons_per_record
    for each of `total` records."""
    per_record = run.config.linkage.comparisons_per_record
    if per_record == "auto":
        return max(AUTO_PAIRS_PER_RECORD * total, AUTO_MIN_PAIRS)
    return per_record * total


def swapped_names_under(run: Run, by_year: bool) -> int:
    """Pairs the swapped-names rule admits: each (first, last) group against its mirror
    (an upper bound: a group named "Lee Lee" mirrors itself)."""
    year = ", year(date_of_birth)" if by_year else ""
    groups = f"""select first_name as f, last_name as l{year + " as y" if by_year else ""}, count(*) as n
                 from link_inputs where first_name is not null and last_name is not null
                 {"and date_of_birth is not null" if by_year else ""}
                 group by first_name, last_name{year}"""
    found = run.engine.rows(f"""select sum(a.n * b.n) from ({groups}) a join ({groups}) b
                                on a.f = b.l and a.l = b.f{" and a.y = b.y" if by_year else ""}""")[0][0]
    return int(found or 0) // 2


def count_blocked_pairs(run: Run, linker, blocked: str) -> None:
    """What each rule of the linker adds to those before it, counted exactly on the
    blocked pairs Splink scored (engine table `blocked`: a pair once, under the first
    rule that admits it), in the form `record_counts` reports."""
    rules = linker._settings_obj._blocking_rules_to_generate_predictions
    found = {str(key): n for key, n in run.engine.rows(f"select match_key, count(*) from {blocked} group by match_key")}
    run.linkage_facts["blocking_count_sample"] = 1.0
    run.linkage_facts["blocking_rules"] = [
        {"rule": rule.blocking_rule_sql, "comparisons": int(found.get(str(i), 0))} for i, rule in enumerate(rules)]


def record_counts(run: Run, rules: list[str], records, total: int) -> None:
    """Splink's own count of what each rule used adds to those before it, for a run whose
    pairs were scored in parts (`count_blocked_pairs` counts the others): past
    EXACT_COUNT_LIMIT pairs, on a sample of the records that holds SAMPLED_COUNT_PAIRS, as
    it is only reported. At 1M records (3M pairs) counting exactly takes 2.7 s, on a
    million pairs 1.8 s, on a quarter of a million 1.0 s."""
    if not rules:
        return
    expected = run.linkage_facts.get("pairs_to_score") or pairs_budget(run, total)
    sample = 1.0 if expected <= EXACT_COUNT_LIMIT else math.sqrt(SAMPLED_COUNT_PAIRS / expected)
    with warnings.catch_warnings():  # a sampled count of a small rule is rough: it is only reported
        warnings.simplefilter("ignore", UserWarning)
        counted = count_comparisons_from_blocking_rules(
            records, blocking_rules=rules, link_type="dedupe_only",
            unique_id_column_name="record_key", source_dataset_column_name="source",
            record_sample_proportion=sample)
    run.linkage_facts["blocking_count_sample"] = sample
    run.linkage_facts["blocking_rules"] = [
        {"rule": c["blocking_rule"], "comparisons": int(c["marginal_comparison_count"])} for c in counted]


def estimated_recall(run: Run, conditions: list[str], linked: str) -> float | None:
    """Share of true matches some rule compares, estimated from the linked pairs.

    Every linked pair was found by a rule. Rules that read a common field miss the same
    matches (a name typed wrong escapes the name, its sound and its first letters alike),
    so rules are grouped by the fields they read, and a group's recall is measured on the
    linked pairs only rules of other groups found: a group of other fields is a witness
    independent of it, as the model takes fields to be. A match escapes all rules when it
    escapes every group. Without two groups (every rule reads one field), each rule's
    recall is measured on the pairs the other rules found, as if they were independent:
    that overstates recall, as rules on one field miss together.
    """
    if len(conditions) < 2:
        return None
    flags = ", ".join(f"case when {c} then 1 else 0 end as r{i}" for i, c in enumerate(conditions))
    run.engine.create("linked_by_rule", f"""
        select {flags} from {linked} p
        join link_inputs l on l.record_key = p.record_key_l
        join link_inputs r on r.record_key = p.record_key_r""")
    groups = rule_groups(conditions)
    if len(groups) < 2:
        groups = [[i] for i in range(len(conditions))]
    missed = 1.0
    for group in groups:
        by_group = " + ".join(f"r{i}" for i in group)
        by_others = " + ".join(f"r{i}" for i in range(len(conditions)) if i not in group)
        found_by_others, also_by_group = run.engine.rows(
            f"select count(*), sum(case when {by_group} > 0 then 1 else 0 end) "
            f"from linked_by_rule where {by_others} > 0")[0]
        if found_by_others:
            missed *= 1 - (also_by_group or 0) / found_by_others
    return 1 - missed


def rule_groups(conditions: list[str]) -> list[list[int]]:
    """The rules (by index) grouped so that rules reading a common field, directly or
    through others, share a group."""
    fields = [rule_fields(c) for c in conditions]
    groups: list[tuple[set[str], list[int]]] = []
    for i, read in enumerate(fields):
        joined = [g for g in groups if g[0] & read]
        merged = (set(read).union(*(g[0] for g in joined)), sorted([i, *(j for g in joined for j in g[1])]))
        groups = [g for g in groups if g not in joined] + [merged]
    return [members for _, members in groups]


def rule_fields(condition: str) -> set[str]:
    """The fields a rule's SQL reads (l.first_name_phonetic reads first_name; the mailbox
    name and domain read email)."""
    read = set(re.findall(r"\b[lr]\.[\"`]?(\w+)", condition))
    return {DERIVED.get(name, re.sub(r"_(phonetic|key)$", "", name)) for name in read}
