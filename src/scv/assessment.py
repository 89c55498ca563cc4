"""How good the customers are likely to be, without labels: expected precision, recall, F1.

Users read these numbers to decide whether to trust a run, so they are taken on what is
published, the customers, not on the pairs: a customer of n records claims n(n-1)/2
pairs, and each claim is only as good as the model's probability for that pair (a pair
inside a customer that was never scored, or scored below the floor, counts as a
non-match). Expected true pairs inside customers over the pairs claimed is the expected
precision; over the expected matches among every scored pair, times the share of
matches blocking scored at all, the expected recall. Both take the calibrated
probabilities at their word: they say what the model believes, and
a model that is confidently wrong cannot see it. A run that expects poor customers says
so in plain words (`verdict`), at the end of the run and at the top of the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scv.engine.splink_sampling import LINK_ID

if TYPE_CHECKING:
    from scv.pipeline import Run

VERDICT = "linkage quality"  # how every verdict begins, for the CLI to say it last
POOR_F1 = 0.8  # below this expected F1 a run's customers are called doubtful
# A customer holding more than this share of the records is no single person's, whatever
# the scores say (a household, a shared inbox and a chain of namesakes look alike).
GIANT_SHARE = 0.01
GIANT_RECORDS = 50  # ... once it holds at least this many
ALIKE_SHARE = 0.05  # of all records: identical to another customer's in every compared field
PATH_LINK = 0.9  # links a path runs through: both near certain, so one person whenever both are
MAX_PATHS_VIA = 100  # links inside a customer of a record that paths of two pairs may run through


def assess(run: Run, inside: str | None = None) -> None:
    """Expected precision, recall and F1 of engine table `clusters` under engine table
    `pairs` (and `inside`: more scored pairs within customers, with match_weight) into
    the linkage facts (`expected`), and a plain verdict when they are poor. The matches
    missed are the scored pairs between customers, at their probabilities."""
    engine = run.engine
    extra = (f"union all select record_key_l, record_key_r, 1 / (1 + pow(2, -match_weight)) "
             f"from {inside}") if inside else ""
    claimed, true_inside, missed, records, largest = engine.rows(f"""
        with scored as (select record_key_l as l, record_key_r as r, match_probability as p from pairs {extra}),
        sizes as (select cluster_id, count(*) as n from clusters group by cluster_id),
        placed as (select s.l, s.r, s.p, a.cluster_id = b.cluster_id as within from scored s
                   join clusters a on a.record_key = s.l join clusters b on b.record_key = s.r),
        {_inside_sql()},
        across as (select p from placed where not within)
        select (select coalesce(sum(n * (n - 1) / 2), 0) from sizes),
               (select coalesce(sum(p), 0) from inside),
               (select coalesce(sum(p), 0) from across),
               (select coalesce(sum(n), 0) from sizes),
               (select coalesce(max(n), 0) from sizes)""")[0]
    claimed, true_inside = float(claimed), float(true_inside)
    matches = true_inside + float(missed)
    precision = true_inside / claimed if claimed else 1.0
    # the matches blocking never put together are missed too: the scored pairs' expected
    # matches are the blocking's share of them (`scv.blocking.estimated_recall`)
    blocking_recall = run.linkage_facts.get("estimated_blocking_recall") or 1.0
    recall = true_inside / matches * blocking_recall if matches else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    run.linkage_facts["expected"] = {"precision": round(precision, 4), "recall": round(recall, 4),
                                     "f1": round(f1, 4)}
    run.linkage_facts["expected_f1"] = round(f1, 4)
    alike = apart_though_alike(run)
    run.linkage_facts["records_alike_apart"] = alike
    found = verdict(f1, precision, recall, largest, records, alike)
    if found:
        run.linkage_facts["verdict"] = found
        run.warn(found)


def _inside_sql() -> str:
    """SQL CTEs over `placed` (scored pairs l < r, p, whether within one customer): `inside`,
    each pair inside a customer with the probability it is one person: at least its own
    score and at least that of its best path through a third record of the customer.
    Records i and k are one person whenever i and j are and j and k are, so a pair scored
    weakly (or not at all) between two records that each match a third is likelier one
    person than its own score says. A customer of many records, each typed differently,
    holds many such pairs: taken at their own word alone they undersold customers by 0.05
    to 0.09 of F1. A path counts only through links of PATH_LINK or more, where the product
    is near the truth: through doubtful links (each picked by the clustering because it
    looked best) it overstated the precision of heavily mistyped voter lists by 0.08. Paths
    run through records with at most MAX_PATHS_VIA links inside their customer, which
    bounds the work whatever a customer's size."""
    return f"""direct as (select l, r, p from placed where within),
        edges as (select l as via, r as other, p from direct where p >= {PATH_LINK}
                  union all select r, l, p from direct where p >= {PATH_LINK}),
        hubs as (select via from edges group by via having count(*) <= {MAX_PATHS_VIA}),
        paths as (select e1.other as l, e2.other as r, e1.p * e2.p as p
                  from edges e1 join hubs h on h.via = e1.via
                  join edges e2 on e2.via = e1.via and e1.other < e2.other),
        inside as (select l, r, max(p) as p from (select * from direct union all select * from paths) a
                   group by l, r)"""


def apart_though_alike(run: Run) -> int:
    """Records identical in every field the model compares to a record of another
    customer: whatever the scores say, nothing the run sees tells these apart, so either
    they are namesakes the fields cannot separate or one person's records left apart.
    A model-free check: a confidently wrong model cannot hide it."""
    compared = [c for c, _ in run.engine.columns("link_inputs") if c not in ("record_key", "source", LINK_ID)]
    alike = ", ".join(run.engine.dialect.quote(c) for c in compared)
    return int(run.engine.rows(f"""
        with keyed as (select i.record_key, hash({alike}) as alike, c.cluster_id
                       from link_inputs i join clusters c on c.record_key = i.record_key),
        apart as (select alike from keyed group by alike having count(distinct cluster_id) > 1)
        select count(*) from keyed k join apart a on k.alike = a.alike""")[0][0] or 0)


def verdict(f1: float, precision: float, recall: float, largest: int, records: int,
            alike: int = 0) -> str | None:
    """Plain words on a run whose customers should not be trusted as they are, or None."""
    if alike > ALIKE_SHARE * records:
        return (f"{VERDICT}: {alike:,} records ({alike / records:.0%}) are identical in every field "
                "compared to records of other customers: the fields mapped cannot tell these people apart, "
                "so the expected quality cannot be trusted; map more identifying fields (date of birth, "
                "email, phone, an id) before using the customers")
    if largest >= GIANT_RECORDS and largest > GIANT_SHARE * records:
        return (f"{VERDICT}: one customer holds {largest:,} records ({largest / records:.1%} of all): "
                "no single person's; check the customers flagged for review, map more identifying "
                "fields (date of birth, email, phone), or raise linkage.threshold")
    if f1 < POOR_F1:
        weak = "precision (records of different people joined)" if precision < recall else \
            "recall (one person's records left apart)"
        return (f"{VERDICT} looks poor: expected F1 {f1:.2f} (precision {precision:.2f}, recall "
                f"{recall:.2f}), weakest in {weak}; the fields mapped may not tell these people apart: "
                "map more identifying fields, or check a sample of the pairs before using the customers")
    return None
