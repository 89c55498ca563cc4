"""Coherent customers: records grouped on the evidence between whole groups, not one pair.

Grouping at a threshold joins records transitively: A~B and B~C put A and C in one
customer however much their own comparison says against it, and on data with common
names and typos such chains run through thousands of people. Here a group of records
joins another only when all the evidence between them, taken together, is for it.

The method is greedy additive edge contraction, the standard greedy solution of
correlation clustering (Keuper et al., 2015). Each pair of records carries its calibrated
match weight less the threshold's: positive when the pair alone would be linked. Two
groups' attraction is the sum over every pair of records across them; a pair the model
did not score counts at the floor below which pairs are not kept (it was blocked and
scored lower, or never blocked and so shares no strong key). The most attractive pair of
groups merges while the sum is at least 0: for two single records that is exactly "the
pair is at the threshold", and a group joins a customer only when its links outweigh the
evidence against and the pairs it never had. Greedily, it maximises the likelihood of
the grouping were pairs independent. They are not: one person's records typed badly
disagree with each other again and again, so one pair counts at most MOST_AGAINST bits
against.

Structure the data shows is a hard constraint: two records of a source that holds each
person at most once (`deduplicated`) never share a customer, nor two records known to be
two people (`apart`: `scv.namesakes`), however strongly the rest of their fields agree.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Iterable

# Bits one pair may count against putting its records together (odds of 4 to 1). A
# pair's evidence against is the least reliable part of a model: records of one person
# with typos in most fields score far below the floor (fake_1000 holds true pairs at -20
# bits), and summed unbounded they part real customers (F1 0.894 against 0.939 with
# connected components). Bounded, a group still joins only where its links outweigh
# the pairs against: a chain of namesakes breaks where a record's links to the group
# are fewer than its pairs against (at 2 bits, 0.941 on fake_1000 and the voter lists
# parted no worse).
MOST_AGAINST = 2.0


@dataclass(frozen=True)
class Pair:
    left: str
    right: str
    weight: float  # calibrated match weight


@dataclass(frozen=True)
class Part:
    records: frozenset[str]
    against: bool  # holds a scored pair with evidence against a match (weight below 0)


def coherent_parts(records: Iterable[str], pairs: Iterable[Pair], threshold_weight: float,
                   unscored_weight: float, once: dict[str, str] | None = None,
                   apart: Iterable[tuple[str, str]] = ()) -> list[Part]:
    """The records parted into groups, each held together by the evidence across it.

    `pairs`: the scored pairs among `records`; `unscored_weight`: what a pair not among
    them counts for (at most the floor of the kept pairs); `once`: record -> source, for
    the records of sources that hold each person once (no group gets two of a source);
    `apart`: pairs of records that are two people (no group gets both).
    """
    keys, pairs = sorted(set(records)), list(pairs)
    index = {k: i for i, k in enumerate(keys)}
    n = len(keys)
    once = once or {}
    size = [1] * n
    members: list[list[int]] = [[i] for i in range(n)]
    sources: list[frozenset[str]] = [frozenset([once[k]]) if k in once else frozenset() for k in keys]
    # cluster -> the clusters holding a record that is another person than one of its own
    others: list[set[int]] = [set() for _ in range(n)]
    for left, right in apart:
        if left in index and right in index and left != right:
            others[index[left]].add(index[right])
            others[index[right]].add(index[left])
    # cluster -> neighbour -> [summed shifted weight of the scored pairs across, how many]
    across: list[dict[int, list[float]]] = [{} for _ in range(n)]
    for p in pairs:
        a, b = index[p.left], index[p.right]
        if a == b:
            continue
        shifted = max(p.weight - threshold_weight, -MOST_AGAINST)
        for x, y in ((a, b), (b, a)):
            found = across[x].setdefault(y, [0.0, 0])
            found[0] += shifted
            found[1] += 1
    gap = max(unscored_weight - threshold_weight, -MOST_AGAINST)  # what each unscored pair across costs
    version = [0] * n

    def attraction(a: int, b: int) -> float:
        total, scored = across[a][b]
        return total + (size[a] * size[b] - scored) * gap

    heap = [(-attraction(a, b), a, b, 0, 0) for a in range(n) for b in across[a] if a < b]
    heapq.heapify(heap)
    weights = {(index[p.left], index[p.right]): p.weight for p in pairs}  # to find evidence against inside
    while heap:
        negative, a, b, va, vb = heapq.heappop(heap)
        if version[a] != va or version[b] != vb or size[a] == 0 or size[b] == 0:
            continue  # stale: one of the two has merged since
        if -negative < 0:
            break
        if sources[a] & sources[b] or b in others[a]:
            continue  # two records of one source that holds each person once, or two people
        if size[a] < size[b]:
            a, b = b, a
        # b joins a: a's attraction to every neighbour is the sum of both
        for c, (total, scored) in across[b].items():
            if c == a:
                continue
            mine = across[a].setdefault(c, [0.0, 0])
            mine[0] += total
            mine[1] += scored
            theirs = across[c].setdefault(a, [0.0, 0])
            theirs[0] += total
            theirs[1] += scored
            del across[c][b]
        del across[a][b]
        across[b] = {}
        size[a] += size[b]
        size[b] = 0
        members[a] += members[b]
        members[b] = []
        sources[a] |= sources[b]
        for c in others[b]:  # who is another person than b's records is so than a's
            others[c].discard(b)
            others[c].add(a)
        others[a] |= others[b]
        others[b] = set()
        version[a] += 1
        version[b] += 1
        for c in across[a]:
            heapq.heappush(heap, (-attraction(a, c), min(a, c), max(a, c),
                                  version[min(a, c)], version[max(a, c)]))
    group = [0] * n
    for g, m in enumerate(members):
        for i in m:
            group[i] = g
    against = {group[a] for (a, b), w in weights.items() if w < 0 and group[a] == group[b]}
    return [Part(frozenset(keys[i] for i in m), g in against) for g, m in enumerate(members) if m]
