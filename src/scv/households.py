"""One home, several people: what a household shares counted once, its members told apart
by what is their own.

Records of one household share its surname, street address and landline; twins share the
date of birth too. The model weighs each as independent evidence of one person, so two
members of a home score as one person however their first names differ: on a population
where half the people are twins, 23% of the pairs it linked were two people, where it
expected 2%.

Among the pairs that share a surname and a home (a street address or a phone number),
only what is a person's own can tell one member from another: the first name and the date
of birth. How often one person's records agree on those the model knows (its m, learnt
where its matches are most coherent: `scv.training.keep_most_coherent`). How many home
pairs are one person, and how often two members of a home share a birthday, are measured
here by EM over all the pairs of the homes, m held and the members' first names taken to
be as alike as any two people's (the name comparison's u). A pair of one home then is one
person with the probability that gives it, where that is lower than the whole model's:
once two records are known to share a home, the home adds nothing more.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from scv.levels import gammas, levels_sql

if TYPE_CHECKING:
    from splink import Linker

    from scv.engine.base import Engine
    from scv.pipeline import Run

OWN = ("first_name", "date_of_birth")  # the comparisons that tell the members of a home apart
HOME = ("address_line_1", "phone_key")  # either shared, with the surname: one home
HOUSEHOLD_SIZE = 20  # records sharing a surname and home key beyond this are no household (a placeholder)
MIN_HOME_PAIRS = 100  # fewer pairs say too little to measure how alike a home's members are
NEAR = 0.88  # Jaro-Winkler: a surname or street a typo apart is still the home's
LINK = 0.5  # the lowest probability a link is made at (`scv.link.AUTO_FLOOR`)
HOME_APART = "home_apart"  # engine table: links the members' own fields undo (record_key_l, record_key_r)
EM_ITERATIONS = 200
HOME_FACTS = ("home_pairs", "home_share_one_person", "home_links_undone")  # in the linkage facts


def weigh_homes(run: Run, linker: Linker, floor_weight: float) -> bool:
    """Lower, in engine table `pairs`, each pair of one home to the probability its own
    fields give it (never below `floor_weight`), and keep in engine table HOME_APART the
    links so undone, for the review to part (`scv.clusters.examine`: a full run clusters
    Splink's scores). Only where the model compares a home (a model retrained without
    what households share does not). Returns whether the homes were weighed; the linkage
    facts get `home_pairs`, `home_share_one_person` and `home_links_undone`."""
    comparisons = {c.output_column_name: c for c in linker._settings_obj.comparisons}
    own = [comparisons[name] for name in OWN if name in comparisons]
    compared = {col.input_name for c in comparisons.values() for col in c._input_columns_used_by_case_statement}
    homes = [h for h in HOME if h in compared]
    if "first_name" not in comparisons or "last_name" not in compared or not homes:
        return False
    if any(level.m_probability is None for c in own for level in c._comparison_levels_excluding_null):
        return False
    engine = run.engine
    home_pairs = _home_pairs_sql(homes, linker._settings_obj._link_type)
    engine.create("home_pairs", levels_sql(own, home_pairs, "key_l", "key_r"))
    cells = engine.rows(f"select {gammas(own)}, count(*) from home_pairs group by {gammas(own)}")
    engine.drop("home_pairs")
    run.linkage_facts["home_pairs"] = total = int(sum(row[-1] for row in cells))
    if total < MIN_HOME_PAIRS:
        return False
    m = [{level.comparison_vector_value: level.m_probability for level in c._comparison_levels_excluding_null}
         for c in own]
    named_as_strangers = {level.comparison_vector_value: level.u_probability
                          for level in own[0]._comparison_levels_excluding_null}
    share, u = measure(cells, m, {0: named_as_strangers})
    run.linkage_facts["home_share_one_person"] = round(share, 4)
    engine.create("home_posterior", " union all ".join(
        "select " + ", ".join(f"{g} as {c._gamma_column_name}" for c, g in zip(own, gamma))
        + f", {one_person(gamma, share, m, u)!r} as p" for *gamma, _ in cells))
    _lower(engine, own, homes, floor_weight)
    run.linkage_facts["home_links_undone"] = engine.count(HOME_APART)
    engine.drop("home_posterior")
    return True


def _home_pairs_sql(homes: list[str], link_type: str) -> str:
    """SQL: every pair of records sharing the surname and a home key (key_l, key_r), the
    keys that more than HOUSEHOLD_SIZE records share left out."""
    joins = []
    for home in homes:
        households = (f"select last_name, {home} from link_inputs where last_name is not null and {home} is not null "
                      f"group by last_name, {home} having count(*) <= {HOUSEHOLD_SIZE}")
        joins.append(f"""select l.record_key as key_l, r.record_key as key_r
            from link_inputs l join link_inputs r
              on l.last_name = r.last_name and l.{home} = r.{home} and l.record_key < r.record_key
            join ({households}) h on h.last_name = l.last_name and h.{home} = l.{home}
            {"where l.source <> r.source" if link_type == "link_only" else ""}""")
    return f"select distinct key_l, key_r from ({' union all '.join(joins)}) j"


def _lower(engine: Engine, own: list, homes: list[str], floor_weight: float) -> None:
    """Engine table `pairs` with each scored pair of one home (a surname and a street or
    phone a typo apart at most) at its home probability where that is lower, and table
    HOME_APART of the links it undoes."""
    jw = engine.dialect.jaro_winkler
    near = [f"l.{h} = r.{h}" if h == "phone_key" else f"{jw('l.' + h, 'r.' + h)} >= {NEAR!r}" for h in homes]
    on = " and ".join(f"c.{c._gamma_column_name} = s.{c._gamma_column_name}" for c in own)
    engine.create("home_links", f"""
        select s.record_key_l, s.record_key_r, c.p
        from ({levels_sql(own, "select record_key_l, record_key_r from pairs",
                          where=f"{jw('l.last_name', 'r.last_name')} >= {NEAR!r} and ({' or '.join(near)})")}) s
        join home_posterior c on {on}""")
    engine.create(HOME_APART, f"""
        select p.record_key_l, p.record_key_r from pairs p join home_links h
          on h.record_key_l = p.record_key_l and h.record_key_r = p.record_key_r
        where h.p < {LINK!r} and p.match_probability >= {LINK!r}""")
    lowered = f"greatest({floor_weight!r}, log2(greatest(h.p, 1e-300)) - log2(1 - least(h.p, 1 - 1e-16)))"
    engine.create("pairs_weighed", f"""
        select p.record_key_l, p.record_key_r,
               case when h.p < p.match_probability then {lowered} else p.match_weight end as match_weight,
               case when h.p < p.match_probability then 1 / (1 + pow(2, -{lowered})) else p.match_probability end
                   as match_probability
        from pairs p left join home_links h on h.record_key_l = p.record_key_l and h.record_key_r = p.record_key_r""")
    engine.create("pairs", "select * from pairs_weighed")
    for table in ("pairs_weighed", "home_links"):
        engine.drop(table)


def one_person(gamma, share: float, m: list[dict[int, float]], u: list[dict[int, float]]) -> float:
    """The probability that a home pair at levels `gamma` is one person."""
    pm, pu = _likelihoods(gamma, m, u)
    evidence = share * pm + (1 - share) * pu
    return share * pm / evidence if evidence > 0 else 0.0


def _likelihoods(gamma, m, u) -> tuple[float, float]:
    pm = pu = 1.0
    for g, mi, ui in zip(gamma, m, u):
        if g == -1:  # a side without the field: it says nothing
            continue
        pm *= mi.get(g, 0.0)
        pu *= ui.get(g, 0.0)
    return pm, pu


def measure(cells: list[tuple], m: list[dict[int, float]], fixed: dict[int, dict[int, float]]
            ) -> tuple[float, list[dict[int, float]]]:
    """EM over the home pairs, counted by their levels (`cells`: levels..., pairs): the
    share that is one person, and u, how often two members of a home reach each level of
    each own comparison, m held and the comparisons in `fixed` (by position) held at
    their u. Without a held u the share is not identified: a block of one person's
    duplicates fits as well as a block of strangers who happen to agree."""
    share = 0.5
    u = [fixed.get(i) or {g: 1.0 / len(mi) for g in mi} for i, mi in enumerate(m)]
    total = sum(cell[-1] for cell in cells)
    for _ in range(EM_ITERATIONS):
        matched, strangers = 0.0, [{g: 0.0 for g in mi} for mi in m]
        for *gamma, n in cells:
            r = one_person(gamma, share, m, u)
            matched += n * r
            for i, g in enumerate(gamma):
                if g != -1:
                    strangers[i][g] = strangers[i].get(g, 0.0) + n * (1 - r)
        u = [fixed.get(i) or ({g: v / s for g, v in counts.items()} if (s := sum(counts.values())) > 0 else u[i])
             for i, counts in enumerate(strangers)]
        updated, share = share, matched / total
        if math.isclose(updated, share, abs_tol=1e-7):
            break
    return share, u
