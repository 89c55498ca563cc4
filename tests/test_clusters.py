"""Cluster review: loose clusters split or flagged, deduplicated sources, a threshold from the scores."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from conftest import SHARED_DATA, write_project
from scv import Project
from scv.clusters import review_clusters
from scv.link import weight

THRESHOLD = weight(0.9)  # +3.17
GROUP_A, GROUP_B = ["crm:a1", "crm:a2", "crm:a3"], ["crm:b1", "crm:b2", "crm:b3"]


def load(engine, clusters: dict[str, list[str]], pairs: list[tuple[str, str, float]]) -> None:
    """Engine tables `clusters` and `pairs` as linkage leaves them."""
    engine.read_arrow("clusters", pa.Table.from_pylist(
        [{"record_key": k, "cluster_id": c} for c, keys in clusters.items() for k in keys]))
    engine.read_arrow("pairs", pa.Table.from_pylist(
        [{"record_key_l": l, "record_key_r": r, "match_weight": w, "match_probability": 1 / (1 + 2 ** -w)}
         for l, r, w in pairs]))


def tight(group: list[str]) -> list[tuple[str, str, float]]:
    return [(a, b, 12.0) for a, b in combinations(group, 2)]


def clusters(engine) -> list[list[str]]:
    by_id: dict[str, list[str]] = {}
    for key, cluster_id in engine.rows("select record_key, cluster_id from clusters"):
        by_id.setdefault(cluster_id, []).append(key)
    return sorted(sorted(keys) for keys in by_id.values())


def flags(engine) -> dict[str, tuple[bool, str]]:
    return {c: (n, r) for c, n, r in engine.rows("select cluster_id, needs_review, review_reason from cluster_review")}


def test_two_tight_groups_joined_by_one_pair_against_the_rest_are_split(engine):
    # a1-b1 scored above the threshold, but a2-b1 and a3-b2 weigh more against: two people
    load(engine, {"k": GROUP_A + GROUP_B},
         tight(GROUP_A) + tight(GROUP_B) + [("crm:a1", "crm:b1", 5.0), ("crm:a2", "crm:b1", -4.0),
                                             ("crm:a3", "crm:b2", -3.0)])
    found = review_clusters(engine, THRESHOLD)

    assert clusters(engine) == [GROUP_A, GROUP_B]
    assert flags(engine) == {"k/1": (False, "split"), "k/2": (False, "split")}
    assert (found.split, found.weak_link, found.loose) == (1, 0, 0)


def test_a_chain_of_namesakes_does_not_become_one_customer(engine):
    # each neighbour plausible (+8), the ends clearly different (-3 wherever scored)
    chain = [f"shop:{i:02d}" for i in range(12)]
    load(engine, {"chain": chain},
         [(a, b, 8.0) for a, b in zip(chain, chain[1:])]
         + [(a, b, -3.0) for a, b in combinations(chain, 2) if int(b[5:]) - int(a[5:]) > 1])
    found = review_clusters(engine, THRESHOLD)

    assert max(len(c) for c in clusters(engine)) == 2
    assert found.largest_component == 12 and found.largest_customer == 2


def test_a_chain_whose_far_pairs_were_never_scored_is_parted_too(engine):
    # blocking never put the ends together: a pair not kept weighs at most the floor
    chain = [f"shop:{i:02d}" for i in range(12)]
    load(engine, {"chain": chain}, [(a, b, 8.0) for a, b in zip(chain, chain[1:])])
    review_clusters(engine, THRESHOLD, floor_weight=weight(0.01))

    assert max(len(c) for c in clusters(engine)) == 2


def test_a_record_with_weak_links_to_every_other_record_of_a_customer_stays_in_it(engine):
    member = "crm:a4"
    load(engine, {"k": GROUP_A + [member]}, tight(GROUP_A) + [(k, member, 4.0) for k in GROUP_A])
    found = review_clusters(engine, THRESHOLD)

    assert clusters(engine) == [sorted(GROUP_A + [member])] and found.split == 0


def test_pairs_inside_a_component_that_blocking_missed_are_scored_before_it_is_parted(engine):
    # a1-b1 links the groups; the other pairs across were never scored: scored now, they
    # say strongly "two people"
    load(engine, {"k": GROUP_A + GROUP_B}, tight(GROUP_A) + tight(GROUP_B) + [("crm:a1", "crm:b1", 9.0)])

    def score(table: str) -> str:
        engine.create("scored", f"select record_key_l, record_key_r, -20.0 as match_weight from {table}")
        return "scored"

    found = review_clusters(engine, THRESHOLD, floor_weight=0.0, score=score)

    assert clusters(engine) == [GROUP_A, GROUP_B]
    assert found.scored_inside == 8  # 3 x 3 across, less the one scored


def test_no_customer_gets_two_records_of_a_source_that_holds_each_person_once(engine):
    # a shop record links to two voter-list records, each strongly
    load(engine, {"k": ["list:1", "list:2", "shop:1"]},
         [("list:1", "shop:1", 12.0), ("list:2", "shop:1", 10.0), ("list:1", "list:2", 11.0)])
    review_clusters(engine, THRESHOLD, once=["list"])

    assert clusters(engine) == [["list:1", "shop:1"], ["list:2"]]


def test_records_known_to_be_two_people_never_share_a_customer_however_alike(engine):
    # twins in a CRM: one twin's record links strongly to both of the other's, but the
    # CRM holds the two under first names that cannot be one person's
    load(engine, {"k": ["crm:ann", "crm:tom", "shop:tom"]},
         [("crm:ann", "crm:tom", 14.0), ("crm:ann", "shop:tom", 13.0), ("crm:tom", "shop:tom", 15.0)])
    engine.read_arrow("two_people", pa.table({"record_key_l": ["crm:ann"], "record_key_r": ["crm:tom"],
                                              "certain": [True]}))
    review_clusters(engine, THRESHOLD, two_people="two_people")

    assert clusters(engine) == [["crm:ann"], ["crm:tom", "shop:tom"]]


def test_a_pair_of_two_records_weighed_down_below_the_threshold_is_parted(engine):
    # a component of two records is no chain, but a link weighed again as likely two
    # people (not certain) is examined all the same
    load(engine, {"k": ["crm:ann", "shop:tom"]}, [("crm:ann", "shop:tom", -3.0)])
    engine.read_arrow("two_people", pa.table({"record_key_l": ["crm:ann"], "record_key_r": ["shop:tom"],
                                              "certain": [False]}))
    review_clusters(engine, THRESHOLD, two_people="two_people")

    assert clusters(engine) == [["crm:ann"], ["shop:tom"]]


def test_a_pair_with_evidence_against_inside_a_customer_flags_it_for_review(engine):
    load(engine, {"k": GROUP_A + ["crm:a4"]},
         tight(GROUP_A) + [("crm:a1", "crm:a4", 12.0), ("crm:a2", "crm:a4", 12.0), ("crm:a3", "crm:a4", -1.0)])
    found = review_clusters(engine, THRESHOLD)

    assert flags(engine) == {"k": (True, "weak link")} and found.weak_link == 1


def test_a_tight_group_is_left_alone(engine):
    load(engine, {"tight": GROUP_A + ["crm:a4"]}, tight(GROUP_A + ["crm:a4"]))
    found = review_clusters(engine, THRESHOLD)

    assert flags(engine) == {} and clusters(engine) == [sorted(GROUP_A + ["crm:a4"])]
    assert (found.split, found.weak_link, found.loose) == (0, 0, 0)


# ---------------------------------------------------------------- through the pipeline

HALVES_YAML = """\
    lakehouse: ./lakehouse
    sources:
      crm:
        path: crm.csv
        id: unique_id
        deduplicated: {deduplicated}
        columns: {{first_name: first_name, last_name: surname, date_of_birth: dob, city: city, email: email}}
      shop:
        path: shop.csv
        id: unique_id
        columns: {{first_name: first_name, last_name: surname, date_of_birth: dob, city: city, email: email}}
    """


@pytest.fixture(scope="module")
def halves(tmp_path_factory) -> dict[bool, Project]:
    """Splink's fake_1000 as a CRM and a shop (alternate rows, duplicates in both), linked
    with the CRM taken as it is and declared deduplicated."""
    data = SHARED_DATA / "fake_1000.csv"
    if not data.exists():
        pytest.skip(f"shared data not found at {data}")
    header, *rows = data.read_text(encoding="utf-8").splitlines()
    files = {"crm.csv": "\n".join([header, *rows[::2]]), "shop.csv": "\n".join([header, *rows[1::2]])}
    projects = {}
    for deduplicated in (False, True):
        folder = tmp_path_factory.mktemp(f"deduplicated_{deduplicated}")
        project = Project.load(write_project(folder, HALVES_YAML.format(deduplicated=str(deduplicated).lower()), files))
        project.run()
        projects[deduplicated] = project
    return projects


def most_crm_records_in_a_customer(project: Project) -> int:
    xref = project.lakehouse.read_table("gold/customer_xref").filter(pc.equal(pc.field("source"), "crm"))
    return pc.max(pc.value_counts(xref["customer_id"]).field("counts")).as_py()


def test_a_deduplicated_source_never_has_two_records_in_one_customer(halves):
    assert most_crm_records_in_a_customer(halves[False]) > 1  # the CRM does hold duplicates
    assert most_crm_records_in_a_customer(halves[True]) == 1


def facts(project: Project) -> dict:
    return json.loads(project.lakehouse.read_table("audit/runs")["linkage"][-1].as_py())


def test_a_threshold_is_recommended_from_the_scores(halves):
    found = facts(halves[False])
    assert 0 < found["recommended_threshold"] < 1
    assert 0 < found["expected_f1_at_threshold"] <= found["expected_f1_at_recommended"] <= 1


def test_by_default_records_are_clustered_at_the_recommended_threshold_but_not_below_even_odds(halves):
    found = facts(halves[False])
    assert found["threshold_configured"] == "auto"
    assert found["threshold"] == max(found["recommended_threshold"], 0.5)


def test_the_report_counts_the_customers_gold_flags_for_review(halves):
    project = halves[False]
    found = facts(project)
    customers = project.lakehouse.read_table("gold/customers")
    flagged = pc.sum(customers["needs_review"]).as_py()
    assert flagged == found["clusters_weak_link"] + found["clusters_loose"] > 0
    reasons = customers.filter(customers["needs_review"])["review_reason"].to_pylist()
    assert set(reasons) <= {"weak link", "loose"}
    run_id = project.lakehouse.read_table("audit/runs")["run_id"][-1].as_py()
    html = Path(project.lakehouse.path(f"reports/{run_id}/quality.html")).read_text()
    part = html.split('<h2 id="linkage">')[1]
    assert (f"<b>{found['clusters_split']:,}</b> groups at the threshold parted" in part
            and f"<b>{flagged:,}</b> customers need review" in part)
    assert f"<code>auto</code>: the highest expected F1 over the calibrated scores, {found['expected_f1_at_recommended']:.3f}" in part


@pytest.mark.parametrize("raw, shift", [(19.784593145, -0.7284268877476023), (7.25, 1.5), (30.1, -3.3)])
def test_a_threshold_recommended_at_a_pairs_score_links_that_pair(engine, raw, shift):
    # the pairs sure enough to be the best threshold are linked at it: through probability
    # and back to a weight on Splink's own scale (less the shift), rounding must not lose them
    from types import SimpleNamespace

    from scv.clusters import recommend_threshold

    scored = raw + shift
    load(engine, {"k": ["crm:a", "shop:a", "shop:b"]}, [("crm:a", "shop:a", scored), ("crm:a", "shop:b", scored), ("crm:b", "shop:c", -20.0)])
    run = SimpleNamespace(engine=engine, linkage_facts={})
    recommend_threshold(run, 1 - 1e-15)  # configured above every pair: the sure pairs' bin is better

    threshold = run.linkage_facts["recommended_threshold"]
    assert 0.5 < threshold < 1
    assert weight(threshold) - shift <= raw
