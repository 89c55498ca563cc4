"""Source structure: which sources hold each person at most once.

A voter roll, a payroll or a loyalty scheme's member list holds each person once; a
customer built from several such lists has at most one record of each. Linking them
one-to-one is a structural guarantee no threshold gives: a chain of namesakes can no
longer run through two records of one list. A source declares it (`deduplicated: true`)
or is found to be one by what linkage scored: its records link to other sources' records
far more readily than to each other's. Per possible pair, strong links (pairs the model is
sure of) inside the source are compared with those from it to the rest; a source whose
inside links are rarer than ONCE_RATIO of its outside ones holds few duplicates, if any.
Only strong links tell: a model on few or noisy fields links namesakes inside a list at
moderate probabilities almost as often as across (a ratio of 0.3 at 0.5 on five voter
lists of one person each), but a real duplicate is a strong pair (the demo's sources,
with 3-6% duplicates, read 0.18-0.22 at every probability from 0.5 to 0.9999, the
benchmark's voter lists 0.08-0.13 at 0.99 and 0.000-0.014 at 0.9999). `deduplicated:
false` keeps a source out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scv.clusters import source_of

if TYPE_CHECKING:
    from scv.engine.base import Engine
    from scv.pipeline import Run

# Links inside a source at most this share as frequent, per possible pair, as its links
# to other sources: a source where a person has a second record is ten or more times
# likelier to show it (the demo's CRM, with 6% duplicates, reads 0.2-0.3).
ONCE_RATIO = 0.05
STRONG = 0.9999  # links at this probability or above (13.3 bits) are the ones compared first
STRENGTHS = (STRONG, 0.999, 0.99)  # then these, where a source has too few links at STRONG
MIN_LINKS_ACROSS = 20  # fewer links to other sources say too little to judge a source by
# A source whose records link to each other no more readily, per possible pair, than to
# other sources' holds people mostly once: a second record of one person is the exception
# (the demo's CRM with 6% duplicates reads 0.2-0.3, a population where half the people
# are twins 0.49, each twin's records strong links inside the source). Two of its records
# under names that cannot be one person's are two people (`scv.namesakes`).
MOSTLY_ONCE_RATIO = 1.0


def one_to_one_sources(run: Run, threshold: float) -> list[str]:
    """The sources linked one-to-one: declared, or found in engine table `pairs` from its
    strongest links at the threshold or above (`detected`); recorded in the linkage facts
    (`one_to_one`: source -> how it was known)."""
    sources = {name: s for name, s in run.config.sources.items() if name in run.config.record_sources}
    declared = {name for name, s in sources.items() if s.deduplicated}
    undecided = [name for name, s in sources.items() if s.deduplicated is None]
    found = detected(run, threshold, undecided) if len(sources) > 1 and undecided else {}
    chosen = {**{name: "declared" for name in declared},
              **{name: "detected" for name, ratio in found.items() if ratio is not None and ratio <= ONCE_RATIO}}
    run.linkage_facts["one_to_one"] = dict(sorted(chosen.items()))
    run.linkage_facts["inside_to_across_link_ratio"] = {
        name: (None if ratio is None else round(ratio, 4)) for name, ratio in sorted(found.items())}
    return sorted(chosen)


def mostly_once_sources(run: Run) -> list[str]:
    """The sources, not linked one-to-one, that hold people mostly once, by the ratio
    `one_to_one_sources` recorded (none declared `deduplicated: false`: it is not asked)."""
    once = run.linkage_facts.get("one_to_one", {})
    ratios = run.linkage_facts.get("inside_to_across_link_ratio", {})
    return sorted(name for name, ratio in ratios.items()
                  if name not in once and ratio is not None and ratio <= MOSTLY_ONCE_RATIO)


def detected(run: Run, threshold: float, names: list[str]) -> dict[str, float | None]:
    """Per source: links inside it per possible pair, over its links to other sources per
    possible pair (None when too few links across to tell), counted at the strongest of
    STRENGTHS (no lower than `threshold`) at which the source has MIN_LINKS_ACROSS links
    across. A model on few, noisy fields is sure of few pairs: on five voter lists with
    typos in over half their values, each list had 9 to 12 links across at 0.9999 (too few
    to tell) and none inside at any strength."""
    engine = run.engine
    records = source_sizes(engine)
    total = sum(records.values())
    strengths = [s for s in STRENGTHS if s >= threshold] or [threshold]
    counts = ", ".join(f"sum(case when match_probability >= {s!r} then 1 else 0 end)" for s in strengths)
    links = engine.rows(f"""
        select {source_of('record_key_l')} as l, {source_of('record_key_r')} as r, {counts}
        from pairs where match_probability >= {strengths[-1]!r} group by 1, 2""")
    inside = {name: [0] * len(strengths) for name in records}
    across = {name: [0] * len(strengths) for name in records}
    for left, right, *n in links:  # the pairs' records are all in link_inputs: each source is counted
        into = inside if left == right else across
        for side in {left, right}:
            into[side] = [a + int(b) for a, b in zip(into[side], n)]
    found = {}
    for name in names:
        n = records.get(name, 0)
        level = next((i for i, a in enumerate(across.get(name, [])) if a >= MIN_LINKS_ACROSS), None)
        if n < 2 or total - n < 1 or level is None:
            found[name] = None
            continue
        inside_rate = inside[name][level] / (n * (n - 1) / 2)
        across_rate = across[name][level] / (n * (total - n))
        found[name] = inside_rate / across_rate
    return found


def source_sizes(engine: Engine) -> dict[str, int]:
    """Records per source in the linkage input."""
    return dict(engine.rows("select source, count(*) from link_inputs group by source"))


def possible_pairs(engine: Engine, inside: list[str]) -> tuple[float, float]:
    """The pairs of records there are inside the sources `inside`, and across sources:
    what links inside and across are counted against, per possible pair."""
    sizes = source_sizes(engine)
    total = sum(sizes.values())
    return (sum(sizes.get(s, 0) * (sizes.get(s, 0) - 1) / 2 for s in inside),
            (total * total - sum(n * n for n in sizes.values())) / 2)


MIN_INSIDE_PAIRS = 20  # fewer scored pairs inside the lists say too little to calibrate on
MOST_SHIFT = 12.0  # bits: the calibration moves weights by at most this much


def overstatement(run: Run, once: list[str]) -> float | None:
    """Bits by which the model's weights overstate a match, read off the lists that hold
    each person once: every pair inside one of them is two people. Strangers collide on
    names and towns inside a list as often, per possible pair, as across lists, so the
    inside pairs at each weight, scaled by the possible pairs across over those inside,
    count the strangers among the pairs across at that weight; the rest are matches.
    Returns the shift d for which the pairs across, at weights less d, expect that many
    matches (None when the lists hold too few scored pairs to tell). A model on few, noisy
    fields is confidently wrong (five voter lists: pairs scored at 0.93 were one person
    one time in four); this measures it on the data, with no labels."""
    engine, q = run.engine, run.engine.dialect.literal
    inside_possible, across_possible = possible_pairs(engine, once)
    if not inside_possible or not across_possible:
        return None
    listed = ", ".join(q(s) for s in once)
    bins = engine.rows(f"""
        select round(match_weight, 1) as w,
               sum(case when l = r and l in ({listed}) then 1 else 0 end) as inside,
               sum(case when l <> r then 1 else 0 end) as across
        from (select {source_of('record_key_l')} as l, {source_of('record_key_r')} as r,
                     match_weight from pairs) p
        group by round(match_weight, 1)""")
    bins = [(float(w), int(i), int(a)) for w, i, a in bins]
    if sum(i for _, i, _ in bins) < MIN_INSIDE_PAIRS:
        return None
    # the strangers across are the inside pairs scaled (all weights together: bin by bin
    # the noise of the few pairs at each weight would only add)
    matches = max(0.0, sum(a for _, _, a in bins) - sum(i for _, i, _ in bins) * across_possible / inside_possible)

    def expected(shift: float) -> float:
        return sum(a / (1 + 2 ** -min(max(w - shift, -1000), 1000)) for w, _, a in bins)

    low, high = -MOST_SHIFT, MOST_SHIFT
    for _ in range(60):  # expected() falls as the shift grows
        mid = (low + high) / 2
        low, high = (mid, high) if expected(mid) > matches else (low, mid)
    return round((low + high) / 2, 3)
