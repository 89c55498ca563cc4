"""Linkage on data nobody tuned for: generic values, lists holding each person once, and a
run that says plainly when its customers should not be trusted."""

from __future__ import annotations

import csv
import math
import json
import random
import shutil
import sys
from pathlib import Path

import pyarrow.compute as pc
import pytest

from conftest import SHARED_DATA, write_project
from scv import Project
from scv.households import measure, one_person
from scv.assessment import verdict
from scv.strangers import OVERLINKED_FACTOR

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import shapes  # noqa: E402


def facts(project: Project) -> dict:
    return json.loads(project.lakehouse.read_table("audit/runs")["linkage"][-1].as_py())


def customers(project: Project) -> dict[str, str]:
    xref = project.lakehouse.read_table("gold/customer_xref")
    return dict(zip(xref["record_key"].to_pylist(), xref["customer_id"].to_pylist()))


def linked_shape(tmp_path_factory, shape: str, records: int, drop=None) -> tuple[Project, Path]:
    """A robustness benchmark shape, run with the defaults (less the project file's lines
    `drop` picks): the project and its truth."""
    config, truth = shapes.make(shape, tmp_path_factory.mktemp(shape), records=records, seed=7)
    if drop is not None:
        config.write_text("".join(line for line in config.read_text().splitlines(keepends=True) if not drop(line)))
    project = Project.load(config)
    project.run()
    return project, truth


def made_up_names(rng: random.Random, n: int) -> list[str]:
    syllables = ["ba", "ker", "son", "ril", "ma", "tho", "gan", "li", "der", "wen", "ro", "sa", "ty", "mo"]
    found: set[str] = set()
    while len(found) < n:
        found.add("".join(rng.choice(syllables) for _ in range(3)).title())
    return sorted(found)


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


PEOPLE_YAML = """\
    lakehouse: ./lakehouse
    sources:
      people:
        path: people.csv
        id: id
        columns: {first_name: first, last_name: last, date_of_birth: dob, email: email}
    """


@pytest.fixture(scope="module")
def shared_inbox(tmp_path_factory) -> Project:
    """200 different people who all gave noemail@example.com, and 100 people with two
    records each under their own address, so that the model learns what email is worth."""
    rng = random.Random(7)
    first, last = made_up_names(rng, 300), made_up_names(rng, 600)[300:]
    rows = []
    for i in range(200):
        rows.append([f"g{i}", first[i], last[i], f"19{rng.randint(40, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                     "noemail@example.com"])
    for i in range(100):
        person = [first[200 + i], last[200 + i], f"19{rng.randint(40, 99)}-0{rng.randint(1, 9)}-2{rng.randint(0, 8)}",
                  f"{first[200 + i].lower()}.{i}@mail.example"]
        rows += [[f"p{i}a", *person], [f"p{i}b", *person]]
    folder = tmp_path_factory.mktemp("shared_inbox")
    write_csv(folder / "people.csv", ["id", "first", "last", "dob", "email"], rows)
    project = Project.load(write_project(folder, PEOPLE_YAML, {}))
    project.run()
    return project


def test_a_generic_email_shared_by_200_people_links_none_of_them(shared_inbox):
    found = customers(shared_inbox)
    generic = [found[f"people:g{i}"] for i in range(200)]
    assert len(set(generic)) == 200
    # the people with their own addresses are still found
    assert sum(found[f"people:p{i}a"] == found[f"people:p{i}b"] for i in range(100)) == 100


NCVR_YAML = """\
    lakehouse: ./lakehouse
    sources:
{sources}
    """
NCVR_SOURCE = """\
      party{i}:
        path: party{i}.csv
        id: recid
        {deduplicated}columns: {{first_name: givenname, last_name: surname, city: suburb, postcode: postcode}}
"""


def ncvr_project(folder: Path, deduplicated: dict[int, bool] = {}) -> Project:
    """The five voter lists of ../shared/data/ncvr500 at 20% corruption: each holds a
    person at most once."""
    files = {f"party{i}.csv": (SHARED_DATA / "ncvr500" / f"ocp20_party{i}.csv").read_text() for i in range(5)}
    sources = "".join(NCVR_SOURCE.format(
        i=i, deduplicated=f"deduplicated: {str(deduplicated[i]).lower()}\n        " if i in deduplicated else "")
        for i in range(5))
    return Project.load(write_project(folder, NCVR_YAML.format(sources=sources), files))


@pytest.fixture(scope="module")
def voter_lists(tmp_path_factory) -> Project:
    if not (SHARED_DATA / "ncvr500").exists():
        pytest.skip("shared data not found")
    project = ncvr_project(tmp_path_factory.mktemp("voters"))
    project.run()
    return project


def most_records_of_one_source_in_a_customer(project: Project) -> int:
    xref = project.lakehouse.read_table("gold/customer_xref")
    counts = pc.value_counts(pc.binary_join_element_wise(xref["customer_id"], xref["source"], "|"))
    return pc.max(counts.field("counts")).as_py()


def test_lists_that_hold_each_person_once_are_found_and_linked_one_to_one(voter_lists):
    assert facts(voter_lists)["one_to_one"] == {f"party{i}": "detected" for i in range(5)}
    assert most_records_of_one_source_in_a_customer(voter_lists) == 1


def test_a_list_declared_not_deduplicated_is_not_linked_one_to_one(tmp_path):
    if not (SHARED_DATA / "ncvr500").exists():
        pytest.skip("shared data not found")
    project = ncvr_project(tmp_path, {0: False})
    project.run()
    assert "party0" not in facts(project)["one_to_one"]


def test_sources_holding_duplicates_are_not_taken_for_lists_of_each_person_once(tmp_path):
    from scv.generate import demo_project_yaml, generate

    generate(tmp_path / "data", people=1500)
    (tmp_path / "scv.yaml").write_text(demo_project_yaml())
    project = Project.load(tmp_path / "scv.yaml")
    project.run()
    assert facts(project)["one_to_one"] == {}


def test_the_expected_quality_is_taken_on_the_customers(voter_lists):
    expected = facts(voter_lists)["expected"]
    scores = voter_lists.evaluate(voter_truth(voter_lists))
    assert abs(expected["f1"] - scores.f1) <= 0.05
    assert abs(expected["precision"] - scores.precision) <= 0.05


def voter_truth(project: Project) -> Path:
    rows = [[f"party{i}", r["recid"], r["recid"]]
            for i in range(5) for r in csv.DictReader((project.base_dir / f"party{i}.csv").open())]
    path = project.base_dir / "truth.csv"
    write_csv(path, ["source", "source_record_id", "person_id"], rows)
    return path


def test_a_run_whose_fields_cannot_tell_people_apart_says_so_in_plain_words(tmp_path):
    # 300 people named from five first and four last names in two towns, each twice:
    # the model cannot know which John Smith is which, and the run must not pretend it does
    rng = random.Random(3)
    rows = []
    for i in range(300):
        person = [rng.choice(["John", "Mary", "Anne", "Paul", "Sue"]), rng.choice(["Smith", "Jones", "Brown", "Lee"]),
                  rng.choice(["Leeds", "York"])]
        rows += [[f"{i}a", *person], [f"{i}b", *person]]
    write_csv(tmp_path / "people.csv", ["id", "first", "last", "town"], rows)
    yaml = PEOPLE_YAML.replace("date_of_birth: dob, email: email", "city: town")
    project = Project.load(write_project(tmp_path, yaml, {}))
    result = project.run()
    said = [w for w in result.warnings if w.startswith("linkage quality")]
    assert said and "Smith" not in said[0] and "John" not in said[0]
    assert facts(project)["verdict"] == said[0]
    run_id = project.lakehouse.read_table("audit/runs")["run_id"][-1].as_py()
    html = Path(project.lakehouse.path(f"reports/{run_id}/quality.html")).read_text()
    assert html.index("linkage quality") < html.index("<h2")  # the report leads with it


def test_a_customer_holding_a_large_share_of_all_records_is_called_out():
    assert "no single person's" in verdict(0.95, 0.95, 0.95, largest=400, records=10_000)
    assert verdict(0.95, 0.95, 0.95, largest=6, records=10_000) is None
    assert "poor" in verdict(0.5, 0.4, 0.9, largest=6, records=10_000)


def test_weights_are_calibrated_on_the_pairs_inside_lists_of_each_person_once(engine):
    # two lists of 100 people each: 200 pairs across at +10 bits, and inside the lists,
    # where every pair is two people, 20 pairs at +10 too: about 20 of the 200 across are
    # strangers, so +10 bits overstates: 180 matches in 200 is +3.17 bits
    from types import SimpleNamespace

    import pyarrow as pa

    from scv.structure import overstatement

    keys = [f"{s}:{i:03d}" for s in "ab" for i in range(100)]
    engine.read_arrow("link_inputs", pa.table({"record_key": keys, "source": [k[0] for k in keys]}))
    across = [(f"a:{i:03d}", f"b:{j:03d}") for i in range(100) for j in (i, (i + 1) % 100)]
    inside = [(f"{s}:{i:03d}", f"{s}:{i + 1:03d}") for s in "ab" for i in range(10)]
    pairs = across + inside
    engine.read_arrow("pairs", pa.table({"record_key_l": [p[0] for p in pairs], "record_key_r": [p[1] for p in pairs],
                                         "match_weight": [10.0] * len(pairs)}))
    bits = overstatement(SimpleNamespace(engine=engine), ["a", "b"])
    strangers = 20 * 10_000 / 9_900
    assert bits == pytest.approx(10 - math.log2((200 - strangers) / strangers), abs=0.01)



def values_nobody_owns(rows: list[tuple], attest: bool = True) -> set[str]:
    """generic_values_sql over silver records of (email, first name, last name, formal
    name, phonetic key); with `attest`, padded with records of no email so that every
    name used is one people have."""
    import duckdb

    from scv.engine.duckdb import DuckDBDialect
    from scv.link import generic_values_sql
    from scv.namesakes import ATTESTED_NAME

    con = duckdb.connect()
    con.sql("create table silver_records (email_key varchar, first_name varchar, last_name varchar, "
            "first_name_key varchar, first_name_phonetic varchar)")
    padding = [(None, *name) for name in {row[1:] for row in rows} for _ in range(ATTESTED_NAME)] if attest else []
    con.executemany("insert into silver_records values (?, ?, ?, ?, ?)", rows + padding)
    return {v for (v,) in con.sql(generic_values_sql(DuckDBDialect(), "email_key")).fetchall()}


def test_a_family_inbox_held_by_two_unlike_first_names_is_nobodys_own():
    assert values_nobody_owns([
        ("thescotts@mail.example", "laura", "scott", "laura", "LR"),
        ("thescotts@mail.example", "kevin", "scott", "kevin", "KFN"),
    ]) == {"thescotts@mail.example"}


@pytest.mark.parametrize("other", [
    ("robert", "hughes", "robert", "RBRT"),  # Bob and Robert: one formal name
    ("bop", "hughes", "bop", "BP"),  # one letter typed wrong
    ("b", "hughes", "b", "P"),  # an initial
    ("hughes", "bob", "hughes", "HJS"),  # first and last name swapped
])
def test_a_persons_own_email_under_a_variant_of_their_name_stays_theirs(other):
    assert values_nobody_owns([
        ("bob.h@mail.example", "bob", "hughes", "robert", "PP"),
        ("bob.h@mail.example", *other),
    ]) == set()


def test_a_one_off_spelling_is_not_taken_for_a_second_holder():
    from scv.namesakes import ATTESTED_NAME

    own = [("amy.w@mail.example", "amy", "wood", "amy", "AM")] * ATTESTED_NAME
    typed_once = ("amy.w@mail.example", "yzmq", "wood", "yzmq", "ASM")
    assert values_nobody_owns([*own, typed_once], attest=False) == set()


def expected_quality(engine, clusters: dict[str, str], pairs: list[tuple[str, str, float]]) -> dict:
    """assess() on records `source:id` placed in customers, with scored pairs."""
    from types import SimpleNamespace

    import pyarrow as pa

    from scv.assessment import assess

    keys = sorted(clusters)
    engine.read_arrow("link_inputs", pa.table({"record_key": keys, "source": [k.split(":")[0] for k in keys],
                                               "first_name": keys}))
    engine.read_arrow("clusters", pa.table({"record_key": keys, "cluster_id": [clusters[k] for k in keys]}))
    engine.read_arrow("pairs", pa.table({"record_key_l": [l for l, _, _ in pairs],
                                         "record_key_r": [r for _, r, _ in pairs],
                                         "match_probability": [p for _, _, p in pairs]}))
    run = SimpleNamespace(engine=engine, linkage_facts={}, warn=lambda message: None)
    assess(run)
    return run.linkage_facts["expected"]


def test_a_pair_scored_weakly_inside_a_customer_counts_as_its_path_through_a_third(engine):
    # a~b and b~c are near certain, so a and c are one person however weakly they scored
    found = expected_quality(engine, {"s:a": "1", "s:b": "1", "s:c": "1"},
                             [("s:a", "s:b", 0.99), ("s:b", "s:c", 0.99), ("s:a", "s:c", 0.1)])
    assert found["precision"] == pytest.approx((0.99 + 0.99 + 0.99 * 0.99) / 3, abs=1e-4)


def test_a_path_through_a_doubtful_link_adds_nothing(engine):
    found = expected_quality(engine, {"s:a": "1", "s:b": "1", "s:c": "1"},
                             [("s:a", "s:b", 0.99), ("s:b", "s:c", 0.6), ("s:a", "s:c", 0.1)])
    assert found["precision"] == pytest.approx((0.99 + 0.6 + 0.1) / 3, abs=1e-4)



@pytest.fixture(scope="module")
def households(tmp_path_factory) -> tuple[Project, Path]:
    """Families sharing surname, address, email and landline over three sources (the
    robustness benchmark's shape, at 5,000 records)."""
    return linked_shape(tmp_path_factory, "households", 5_000)


@pytest.fixture(scope="module")
def households_without_street_or_phone(tmp_path_factory) -> tuple[Project, Path]:
    """The households with neither street nor phone mapped: a family shares its surname,
    postcode, town and inbox, and no home can be weighed."""
    return linked_shape(tmp_path_factory, "households", 5_000,
                        drop=lambda line: "phone" in line or "address_line_1" in line)


def test_the_members_of_a_family_are_parted_by_their_home_without_retraining(households):
    project, truth = households
    found = facts(project)
    assert "retrained_without" not in found and found["home_links_undone"] > 100
    scores = project.evaluate(truth)
    assert scores.precision > 0.98 and scores.recall > 0.98


def test_a_model_linking_far_more_strangers_than_it_expects_is_retrained_without_what_households_share(
        households_without_street_or_phone):
    project, truth = households_without_street_or_phone
    found = facts(project)
    assert set(found["retrained_without"]) >= {"email", "postcode"}
    # the retrained model links such pairs no more often than its own m says one person's records disagree so
    assert found["share_linked_strangers"] <= OVERLINKED_FACTOR * found["strangers_expected"]
    assert "plainly not one person" in project.lakehouse.read_table("audit/runs")["warnings"][-1].as_py()
    scores = project.evaluate(truth)
    assert scores.precision > 0.95 and scores.recall > 0.95


def test_a_list_whose_model_is_sure_of_few_pairs_is_read_at_the_strongest_links_it_has(engine):
    # two lists of 100 people each: across, 5 links at 0.99995 (too few to tell) and 95 at
    # 0.995; inside, 30 namesakes at 0.6. At 0.99 the lists hold no link inside: each person once
    from types import SimpleNamespace

    import pyarrow as pa

    from scv.structure import detected

    keys = [f"{s}:{i:03d}" for s in "ab" for i in range(100)]
    engine.read_arrow("link_inputs", pa.table({"record_key": keys, "source": [k[0] for k in keys]}))
    pairs = ([(f"a:{i:03d}", f"b:{i:03d}", 0.99995 if i < 5 else 0.995) for i in range(100)]
             + [(f"{s}:{i:03d}", f"{s}:{i + 1:03d}", 0.6) for s in "ab" for i in range(15)])
    engine.read_arrow("pairs", pa.table({"record_key_l": [p[0] for p in pairs], "record_key_r": [p[1] for p in pairs],
                                         "match_probability": [p[2] for p in pairs]}))
    assert detected(SimpleNamespace(engine=engine), 0.5, ["a", "b"]) == {"a": 0.0, "b": 0.0}


def test_blocking_recall_is_measured_between_rules_on_different_fields(engine):
    # 100 linked pairs: 50 share name and postcode, 30 the postcode only (the name typed
    # wrong, its sound too), 20 the name only. The two name rules miss together, so the
    # names' recall is read on the pairs the postcode found (50 of 80), the postcode's on
    # those the names found (50 of 70): 1 - 30/80 * 20/70 of the matches are compared
    from types import SimpleNamespace

    import pyarrow as pa

    from scv.blocking import estimated_recall

    rows = ([("ann", "AN", "P1")] * 50 + [("bob", "BB", "P2")] * 30 + [("cy", "K", "P3")] * 20)
    left = [(f"l{i}", *row) for i, row in enumerate(rows)]
    right = [(f"r{i}", *((row[0], row[1], f"Q{i}") if i >= 80 else ("x", "X", row[2]) if i >= 50 else row))
             for i, row in enumerate(rows)]
    records = left + right
    engine.read_arrow("link_inputs", pa.table({c: [r[j] for r in records] for j, c in enumerate(
        ("record_key", "first_name", "first_name_phonetic", "postcode"))}))
    engine.read_arrow("linked", pa.table({"record_key_l": [r[0] for r in left], "record_key_r": [r[0] for r in right]}))
    rules = ["l.first_name = r.first_name", "l.first_name_phonetic = r.first_name_phonetic", "l.postcode = r.postcode"]
    found = estimated_recall(SimpleNamespace(engine=engine), rules, "linked")
    assert found == pytest.approx(1 - 30 / 80 * 20 / 70)


def test_blocking_rules_on_an_attribute_named_with_digits_read_that_attribute():
    from scv.blocking import rule_groups

    rules = ["l.tax_id2 = r.tax_id2", "l.tax_id = r.tax_id", "l.first_name = r.first_name"]
    assert rule_groups(rules) == [[0], [1], [2]]


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> tuple[Project, Path]:
    """Half the people twins: one surname, birthday, address and phone, first names their
    own (the robustness benchmark's shape, at 2,000 records)."""
    return linked_shape(tmp_path_factory, "twins", 2_000)


def test_the_members_of_a_home_are_told_apart_by_what_is_their_own(twins):
    project, truth = twins
    found = facts(project)
    assert found["home_pairs"] > 1_000 and 0.3 < found["home_share_one_person"] < 0.8
    assert found["home_links_undone"] > 100
    scores = project.evaluate(truth)  # counted as one person on every shared field: precision 0.61
    assert scores.precision > 0.85 and scores.recall > 0.95
    # and the run knows how far to trust its links (it expected 0.9996 when precision was 0.61)
    assert found["expected"]["precision"] - scores.precision < 0.1


def test_an_incremental_run_weighs_the_homes_as_a_full_run_does(twins, tmp_path):
    project, truth = twins
    shutil.copytree(project.base_dir, tmp_path / "copy")
    config = tmp_path / "copy" / "scv.yaml"
    source = config.parent / "crm.csv"
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    source.write_text("".join(lines[:-20]), encoding="utf-8")  # 20 records gone: the pairs are scored anew
    again = Project.load(config)
    assert again.run().mode == "incremental"
    found = facts(again)
    assert found["home_links_undone"] > 100
    assert again.evaluate(truth).precision > 0.85


def test_first_name_is_learnt_where_the_models_matches_agree_on_it_most(twins):
    project, _ = twins
    [model] = [json.loads(project.lakehouse.read_file(f)) for f in project.lakehouse.files("models")]
    [first_name] = [c for c in model["comparisons"] if c["output_column_name"] == "first_name"]
    # the session blocked on birth date takes twins for one person: half its matches
    # disagree on first name; the one blocked on email does not
    assert first_name["comparison_levels"][-1]["m_probability"] < 0.05


def test_how_many_home_pairs_are_one_person_is_measured_with_the_persons_own_m():
    # first name: same, similar, else; birth date: same, else. One person's records agree
    # on both; twins share the birthday, and are named as any two people are
    m = [{0: 0.9, 1: 0.08, 2: 0.02}, {0: 0.95, 1: 0.05}]
    named = {0: 0.01, 1: 0.02, 2: 0.97}
    twins_born = {0: 0.9, 1: 0.1}
    share = 0.3
    cells = [(a, b, 100_000 * (share * m[0][a] * m[1][b] + (1 - share) * named[a] * twins_born[b]))
             for a in range(3) for b in range(2)]
    found, u = measure(cells, m, {0: named})
    assert found == pytest.approx(share, abs=0.005)
    assert u[1][0] == pytest.approx(0.9, abs=0.01)
    # a home pair under two first names is two people, though they share the birthday
    assert one_person((2, 0), found, m, u) < 0.01
    assert one_person((0, 0), found, m, u) > 0.95


def test_the_report_says_how_many_links_the_homes_undid(twins):
    project, _ = twins
    found = facts(project)
    page = project.lakehouse.read_file("reports/latest/quality.html").decode()
    assert "Homes counted once" in page
    assert f"<b>{found['home_links_undone']:,}</b> links were undone" in page
