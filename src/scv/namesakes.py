"""Two people, not one: first names that cannot be one person's.

Records of one household share its surname, address, landline and often its inbox; twins
share the date of birth too. The model weighs each field on its own, so such records
score as one person however their first names differ, and only the first names tell them
apart. Two first names cannot be one person's when they are not one formal name (Bob and
Robert), one sound or the start of the other (J, Jon), are not the first and last name
swapped, and differ by more than a typo. Each must also be a name people have: a
one-off spelling is likelier a typo of the other than a second person.

One home for the rule: a contact value held by two such names is nobody's own
(`scv.link.generic_values_sql`), and a source that holds people mostly once never holds
one person under two such names (`weigh_two_people`, parted by `scv.clusters.review`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scv.structure import MIN_INSIDE_PAIRS, possible_pairs

if TYPE_CHECKING:
    from scv.engine.base import Dialect
    from scv.pipeline import Run

ATTESTED_NAME = 3  # records with a first name for it to count as a name people have


def unlike_first_names(d: Dialect, left: str, right: str) -> str:
    """SQL: two records whose first names cannot be one person's: the name comparison's
    last level (not one formal name as Bob and Robert, not one sound, Jaro-Winkler below
    0.7), neither the start of the other (J, Jon), and not first and last name swapped.
    `left`, `right`: a table alias (`a`: a.first_name), or a pattern for the columns of
    one record (`{}_l`: first_name_l)."""
    lc, rc = ((side if "{}" in side else side + ".{}").format for side in (left, right))
    a, b = lc("first_name"), rc("first_name")
    return (f"{lc('first_name_key')} <> {rc('first_name_key')} "
            f"and {lc('first_name_phonetic')} <> {rc('first_name_phonetic')} "
            f"and {d.jaro_winkler(a, b)} < 0.7 "
            f"and substr({a}, 1, length({b})) <> {b} and substr({b}, 1, length({a})) <> {a} "
            f"and {a} <> coalesce({rc('last_name')}, '') and {b} <> coalesce({lc('last_name')}, '')")


def attested_names_sql() -> str:
    """SQL: the first names of silver_records that people have (on ATTESTED_NAME records or more)."""
    return f"""select first_name from silver_records where first_name is not null
               group by first_name having count(*) >= {ATTESTED_NAME}"""


TWO_PEOPLE = "two_people"  # engine table: linked pairs under unlike names (record_key_l, record_key_r, certain)


def weigh_two_people(run: Run, mostly_once: list[str], threshold: float, floor_weight: float) -> None:
    """Engine table TWO_PEOPLE: the links (pairs at `threshold` or above) whose records'
    first names cannot be one person's and are names people have. Inside a source of
    `mostly_once` such a pair is two people (`certain`): the source would hold one person
    twice, under two real names. Across sources it is two people as often, per possible
    pair, as inside them: households and twins spread over sources as over records. The
    links across beyond that rate are one person under another name (a name replaced, a
    maiden name). Every pair across is weighed by that share, and the pairs inside set at
    `floor_weight`, in engine table `pairs`; the share goes to the linkage facts
    (`two_people_share`, with no lists or too few pairs inside them: not measured)."""
    engine, d = run.engine, run.engine.dialect
    listed = ", ".join(d.literal(s) for s in mostly_once) or d.literal("")
    # the links with their records' names first, on their own: joined in one query with
    # the names people have, DuckDB may pair every record with every other before it
    # filters (121 million rows and 195 s for 25,000 records)
    named = ", ".join(f"{side}.{c} as {c}_{end}" for side, end in (("a", "l"), ("b", "r"))
                      for c in ("source", "first_name", "first_name_key", "first_name_phonetic", "last_name"))
    engine.create("links_named", f"""
        select p.record_key_l, p.record_key_r, {named}
        from pairs p join silver_records a on a.record_key = p.record_key_l
                     join silver_records b on b.record_key = p.record_key_r
        where p.match_probability >= {threshold!r}""")
    engine.create(TWO_PEOPLE, f"""
        with attested as ({attested_names_sql()})
        select t.record_key_l, t.record_key_r, t.source_l = t.source_r as certain
        from links_named t join attested na on na.first_name = t.first_name_l
                           join attested nb on nb.first_name = t.first_name_r
        where {unlike_first_names(d, "t.{}_l", "t.{}_r")}
          and (t.source_l <> t.source_r or t.source_l in ({listed}))""")
    engine.drop("links_named")
    [(inside, across)] = engine.rows(f"""select coalesce(sum(case when certain then 1 else 0 end), 0),
                                                coalesce(sum(case when certain then 0 else 1 end), 0)
                                         from {TWO_PEOPLE}""")
    inside_possible, across_possible = possible_pairs(engine, mostly_once)
    share = None
    if inside >= MIN_INSIDE_PAIRS and across and inside_possible and across_possible:
        share = min(1.0, inside * across_possible / inside_possible / across)
    run.linkage_facts.update(two_people_inside=int(inside), two_people_across=int(across),
                             two_people_share=None if share is None else round(share, 4))
    if not inside:
        return  # nothing certain, and so no share measured: every weight stays
    if share is None:
        across_weight = "p.match_weight"
    elif share >= 1:
        across_weight = repr(floor_weight)
    else:  # p (1 - share) as a weight: log2 of its odds, no lower than the floor
        kept = f"(p.match_probability * {1 - share!r})"
        across_weight = f"greatest({floor_weight!r}, log2({kept}) - log2(1 - {kept}))"
    engine.create("pairs_weighed", f"""
        select p.record_key_l, p.record_key_r,
               case when t.record_key_l is null then p.match_weight
                    when t.certain then {floor_weight!r}
                    else {across_weight} end as match_weight
        from pairs p left join {TWO_PEOPLE} t on t.record_key_l = p.record_key_l and t.record_key_r = p.record_key_r""")
    engine.create("pairs", """select record_key_l, record_key_r, match_weight,
                                     1 / (1 + pow(2, -match_weight)) as match_probability from pairs_weighed""")
    engine.drop("pairs_weighed")
