"""Clusters: records grouped at the threshold, then loose clusters split or flagged for review.

Grouping at a threshold joins records transitively, so two people can end up in one
customer through a single pair that scored above it. After grouping, each cluster whose
pairs hold evidence against a match is examined for a bridge: a pair above the threshold
whose removal parts the cluster into two groups of two or more records. The groups are
judged on all the pairs scored between them, the bridge included: a summed match weight
below 0 (apart is likelier than together) splits them; below the threshold's weight
(together, but by less than a single pair must show) flags the cluster. A cluster where
fewer than half of its record pairs scored at the threshold is flagged as loose.
Engine SQL finds the clusters to examine; Python examines only those.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa
from splink.clustering import cluster_pairwise_predictions_at_threshold

if TYPE_CHECKING:
    from scv.engine.base import Engine
    from scv.pipeline import Run

SPLIT, WEAK_LINK, LOOSE = "split", "weak link", "loose"  # gold/customers.review_reason
MAX_EXAMINED_RECORDS = 1000  # larger clusters get the loose flag only: bridges cost pairs x bridges
MAX_EXAMINED_PAIRS = 2_000_000  # scored pairs brought into Python at most, most suspect clusters first
KEYS = pa.schema([("record_key", pa.string()), ("cluster_id", pa.string())])
FLAGS = pa.schema([("cluster_id", pa.string()), ("review_reason", pa.string())])


def cluster(run: Run, linker, predictions, threshold_weight: float) -> None:
    """Engine table `clusters` (record_key, cluster_id) from Splink's predictions (whose
    weights `threshold_weight` is on): connected components at the threshold or, when a
    source is deduplicated, Splink's single best links, so no cluster holds two of its records."""
    deduplicated = sorted(name for name, source in run.config.sources.items() if source.deduplicated)
    key = record_id_column(linker)
    if deduplicated:
        found = linker.clustering.cluster_using_single_best_links(
            predictions, duplicate_free_datasets=deduplicated, threshold_match_weight=threshold_weight)
    else:
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


def review(run: Run, threshold_weight: float) -> None:
    """`review_clusters` in a run: its counts to the linkage facts, clusters left unexamined warned of."""
    found = review_clusters(run.engine, threshold_weight)
    if found.unexamined:
        run.warn(f"cluster review: {found.unexamined:,} clusters not examined for weak links "
                 f"(over {MAX_EXAMINED_PAIRS:,} pairs)")
    run.linkage_facts.update(clusters_split=found.split, clusters_weak_link=found.weak_link,
                             clusters_loose=found.loose)


@dataclass(frozen=True)
class Review:
    split: int  # clusters split in two or more
    weak_link: int  # clusters (or parts) flagged: held by a weak link
    loose: int  # clusters flagged: fewer than half their pairs at the threshold
    unexamined: int  # suspect clusters over MAX_EXAMINED_PAIRS, not examined


def review_clusters(engine: Engine, threshold_weight: float) -> Review:
    """Split and flag engine table `clusters` by the calibrated weights of engine table
    `pairs`; engine table `cluster_review` (cluster_id, needs_review, review_reason) for gold."""
    lit = engine.dialect.literal
    found = examine(engine, threshold_weight)
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
    return Review(found.clusters_split, counts.get(WEAK_LINK, 0), counts.get(LOOSE, 0), found.unexamined)


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


@dataclass
class Examined:
    parts: dict[str, list[str]] = field(default_factory=dict)  # part id -> record keys, of clusters split
    weak: set[str] = field(default_factory=set)  # ids of clusters or parts held by a weak link
    clusters_split: int = 0
    unexamined: int = 0  # suspects left out, over MAX_EXAMINED_PAIRS


def examine(engine: Engine, threshold_weight: float) -> Examined:
    """The clusters that may hold a bridge to judge (4 or more records, a pair with
    evidence against a match), brought into Python and split."""
    found = Examined()
    suspects = engine.rows(f"""with shape as ({_shape_sql(threshold_weight)})
        select cluster_id, scored from shape
        where records between 4 and {MAX_EXAMINED_RECORDS} and against > 0
        order by cast(against as double) / scored desc, cluster_id""")
    chosen, budget = [], MAX_EXAMINED_PAIRS
    for cluster_id, scored in suspects:
        if scored <= budget:
            chosen.append(cluster_id)
            budget -= scored
    found.unexamined = len(suspects) - len(chosen)
    if not chosen:
        return found
    engine.read_arrow("review_suspects", pa.table({"cluster_id": pa.array(chosen, pa.string())}))
    members, pairs = defaultdict(list), defaultdict(list)
    for cluster_id, key in engine.rows("""select c.cluster_id, c.record_key from clusters c
                                          join review_suspects o on c.cluster_id = o.cluster_id"""):
        members[cluster_id].append(key)
    for cluster_id, left, right, w in engine.rows(_inside_sql("review_suspects")):
        pairs[cluster_id].append(Pair(left, right, w))
    engine.drop("review_suspects")
    for cluster_id in chosen:
        parts = sorted(split_cluster(members[cluster_id], pairs[cluster_id], threshold_weight),
                       key=lambda p: min(p.records))
        found.clusters_split += len(parts) > 1
        for i, part in enumerate(parts, 1):
            part_id = cluster_id if len(parts) == 1 else f"{cluster_id}/{i}"
            if len(parts) > 1:
                found.parts[part_id] = sorted(part.records)
            if part.weak_link:
                found.weak.add(part_id)
    return found


@dataclass(frozen=True)
class Pair:
    left: str
    right: str
    weight: float  # calibrated match weight


@dataclass(frozen=True)
class Part:
    records: frozenset[str]
    weak_link: bool  # held by a bridge whose groups' summed evidence is below the threshold


def split_cluster(records: list[str], pairs: list[Pair], threshold_weight: float) -> list[Part]:
    """A cluster parted at each bridge whose two groups' summed evidence is below 0,
    the weakest first; each part says whether a weak bridge still holds it."""
    work, done = [frozenset(records)], []
    while work:
        part = work.pop()
        inside = [p for p in pairs if p.left in part and p.right in part]
        bridge = weakest_bridge(part, inside, threshold_weight)
        if bridge is not None and bridge[0] < 0:
            work += [bridge[1], part - bridge[1]]
        else:
            done.append(Part(part, bridge is not None and bridge[0] < threshold_weight))
    return done


def weakest_bridge(records: frozenset[str], pairs: list[Pair], threshold_weight: float):
    """(summed weight of the pairs across it, one side) of the bridge between two groups of
    two or more records with the least evidence across; None when there is none."""
    links = defaultdict(list)
    for p in pairs:
        if p.weight >= threshold_weight:
            links[p.left].append(p.right)
            links[p.right].append(p.left)
    best = None
    for side in _bridge_sides(records, links):
        if 2 <= len(side) <= len(records) - 2:
            across = sum(p.weight for p in pairs if (p.left in side) != (p.right in side))
            if best is None or across < best[0]:
                best = (across, side)
    return best


def _bridge_sides(records: frozenset[str], links: dict[str, list[str]]) -> list[frozenset[str]]:
    """For each bridge of the links' graph, the records on its far side from a root
    (Tarjan's lowpoint by an iterative depth-first search; a subtree is a run of the visit
    order); none when the links do not connect all the records."""
    root = min(records)
    order, low, size, parent, visit = {root: 0}, {root: 0}, {}, {root: None}, [root]
    stack = [(root, iter(links[root]))]
    while stack:
        node, neighbours = stack[-1]
        for nxt in neighbours:
            if nxt not in order:
                order[nxt] = low[nxt] = len(order)
                parent[nxt] = node
                visit.append(nxt)
                stack.append((nxt, iter(links[nxt])))
                break
            if nxt != parent[node]:
                low[node] = min(low[node], order[nxt])
        else:
            stack.pop()
            size[node] = size.get(node, 0) + 1
            if stack:
                up = stack[-1][0]
                low[up] = min(low[up], low[node])
                size[up] = size.get(up, 0) + size[node]
    if len(order) < len(records):
        return []
    return [frozenset(visit[order[n]:order[n] + size[n]]) for n in visit[1:] if low[n] > order[parent[n]]]


def recommend_threshold(run: Run, threshold: float) -> None:
    """The threshold whose expected F1 over the scored pairs is highest, taking their
    calibrated probabilities at their word: expected true pairs above t are the sum of the
    probabilities above t, expected matches the sum of all of them. Thresholds tried: the
    configured one and the lowest probability of each tenth of a match weight."""
    engine = run.engine
    bins = engine.rows("""select floor(match_weight * 10) as bin, count(*), sum(match_probability),
                                 min(match_probability)
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
