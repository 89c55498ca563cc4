"""A model that contradicts itself: links between people its own m says matches almost
never are.

A trained model says how often one person's two records disagree outright on first
name (the name comparison's last level) and on date of birth (more than a year apart):
m of the one times m of the other, about 1 pair in 5,000 on census-like data. Among the
pairs it links, such pairs should be no more common than that, plus its own few errors.
When they are many times more common, something the model weighs as independent
evidence is shared by different people: a household's surname, address, landline and
inbox outvoting its members' own first names and dates of birth. Measured on the
robustness shapes, linked pairs held 72 (households) and 93 (census) times the model's
own rate of such pairs; every other shape held at most 4.4 times it.

The test compares the model with itself, not a share with a constant fitted to data: a
share of strangers among links is high on typo-heavy data whose matches do disagree
(7% on one benchmark at precision 0.999), and low on households' links.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scv.levels import levels_sql

if TYPE_CHECKING:
    from splink import Linker

    from scv.pipeline import Run

OVERLINKED_FACTOR = 10  # linked strangers this many times the model's own rate: it contradicts itself
MIN_STRANGERS = 10  # fewer linked strangers than this prove nothing
MIN_LINKS_TO_JUDGE = 100  # fewer linked pairs say too little to judge a model by
IDENTITY = ("first_name", "date_of_birth")
# The levels of scv's date of birth comparison that are "more than a year apart" (its
# last two: within ten years, else); the first name's is its last (else).
FAR_DATE_LEVELS = 2


def overlinked(run: Run, linker: Linker) -> bool:
    """Whether the pairs the model links at the run's threshold disagree outright on first
    name and date of birth OVERLINKED_FACTOR times more often than its own m says its
    matches do; records `share_linked_strangers` and `strangers_expected` in the linkage
    facts. The levels are Splink's own, evaluated as the model evaluates them."""
    comparisons = {c.output_column_name: c for c in linker._settings_obj.comparisons}
    if not set(IDENTITY) <= set(comparisons):  # a model without both fields cannot be judged so
        return False
    name, born = (comparisons[c] for c in IDENTITY)
    name_levels = name._comparison_levels_excluding_null
    born_levels = born._comparison_levels_excluding_null
    if any(level.m_probability is None for level in name_levels[-1:] + born_levels[-FAR_DATE_LEVELS:]):
        return False
    expected = name_levels[-1].m_probability * sum(level.m_probability for level in born_levels[-FAR_DATE_LEVELS:])
    far = ", ".join(str(level.comparison_vector_value) for level in born_levels[-FAR_DATE_LEVELS:])
    threshold = run.linkage_facts["threshold"]
    linked_pairs = f"select record_key_l, record_key_r from pairs where match_probability >= {threshold!r}"
    [(linked, strangers)] = run.engine.rows(f"""
        select count(*), count(case when {name._gamma_column_name} = {name_levels[-1].comparison_vector_value}
                                     and {born._gamma_column_name} in ({far}) then 1 end)
        from ({levels_sql([name, born], linked_pairs)}) levels""")
    share = strangers / linked if linked else 0.0
    run.linkage_facts.update(share_linked_strangers=share, strangers_expected=expected)
    return (linked >= MIN_LINKS_TO_JUDGE and strangers >= MIN_STRANGERS
            and share > OVERLINKED_FACTOR * expected)
