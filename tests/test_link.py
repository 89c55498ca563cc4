"""Linkage: the model scv derives from the data, and what its levels make of real pairs."""

from __future__ import annotations

import json
import math

import pytest

from conftest import CRM_CSV, SHOP_CSV, TWO_SOURCES_YAML, write_project
from scv import Project
from scv import blocking, link, training
from scv.link import reestimate_prior

PEOPLE_YAML = """\
    lakehouse: ./lakehouse
    sources:
      people:
        path: people.csv
        id: id
        columns: {first_name: first, last_name: last, date_of_birth: dob, city: city}
"""
# Pairs of one person written two ways, among unrelated people so that EM has data.
PEOPLE_CSV = "id,first,last,dob,city\n" + "\n".join([
    "1,Bob,Smith,1980-02-01,Leeds",
    "2,Robert,Smith,1980-02-01,Leeds",
    "3,Philip,Turing,1962-06-23,York",
    "4,Filip,Turing,1962-06-23,York",
    "5,Brown,Leo,1988-05-11,Hull",
    "6,Leo,Brown,1988-05-11,Hull",
    *(f"{10 + i},Name{chr(97 + i % 26)}{i},Family{i},19{50 + i % 40}-0{1 + i % 9}-1{i % 9},Town{i % 7}"
      for i in range(60)),
])


@pytest.fixture(scope="module")
def people(tmp_path_factory) -> Project:
    project = Project.load(write_project(tmp_path_factory.mktemp("people"), PEOPLE_YAML, {"people.csv": PEOPLE_CSV}))
    project.run()
    return project


def first_name_level(project: Project, a: str, b: str) -> str:
    return {c.name: c.level for c in project.explain(a, b).comparisons}["first_name"]


def test_a_nickname_matches_on_its_formal_name(people):
    assert "first_name_key" in first_name_level(people, "people:1", "people:2")


def test_names_that_sound_alike_match_on_their_phonetic_key(people):
    assert "first_name_phonetic" in first_name_level(people, "people:3", "people:4")


def test_first_and_last_name_swapped_is_a_level_of_its_own(people):
    level = first_name_level(people, "people:5", "people:6")
    assert "first_name" in level and "last_name" in level and "Exact" not in level


PLACES_YAML = PEOPLE_YAML.replace("city: city}", "city: city, postcode: zip}")
PLACES_CSV = "id,first,last,dob,city,zip\n" + "\n".join([
    "1,Ann,Hale,1970-01-01,Raleigh,27601",
    "2,Ann,Hale,1970-01-01,Raliegh,27607",  # the town misspelt, a digit of the zip mistyped
    "3,Ann,Hale,1970-01-01,Durham,27601",
    "4,Ann,Hale,1970-01-01,Raleigh,28705",
    *(f"{10 + i},Name{chr(97 + i % 26)}{i},Family{i},19{50 + i % 40}-0{1 + i % 9}-1{i % 9},Town{i % 7},{20000 + i}"
      for i in range(60)),
])


@pytest.mark.parametrize(("left", "right", "level"), [
    ("people:1", "people:2", "postcode a character apart, same town"),  # Raleigh 27601, Raliegh 27607
    ("people:1", "people:3", "same postcode"),  # Raleigh, Durham: one zip
    ("people:1", "people:4", "same town"),  # 27601, 28705
    ("people:2", "people:4", "town alike"),  # Raliegh, Raleigh at zips far apart
    ("people:3", "people:4", "other"),  # Durham 27601, Raleigh 28705
])
def test_postcode_and_town_are_one_comparison_with_slips_as_levels_of_their_own(places, left, right, level):
    # one home counts once: strangers of one town agree on both postcode and town
    found = {c.name: c.level for c in places.explain(left, right).comparisons}
    assert level in found["address"] and not {"postcode", "city"} & set(found)


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> Project:
    project = Project.load(write_project(tmp_path_factory.mktemp("places"), PLACES_YAML, {"people.csv": PLACES_CSV}))
    project.run()
    return project


def test_a_training_step_that_fails_leaves_its_comparisons_in_the_model(tmp_path):
    project = Project.load(write_project(tmp_path, TWO_SOURCES_YAML, {"crm.csv": CRM_CSV, "shop.csv": SHOP_CSV}))
    result = project.run()

    assert any("EM blocked on date_of_birth" in w for w in result.warnings)
    model = json.loads((project.lakehouse.root / "models" / f"{result.run_id}.json").read_text())
    assert "date_of_birth" in {c["output_column_name"] for c in model["comparisons"]}


def test_the_prior_is_reestimated_from_the_evidence_of_the_scored_pairs():
    # 1,000 pairs with overwhelming evidence of a match among 1,000,000 pairs: whatever
    # the rules guessed, about 1 pair in 1,000 matches.
    for guess in (1e-6, 1e-4, 1e-2):
        assert reestimate_prior([(40.0, 1000), (-20.0, 5000)], guess, 1e6) == pytest.approx(1e-3, rel=1e-3)


def test_the_prior_stands_when_too_few_pairs_were_scored():
    assert reestimate_prior([], 1e-4, 1e6) == 1e-4
    assert reestimate_prior([(40.0, 10)], 1e-4, 1e6) == 1e-4


def test_pairs_and_clusters_use_the_reestimated_prior(people):
    model = json.loads(people.lakehouse.root.joinpath("models").glob("*.json").__next__().read_text())
    prior = model["probability_two_random_records_match"]
    explained = people.explain("people:1", "people:2")
    assert explained.prior_match_weight == pytest.approx(math.log2(prior / (1 - prior)))


def run_with_facts(config) -> tuple[Project, dict]:
    """A run of the project and the linkage facts it recorded."""
    project = Project.load(config)
    project.run()
    return project, json.loads(project.lakehouse.read_table("audit/runs")["linkage"][-1].as_py())


def copy_of(config, folder: str):
    """The same project file in a sibling folder: a second run with a lakehouse of its own."""
    copy = config.parent / folder / "scv.yaml"
    copy.parent.mkdir()
    copy.write_text(config.read_text())
    return copy


def test_pairs_scored_in_chunks_are_the_pairs_scored_at_once(fake_1000, monkeypatch):
    """A large run scores its blocked pairs in parts (scv.link.chunks); the parts add up
    to the same pairs with the same weights."""
    def pairs(project):
        found = project.lakehouse.read_table("silver/pairs").to_pylist()
        return {(p["record_key_l"], p["record_key_r"]): round(p["match_weight"], 9) for p in found}

    project, facts = run_with_facts(fake_1000)
    at_once = pairs(project)
    monkeypatch.setattr(link, "PAIRS_PER_CHUNK", facts["pairs_to_score"] // 3)
    in_parts = pairs(run_with_facts(copy_of(fake_1000, "parts"))[0])
    assert in_parts == at_once and len(at_once) > 1000


def test_blocking_counts_are_what_each_rule_added_to_the_pairs_scored(fake_1000):
    """Counted on the blocked pairs Splink scored: Splink's own exact count of each rule's
    comparisons beyond the rules before it, adding up to every pair scored."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    project, facts = run_with_facts(fake_1000)
    engine = project.engine()
    engine.load("silver_records", project.lakehouse, "silver/records")
    try:
        records = link.register_input(engine)
        counted = count_comparisons_from_blocking_rules(
            records, blocking_rules=[r["rule"] for r in facts["blocking_rules"]], link_type="dedupe_only",
            unique_id_column_name="record_key", source_dataset_column_name="source", record_sample_proportion=1.0)
    finally:
        engine.close()
    assert facts["blocking_count_sample"] == 1.0
    assert [r["comparisons"] for r in facts["blocking_rules"]] == [c["marginal_comparison_count"] for c in counted]
    assert sum(r["comparisons"] for r in facts["blocking_rules"]) > 1000


def test_blocking_counts_of_pairs_scored_in_parts_past_the_limit_come_from_a_sample(fake_1000, monkeypatch):
    """Only the report shows them: when the pairs are scored in parts, past
    EXACT_COUNT_LIMIT pairs they are counted on the share of records that holds about
    SAMPLED_COUNT_PAIRS pairs, and scaled up."""
    _, exact = run_with_facts(fake_1000)
    monkeypatch.setattr(link, "PAIRS_PER_CHUNK", exact["pairs_to_score"] // 3)
    monkeypatch.setattr(blocking, "EXACT_COUNT_LIMIT", 1000)
    monkeypatch.setattr(blocking, "SAMPLED_COUNT_PAIRS", exact["pairs_to_score"] / 4)
    _, sampled = run_with_facts(copy_of(fake_1000, "sampled"))
    assert sampled["prediction_parts"] > 1 and sampled["blocking_count_sample"] == pytest.approx(0.5)
    total = sum(r["comparisons"] for r in exact["blocking_rules"])
    estimate = sum(r["comparisons"] for r in sampled["blocking_rules"])
    assert [r["rule"] for r in sampled["blocking_rules"]] == [r["rule"] for r in exact["blocking_rules"]]
    assert estimate != total and abs(estimate - total) < 0.25 * total


def test_the_prior_of_many_records_is_counted_on_a_sample_of_them(fake_1000, monkeypatch):
    """Past PRIOR_SAMPLE_RECORDS records the deterministic rules' pairs are counted on a
    share of the records and scaled up: near the exact count, not it, and calibrated on
    the scored pairs to the prior the exact count gives."""
    _, exact = run_with_facts(fake_1000)
    monkeypatch.setattr(training, "PRIOR_SAMPLE_RECORDS", 700)
    project, sampled = run_with_facts(copy_of(fake_1000, "sampled"))
    assert exact["prior_sample"] == 1.0 and sampled["prior_sample"] == pytest.approx(0.7)
    report = (project.lakehouse.root / "reports" / "latest" / "quality.html").read_text()
    assert "the deterministic rules gave" in report and "counted on 70% of the records" in report
    assert sampled["prior_from_rules"] != exact["prior_from_rules"]
    assert sampled["prior_from_rules"] == pytest.approx(exact["prior_from_rules"], rel=0.15)
    assert sampled["prior"] == pytest.approx(exact["prior"], rel=1e-4)


def test_a_prior_sample_without_a_deterministic_pair_is_counted_again_in_full(fake_1000, monkeypatch):
    _, exact = run_with_facts(fake_1000)
    monkeypatch.setattr(training, "PRIOR_SAMPLE_RECORDS", 1)  # a record or two: no pair
    _, recounted = run_with_facts(copy_of(fake_1000, "recounted"))
    assert recounted["prior_sample"] == 1.0
    assert recounted["prior_from_rules"] == pytest.approx(exact["prior_from_rules"], rel=1e-12)


def test_linking_on_record_numbers_finds_what_linking_on_record_keys_finds(fake_1000, monkeypatch):
    """A full run on DuckDB has Splink join records on numbers in key order (scv.link.key_by);
    its samples still hash the keys: the same pairs, weights and clusters as keys give."""
    from scv.engine.base import Dialect
    from scv.engine.duckdb import DuckDBDialect

    def outcome(config):
        project, facts = run_with_facts(config)
        pairs = {(p["record_key_l"], p["record_key_r"]): p["match_weight"]
                 for p in project.lakehouse.read_table("silver/pairs").to_pylist()}
        xref = {r["record_key"]: r["customer_id"] for r in project.lakehouse.read_table("gold/customer_xref").to_pylist()}
        return pairs, xref, facts["prior"]

    fake_1000.write_text(fake_1000.read_text() + "linkage:\n  max_pairs_for_u: 20000\n")  # u from a sample
    numbered = outcome(fake_1000)
    monkeypatch.setattr(DuckDBDialect, "record_number", Dialect.record_number)  # no numbers: the keys
    keyed = outcome(copy_of(fake_1000, "keyed"))
    assert numbered[0].keys() == keyed[0].keys() and len(keyed[0]) > 1000
    assert all(numbered[0][k] == pytest.approx(w, abs=1e-9) for k, w in keyed[0].items())
    assert numbered[1] == keyed[1] and numbered[2] == pytest.approx(keyed[2], rel=1e-12)


def test_the_guards_levels_for_people_plainly_not_one_are_the_comparisons_last():
    # scv.strangers reads "more than a year apart" as the date of birth's last two levels
    # and "unlike" as the first name's last: one home for the levels, checked here
    from scv.link import date_of_birth_comparison, name_comparison
    from scv.strangers import FAR_DATE_LEVELS

    born = [level.label_for_charts for level in date_of_birth_comparison().get_comparison("duckdb").comparison_levels]
    assert born[-FAR_DATE_LEVELS:] == ["Abs difference of 'date_of_birth <= 10 year'", "All other comparisons"]
    assert "<= 1 year" in born[-FAR_DATE_LEVELS - 1]
    name = name_comparison("first_name").get_comparison("duckdb").comparison_levels
    assert name[-1].sql_condition == "ELSE" and "0.7" in name[-2].label_for_charts
