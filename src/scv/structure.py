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
with 3-6% duplicates, read 0.18-0.22 at every probability from 0.5 to 0.9999, the voter
lists 0.007-0.029 at 0.99). `deduplicated: false` keeps a source out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scv.pipeline import Run

# Links inside a source at most this share as frequent, per possible pair, as its links
# to other sources: a source where a person has a second record is ten or more times
# likelier to show it (the demo's CRM, with 6% duplicates, reads 0.2-0.3).
ONCE_RATIO = 0.05
STRONG = 0.99  # links at this probability or above are the ones compared
MIN_LINKS_ACROSS = 20  # fewer links to other sources say too little to judge a source by


def one_to_one_sources(run: Run, threshold: float) -> list[str]:
    """The sources linked one-to-one: declared, or found in engine table `pairs` at the
    threshold; recorded in the linkage facts (`one_to_one`: source -> how it was known)."""
    sources = {name: s for name, s in run.config.sources.items() if name in run.config.record_sources}
    declared = {name for name, s in sources.items() if s.deduplicated}
    undecided = [name for name, s in sources.items() if s.deduplicated is None]
    found = detected(run, max(threshold, STRONG), undecided) if len(sources) > 1 and undecided else {}
    chosen = {**{name: "declared" for name in declared},
              **{name: "detected" for name, ratio in found.items() if ratio is not None and ratio <= ONCE_RATIO}}
    run.linkage_facts["one_to_one"] = dict(sorted(chosen.items()))
    run.linkage_facts["inside_to_across_link_ratio"] = {
        name: (None if ratio is None else round(ratio, 4)) for name, ratio in sorted(found.items())}
    return sorted(chosen)


def detected(run: Run, threshold: float, names: list[str]) -> dict[str, float | None]:
    """Per source: links inside it per possible pair, over its links to other sources per
    possible pair (None when too few links across to tell)."""
    engine = run.engine
    records = dict(engine.rows("select source, count(*) from link_inputs group by source"))
    total = sum(records.values())
    links = engine.rows(f"""
        select split_part(record_key_l, ':', 1) as l, split_part(record_key_r, ':', 1) as r, count(*)
        from pairs where match_probability >= {threshold!r} group by 1, 2""")
    inside, across = dict.fromkeys(records, 0), dict.fromkeys(records, 0)
    for left, right, n in links:
        if left == right:
            inside[left] = inside.get(left, 0) + n
        else:
            across[left] = across.get(left, 0) + n
            across[right] = across.get(right, 0) + n
    found = {}
    for name in names:
        n = records.get(name, 0)
        if n < 2 or total - n < 1 or across.get(name, 0) < MIN_LINKS_ACROSS:
            found[name] = None
            continue
        inside_rate = inside.get(name, 0) / (n * (n - 1) / 2)
        across_rate = across[name] / (n * (total - n))
        found[name] = inside_rate / across_rate
    return found
