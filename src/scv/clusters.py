"""Clusters: records grouped at the threshold, then every incoherent group parted.

Grouping at a threshold joins records transitively, so two people can end up in one
customer through a single pair that scored above it, and on data with common names and
typos such chains run through thousands of people. The connected components at the
threshold are found in engine SQL; each one that is not a clique of links (some pair of
its records is not itself at the threshold), or that holds two records of a source
holding each person once, is parted by the evidence between whole groups
(`scv.coherence`), however large it is. A part that holds a pair with evidence against
a match is flagged for review ("weak link"); one where fewer than half of its record
pairs scored at the threshold is flagged as loose.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa
from splink.clustering import cluster_pairwise_predictions_at_threshold

from scv.coherence import Pair, coherent_parts

if TYPE_CHECKING:
    from scv.engine.base import Engine
    from scv.pipeline import Run

SPLIT, WEAK_LINK, LOOSE = "split", "weak link", "loose"  # gold/customers.review_reason
# Pairs inside components that blocking left out, scored at most, to part the components on
# all their evidence: as many as the smallest blocking budget scores (in seconds).
MAX_SCORED_INSIDE = 5_000_000
AT_PAIR = 1e-6  # bits below a pair's weight that a threshold read off it sits
SCORED_INSIDE = "pairs_scored_inside"  # engine table: those pairs and their weights, for the assessment
KEYS = pa.schema([("record_key", pa.string()), ("cluster_id", pa.string())])
FLAGS = pa.schema([("cluster_id", pa.string()), ("review_reason", pa.string())])


def cluster(run: Run, linker, predictions, threshold_weight: float) -> None:
    """Engine table `clusters` (record_key, cluster_id): the connected components of
    Splink's predictions (whose weights `threshold_weight` is on) at the threshold, which
    `review` then parts where they are not coherent."""
    key = record_id_column(linker)
    # Splink's own function on the records' ids alone: the linker's method joins every
    # input column back onto the clusters, which nothing here reads
    api = run.engine.splink_api()
    run.engine.view("cluster_nodes", f"select {key} from link_inputs")
    found = cluster_pairwise_predictions_at_threshold(
        api.register("cluster_nodes"), predictions, api, key, threshold_match_weight=threshold_weight)
    if key == "record_key":
        run.engine.create("clusters", "select record_key, cast(cluster_id as string) as cluster_id "
                                      f"from {found.physical_name}")
    else:  # numbered records: a cluster is named by its first record key, as Splink names it by keys
        run.engine.create("clusters", f"""select k.record_key, min(k.record_key) over (partition by f.cluster_id)
            as cluster_id from {found.physical_name} f join link_inputs k on k.{key} = f.{key}""")
    run.engine.drop("cluster_nodes")


def record_id_column(linker) -> str:
    """The column of its input Splink joins the records on (`scv.link.key_by`)."""
    return linker._settings_obj.column_info_settings.unique_id_column_name


def review(run: Run, threshold_weight: float, floor_weight: float, once: list[str],
           score: Callable[[str], str] | None = None, two_people: str | None = None) -> None:
    """`review_clusters` in a run: its counts to the linkage facts."""
    found = review_clusters(run.engine, threshold_weight, floor_weight, once, score, two_people)
    run.linkage_facts.update(clusters_split=found.split, clusters_weak_link=found.weak_link,
                             clusters_loose=found.loose, largest_component=found.largest_component,
                             largest_customer=found.largest_customer, pairs_scored_inside=found.scored_inside)


@dataclass(frozen=True)
class Review:
    split: int  # components parted in two or more
    weak_link: int  # customers flagged: a pair inside holds evidence against
    loose: int  # customers flagged: fewer than half their pairs at the threshold
    largest_component: int = 0  # records, before parting
    largest_customer: int = 0  # records, after
    scored_inside: int = 0  # pairs inside components that blocking had not scored, scored to part them


def review_clusters(engine: Engine, threshold_weight: float, floor_weight: float | None = None,
                    once: list[str] = (), score: Callable[[str], str] | None = None,
                    two_people: str | None = None) -> Review:
    """Part every incoherent component of engine table `clusters` by the calibrated weights
    of engine table `pairs`; `once`: the sources that hold each person once; `two_people`:
    an engine table of links that may be two people (record_key_l, record_key_r, certain:
    never in one customer), their components examined whatever their shape
    (`scv.namesakes.weigh_two_people`). The pairs
    inside a component that `pairs` lacks are scored with `score` (engine table of
    record_key_l, record_key_r -> engine table with their match_weight), up to
    MAX_SCORED_INSIDE of them, the smallest components first; a pair left unscored
    counts at `floor_weight` (by default the threshold's less 10 bits), the most a pair
    not kept can weigh. Engine table `cluster_review` (cluster_id, needs_review,
    review_reason) for gold."""
    lit = engine.dialect.literal
    floor = threshold_weight - 10.0 if floor_weight is None else min(floor_weight, threshold_weight)
    largest_component = _largest(engine)
    found = examine(engine, threshold_weight, floor, list(once), score, two_people)
    if found.parts:
        engine.read_arrow("cluster_parts", pa.Table.from_pylist(
            [{"record_key": k, "cluster_id": part} for part, keys in found.parts.items() for k in keys], KEYS))
        engine.create("clusters_reviewed", """
            select c.record_key, coalesce(p.cluster_id, c.cluster_id) as cluster_id
            from clusters c left join cluster_parts p on c.record_key = p.record_key""")
        engine.create("clusters", "select * from clusters_reviewed")
        for table in ("clusters_reviewed", "cluster_parts"):
            engine.drop(table)
    flags = {**dict.fromkeys(found.parts, SPLIT), **dict.fromkeys(found.weak, WEAK_LINK)}
    engine.read_arrow("cluster_flags", pa.Table.from_pylist(
        [{"cluster_id": c, "review_reason": r} for c, r in flags.items()], FLAGS))
    engine.create("cluster_review", f"""
        with shape as ({_shape_sql(threshold_weight)}),
        loose as (select cluster_id from shape where 4 * links < records * (records - 1)),
        reasons as (
            select coalesce(f.cluster_id, l.cluster_id) as cluster_id,
                   case when f.review_reason = {lit(WEAK_LINK)} then f.review_reason
                        when l.cluster_id is not null then {lit(LOOSE)}
                        else f.review_reason end as review_reason
            from cluster_flags f full outer join loose l on f.cluster_id = l.cluster_id)
        select cluster_id, review_reason <> {lit(SPLIT)} as needs_review, review_reason from reasons""")
    engine.drop("cluster_flags")
    counts = dict(engine.rows("select review_reason, count(*) from cluster_review group by review_reason"))
    return Review(found.clusters_split, counts.get(WEAK_LINK, 0), counts.get(LOOSE, 0),
                  largest_component, _largest(engine), found.scored_inside)


def _largest(engine: Engine) -> int:
    """Records in the largest cluster of engine table `clusters`."""
    return engine.rows("""select coalesce(max(n), 0)
                          from (select count(*) as n from clusters group by cluster_id) s""")[0][0]


def _shape_sql(threshold_weight: float) -> str:
    """Per cluster of 3 or more records: records, pairs scored inside it, those at or above
    the threshold (links) and those with evidence against a match (weight below 0)."""
    return f"""
        with sized as (select cluster_id, count(*) as records from clusters
                       group by cluster_id having count(*) >= 3),
        inside as ({_inside_sql()})
        select s.cluster_id, s.records, count(i.match_weight) as scored,
               coalesce(sum(case when i.match_weight >= {threshold_weight!r} then 1 else 0 end), 0) as links,
               coalesce(sum(case when i.match_weight < 0 then 1 else 0 end), 0) as against
        from sized s left join inside i on s.cluster_id = i.cluster_id
        group by s.cluster_id, s.records"""


def _inside_sql(only: str = "") -> str:
    """The scored pairs whose records share a cluster, with its id; `only`: a table of cluster ids."""
    join = f"join {only} o on cl.cluster_id = o.cluster_id" if only else ""
    return f"""select cl.cluster_id, p.record_key_l, p.record_key_r, p.match_weight
               from pairs p join clusters cl on p.record_key_l = cl.record_key
                            join clusters cr on p.record_key_r = cr.record_key {join}
               where cl.cluster_id = cr.cluster_id"""


def _score_inside(engine: Engine, members: dict[str, list[str]], score: Callable[[str], str],
                  pairs: dict[str, list[Pair]]) -> int:
    """Score the pairs of the suspects' records that blocking left out, smallest components
    first, while they number MAX_SCORED_INSIDE at most; added to `pairs` by component."""
    chosen, budget = [], MAX_SCORED_INSIDE
    for cluster_id in sorted(members, key=lambda c: len(members[c])):
        n = len(members[cluster_id])
        missing = n * (n - 1) // 2 - len(pairs[cluster_id])
        if missing > budget:
            break
        chosen.append(cluster_id)
        budget -= missing
    if not chosen:
        return 0
    engine.read_arrow("inside_chosen", pa.table({"cluster_id": pa.array(chosen, pa.string())}))
    engine.create("pairs_inside", """
        select a.record_key as record_key_l, b.record_key as record_key_r, a.cluster_id
        from clusters a join inside_chosen o on a.cluster_id = o.cluster_id
        join clusters b on a.cluster_id = b.cluster_id and a.record_key < b.record_key
        where not exists (select 1 from pairs p where p.record_key_l = a.record_key
                                                  and p.record_key_r = b.record_key)""")
    scored = score("pairs_inside")
    engine.create(SCORED_INSIDE, f"""
        select i.cluster_id, s.record_key_l, s.record_key_r, s.match_weight
        from {scored} s join pairs_inside i
        on i.record_key_l = s.record_key_l and i.record_key_r = s.record_key_r""")
    found = 0
    for cluster_id, left, right, w in engine.rows(f"select * from {SCORED_INSIDE}"):
        pairs[cluster_id].append(Pair(left, right, float(w)))
        found += 1
    for table in ("inside_chosen", "pairs_inside", scored):
        engine.drop(table)
    return found


def source_of(key_sql: str) -> str:
    """SQL: the source of a record key (`source:id`)."""
    return f"split_part({key_sql}, ':', 1)"


@dataclass
class Examined:
    parts: dict[str, list[str]] = field(default_factory=dict)  # part id -> record keys, of components parted
    weak: set[str] = field(default_factory=set)  # ids of customers holding a pair with evidence against
    clusters_split: int = 0
    scored_inside: int = 0


def examine(engine: Engine, threshold_weight: float, floor_weight: float, once: list[str],
            score: Callable[[str], str] | None = None, two_people: str | None = None) -> Examined:
    """The components that may not be coherent, brought into Python and parted: those of 3
    or more records that are not cliques of links, those holding two records of a source
    in `once`, and those holding a pair of engine table `two_people`. All of them, however
    large: a big component is the likeliest chain."""
    found = Examined()
    suspects = {cluster_id for (cluster_id,) in engine.rows(f"""with shape as ({_shape_sql(threshold_weight)})
        select cluster_id from shape where 2 * links < records * (records - 1)""")}
    if once:
        listed = ", ".join(engine.dialect.literal(s) for s in once)
        suspects |= {cluster_id for (cluster_id,) in engine.rows(f"""
            select distinct cluster_id from clusters where {source_of('record_key')} in ({listed})
            group by cluster_id, {source_of('record_key')} having count(*) > 1""")}
    apart = defaultdict(list)  # cluster id -> its pairs of records that are two people
    if two_people:
        for cluster_id, left, right, certain in engine.rows(f"""
                select cl.cluster_id, t.record_key_l, t.record_key_r, t.certain
                from {two_people} t join clusters cl on t.record_key_l = cl.record_key
                                    join clusters cr on t.record_key_r = cr.record_key
                where cl.cluster_id = cr.cluster_id"""):
            suspects.add(cluster_id)
            if certain:
                apart[cluster_id].append((left, right))
    if not suspects:
        return found
    engine.read_arrow("review_suspects", pa.table({"cluster_id": pa.array(sorted(suspects), pa.string())}))
    members, pairs = defaultdict(list), defaultdict(list)
    for cluster_id, key in engine.rows("""select c.cluster_id, c.record_key from clusters c
                                          join review_suspects o on c.cluster_id = o.cluster_id"""):
        members[cluster_id].append(key)
    for cluster_id, left, right, w in engine.rows(_inside_sql("review_suspects")):
        pairs[cluster_id].append(Pair(left, right, float(w)))
    if score is not None:
        found.scored_inside = _score_inside(engine, members, score, pairs)
    engine.drop("review_suspects")
    once_set = set(once)
    for cluster_id in sorted(suspects):
        keys = members[cluster_id]
        sources = {k: source for k in keys if (source := k.split(":", 1)[0]) in once_set}
        parts = sorted(coherent_parts(keys, pairs[cluster_id], threshold_weight, floor_weight, sources,
                                      apart.get(cluster_id, ())), key=lambda p: min(p.records))
        found.clusters_split += len(parts) > 1
        for i, part in enumerate(parts, 1):
            part_id = cluster_id if len(parts) == 1 else f"{cluster_id}/{i}"
            if len(parts) > 1:
                found.parts[part_id] = sorted(part.records)
            if part.against:  # a pair inside: two records or more
                found.weak.add(part_id)
    return found


def recommend_threshold(run: Run, threshold: float) -> None:
    """The threshold whose expected F1 over the scored pairs is highest, taking their
    calibrated probabilities at their word: expected true pairs above t are the sum of the
    probabilities above t, expected matches the sum of all of them. Thresholds tried: the
    configured one and the lowest probability of each tenth of a match weight."""
    engine = run.engine
    # a threshold read off a pair is set a hair below its weight: through probability and
    # back to a weight (less the calibration's shift) it would otherwise miss that pair
    bins = engine.rows(f"""select floor(match_weight * 10) as bin, count(*), sum(match_probability),
                                  1 / (1 + pow(2, -(min(match_weight) - {AT_PAIR!r})))
                           from pairs group by floor(match_weight * 10)""")
    matches = sum(s for _, _, s, _ in bins)
    if not matches:
        return
    [(above, true_above)] = engine.rows(f"""select count(*), coalesce(sum(match_probability), 0) from pairs
                                            where match_probability >= {threshold!r}""")
    at_threshold = 2 * true_above / (above + matches)
    best = (at_threshold, threshold)  # the configured one, unless another does better
    predicted, true = 0, 0.0
    for _, n, s, low in sorted(bins, reverse=True):
        predicted, true = predicted + n, true + s
        if low < 1 and 2 * true / (predicted + matches) > best[0]:
            best = (2 * true / (predicted + matches), low)
    run.linkage_facts.update(recommended_threshold=best[1], expected_f1_at_recommended=round(best[0], 4),
                             expected_f1_at_threshold=round(at_threshold, 4))
