"""Customer ids stay stable across runs, and gold/customer_id_history says how they changed."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from conftest import CRM_CSV, SHOP_CSV, TWO_SOURCES_YAML, write_project
from scv import Project, StageFailed, pipeline
from scv.engine import create_engine
from scv.identity import HISTORY, ISSUED_SCHEMA, PREVIOUS_SCHEMA, assign

ROBERT_IN_SHOP = "101,ROBERT,SMITH,rob.smith@example.com,+447700900123,sw1a1aa,2024-05-01"
STRANGER_IN_SHOP = "101,Zack,Quill,zq@example.net,07700900555,N1 9GU,2024-05-01"
ROBERT_IN_CRM = "c1,Robert,Smith,Rob.Smith@Example.com,07700 900123,1980-02-01,SW1A 1AA,2024-01-01,false"
STRANGER_IN_CRM = "c1,Yara,Vance,yv@example.org,07700 900333,1966-06-06,EC1A 1BB,2024-01-01,false"
ANN_IN_SHOP = "104,Ann,Brown,,07700900789,LS1 4AP,2024-07-01"  # crm:c3's phone and postcode
NEW_PERSON_IN_SHOP = "104,Priya,Patel,priya.patel@example.com,07700900222,BS1 4DJ,2024-07-01"
ZOE_IN_SHOP = "103,Zoë,Clark,zoe@example.com,07700900999,E1 6AN,2024-06-02"
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


# ---------------------------------------------------------------- through the pipeline

@pytest.fixture
def project(tmp_path):
    write_project(tmp_path, TWO_SOURCES_YAML, {"crm.csv": CRM_CSV, "shop.csv": SHOP_CSV})
    return Project.load(tmp_path / "scv.yaml")


def run(project: Project, crm: str = CRM_CSV, shop: str = SHOP_CSV) -> str:
    """Run the project over these exports; the run id."""
    folder = project.lakehouse.root.parent
    (folder / "crm.csv").write_text(crm, encoding="utf-8")
    (folder / "shop.csv").write_text(shop, encoding="utf-8")
    return project.run().run_id


def ids(project: Project) -> dict[str, str]:
    """record key -> customer id, as gold/customer_xref holds them."""
    xref = project.lakehouse.read_table("gold/customer_xref").to_pylist()
    return {r["record_key"]: r["customer_id"] for r in xref}


def changes(project: Project, run_id: str) -> list[tuple]:
    """One run's rows of gold/customer_id_history: (old id, new id, change, records moved)."""
    history = project.lakehouse.read_table(HISTORY).to_pylist()
    return sorted(((r["old_customer_id"], r["new_customer_id"], r["change"], r["records_moved"])
                   for r in history if r["run_id"] == run_id), key=repr)


def test_the_first_run_records_every_id_as_new(project):
    first = run(project)
    before = ids(project)
    assert changes(project, first) == sorted([
        (None, before["crm:c1"], "new", 2), (None, before["crm:c2"], "new", 2),
        (None, before["crm:c3"], "new", 1), (None, before["shop:103"], "new", 1)], key=repr)
    assert all(len(i) == 13 and i[0] == "C" and i[1:] == i[1:].upper() for i in before.values())


def test_the_same_data_twice_keeps_every_id_and_adds_no_history(project):
    run(project)
    before, rows = ids(project), project.lakehouse.read_table(HISTORY).num_rows
    second = run(project)
    assert ids(project) == before
    assert changes(project, second) == []
    assert project.lakehouse.read_table(HISTORY).num_rows == rows


def test_a_new_record_joining_a_customer_keeps_its_id(project):
    run(project)
    before = ids(project)
    second = run(project, shop=SHOP_CSV + ANN_IN_SHOP + "\n")
    after = ids(project)
    assert after["shop:104"] == after["crm:c3"] == before["crm:c3"]
    assert changes(project, second) == []


def test_a_new_person_gets_a_new_id_recorded_as_new(project):
    run(project)
    before = ids(project)
    second = run(project, shop=SHOP_CSV + NEW_PERSON_IN_SHOP + "\n")
    after = ids(project)
    assert after["shop:104"] not in before.values()
    assert {k: after[k] for k in before} == before
    assert changes(project, second) == [(None, after["shop:104"], "new", 1)]


def test_merged_customers_keep_the_oldest_id(project):
    run(project, shop=SHOP_CSV.replace(ROBERT_IN_SHOP + "\n", ""))
    robert = ids(project)["crm:c1"]
    run(project, shop=SHOP_CSV.replace(ROBERT_IN_SHOP, STRANGER_IN_SHOP))
    stranger = ids(project)["shop:101"]  # issued a run later than Robert's
    third = run(project)  # the shop record now says Robert
    after = ids(project)
    assert after["crm:c1"] == after["shop:101"] == robert
    assert changes(project, third) == [(stranger, robert, "merge", 1)]


def test_a_split_customer_keeps_its_id_on_the_largest_part(project):
    robert_again = ROBERT_IN_SHOP.replace("101,", "100,", 1)
    shop = SHOP_CSV + robert_again + "\n"
    run(project, shop=shop)
    robert = ids(project)["crm:c1"]
    assert ids(project)["shop:100"] == ids(project)["shop:101"] == robert
    second = run(project, crm=CRM_CSV.replace(ROBERT_IN_CRM, STRANGER_IN_CRM), shop=shop)
    after = ids(project)
    assert after["shop:100"] == after["shop:101"] == robert  # two records against one
    assert after["crm:c1"] != robert
    assert changes(project, second) == [(robert, after["crm:c1"], "split", 1)]


def test_a_customer_whose_records_vanish_is_retired(project):
    run(project)
    zoe = ids(project)["shop:103"]
    second = run(project, shop=SHOP_CSV.replace(ZOE_IN_SHOP + "\n", ""))
    assert zoe not in ids(project).values()
    assert changes(project, second) == [(zoe, None, "retired", 1)]


def test_an_id_is_never_issued_twice(project):
    split_off = SHOP_CSV.replace(ROBERT_IN_SHOP, STRANGER_IN_SHOP)
    run(project)
    run(project, shop=split_off)
    first_split = ids(project)["shop:101"]
    run(project)  # merged back: the split id is retired into Robert's
    assert first_split not in ids(project).values()
    run(project, shop=split_off)  # the same record splits off again
    assert ids(project)["shop:101"] not in (first_split, ids(project)["crm:c1"])
    history = project.lakehouse.read_table(HISTORY).to_pylist()
    issued = [r["new_customer_id"] for r in history if r["change"] in ("new", "split")]
    assert len(issued) == len(set(issued)) == 6


def test_a_failed_run_appends_no_history(project, monkeypatch):
    run(project)
    rows = project.lakehouse.read_table(HISTORY).num_rows

    def fails(_):
        raise RuntimeError("injected fault")

    monkeypatch.setattr(pipeline, "STAGES", [(n, fails if n == "pseudonymise" else f) for n, f in pipeline.STAGES])
    with pytest.raises(StageFailed):
        run(project, shop=SHOP_CSV + NEW_PERSON_IN_SHOP + "\n")
    assert project.lakehouse.read_table(HISTORY).num_rows == rows


def test_forgetting_a_customer_removes_their_history_rows(project, monkeypatch):
    monkeypatch.setenv("SCV_ERASURE_KEY", "test-key-not-secret")
    run(project, shop=SHOP_CSV.replace(ROBERT_IN_SHOP, STRANGER_IN_SHOP))
    stranger = ids(project)["shop:101"]
    run(project)  # the stranger's id merges into Robert's
    robert = ids(project)["crm:c1"]

    receipt = project.forget(email="rob.smith@example.com")

    assert receipt.verified and receipt.removed[HISTORY] == 3  # Robert's and the stranger's issue, the merge
    history = project.lakehouse.read_table(HISTORY).to_pylist()
    named = {r["old_customer_id"] for r in history} | {r["new_customer_id"] for r in history}
    assert not {robert, stranger} & named
    assert len(history) == 3  # the other customers' issues stay


# ---------------------------------------------------------------- the assignment SQL

@pytest.fixture(scope="module")
def duckdb():
    engine = create_engine("duckdb")
    yield engine
    engine.close()


def assigned(engine, clusters: dict[str, list[str]], previous: dict[str, list[str]],
             issued: dict[str, datetime | None] | None = None, run_id: str = "r2"):
    """Assign ids to `clusters` (cluster -> record keys) after `previous` (id -> record keys)
    issued at `issued` (id -> time; by default each at T0): (cluster -> id, change rows)."""
    engine.read_arrow("clusters", pa.Table.from_pylist(
        [{"record_key": k, "cluster_id": c} for c, keys in clusters.items() for k in keys]))
    engine.read_arrow("previous_customer_ids", pa.Table.from_pylist(
        [{"record_key": k, "customer_id": i} for i, keys in previous.items() for k in keys], PREVIOUS_SCHEMA))
    issued = {i: T0.replace(tzinfo=None) for i in previous} if issued is None else issued
    engine.read_arrow("issued_customer_ids", pa.Table.from_pylist(
        [{"customer_id": i, "issued_at": t} for i, t in issued.items()], ISSUED_SCHEMA))
    assign(engine, run_id, T0)
    by_cluster = dict(engine.rows("select cluster_id, customer_id from customer_clusters"))
    rows = engine.rows("select old_customer_id, new_customer_id, change, records_moved from customer_id_changes")
    return by_cluster, sorted(rows, key=repr)


def test_a_merge_keeps_the_oldest_id_even_when_it_is_not_the_lowest(duckdb):
    issued = {"CB": datetime(2024, 1, 1), "CA": datetime(2024, 2, 1)}
    by_cluster, rows = assigned(duckdb, {"x": ["a1", "b1"]}, {"CA": ["a1"], "CB": ["b1"]}, issued)
    assert by_cluster == {"x": "CB"}
    assert rows == [("CA", "CB", "merge", 1)]


def test_ids_issued_before_the_history_was_kept_count_as_oldest(duckdb):
    issued = {"CA": datetime(2024, 1, 1), "CZ": None}
    by_cluster, _ = assigned(duckdb, {"x": ["a1", "z1"]}, {"CA": ["a1"], "CZ": ["z1"]}, issued)
    assert by_cluster == {"x": "CZ"}


def test_a_split_tie_goes_to_the_part_holding_the_lowest_record_key(duckdb):
    by_cluster, rows = assigned(duckdb, {"x": ["b1", "b2"], "y": ["a2", "a1"]}, {"CA": ["a1", "a2", "b1", "b2"]})
    assert by_cluster["y"] == "CA"
    assert rows == [("CA", by_cluster["x"], "split", 2)]


def test_merge_and_split_at_once_give_each_old_id_to_one_cluster(duckdb):
    """Old A (a1-a3) and B (b1-b3) regroup as X (a1, a2, b1) and Y (a3, b2, b3)."""
    issued = {"CA": datetime(2024, 1, 1), "CB": datetime(2024, 2, 1)}
    by_cluster, rows = assigned(duckdb, {"x": ["a1", "a2", "b1"], "y": ["a3", "b2", "b3"]},
                                {"CA": ["a1", "a2", "a3"], "CB": ["b1", "b2", "b3"]}, issued)
    assert by_cluster == {"x": "CA", "y": "CB"}
    assert rows == []  # records moved, ids did not


def test_two_old_ids_drawn_to_one_cluster_leave_the_other_a_split(duckdb):
    """A's and B's larger halves meet in X; Y, holding the rest, gets a new id."""
    issued = {"CA": datetime(2024, 1, 1), "CB": datetime(2024, 2, 1)}
    by_cluster, rows = assigned(duckdb, {"x": ["a1", "a2", "b1", "b2"], "y": ["a3", "b3"]},
                                {"CA": ["a1", "a2", "a3"], "CB": ["b1", "b2", "b3"]}, issued)
    assert by_cluster["x"] == "CA" and by_cluster["y"] not in ("CA", "CB")
    assert rows == sorted([("CB", "CA", "merge", 2), ("CA", by_cluster["y"], "split", 1)], key=repr)


def test_a_new_id_is_never_one_issued_before(duckdb):
    fresh, _ = assigned(duckdb, {"x": ["a1"]}, {})
    taken = fresh["x"]
    again, rows = assigned(duckdb, {"x": ["a1"]}, {}, {taken: datetime(2024, 1, 1)})
    assert again["x"] != taken
    assert rows == [(None, again["x"], "new", 1)]


def test_new_ids_depend_on_the_records_only(duckdb):
    """Not on cluster names, row order or the run: a full and an incremental run agree."""
    clusters = {"x": ["a1", "a2"], "y": ["n1"], "z": ["b1"]}
    full, _ = assigned(duckdb, clusters, {"CA": ["a1"], "CB": ["b1"]}, run_id="full")
    shuffled = {f"other-{c}": random.Random(7).sample(keys, len(keys)) for c, keys in reversed(clusters.items())}
    renamed, _ = assigned(duckdb, shuffled, {"CB": ["b1"], "CA": ["a1"]}, run_id="again")
    incremental, _ = assigned(duckdb, {"y2": ["n1"], "x2": ["a2", "a1"]}, {"CA": ["a1"]},
                              {"CA": T0.replace(tzinfo=None), "CB": T0.replace(tzinfo=None)}, run_id="incremental")
    assert full["y"] == renamed["other-y"] == incremental["y2"]
    assert full["x"] == incremental["x2"] == "CA"
