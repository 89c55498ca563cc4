"""The robustness benchmark's data shapes (benchmarks/shapes.py) write what they promise."""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import shapes  # noqa: E402

from scv import Project  # noqa: E402

RECORDS = 2_000


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    out = {}
    for name in shapes.SHAPES:
        folder = tmp_path_factory.mktemp(name)
        out[name] = shapes.make(name, folder, records=RECORDS, seed=7)
    return out


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _records(config: Path) -> dict[str, list[dict]]:
    """Rows per source, each with its true person as `_person`."""
    spec = yaml.safe_load(config.read_text())
    truth = {(r["source"], r["source_record_id"]): r["person_id"] for r in _read(config.parent / "truth.csv")}
    out = {}
    for name, source in spec["sources"].items():
        if source.get("kind") == "events":
            continue
        rows = _read(config.parent / source["path"])
        for row in rows:
            row["_person"] = truth[(name, row[source["id"]])]
        out[name] = rows
    return out


def _column(config: Path, source: str, field: str) -> str:
    return yaml.safe_load(config.read_text())["sources"][source]["columns"][field]


@pytest.mark.parametrize("name", [s for s in shapes.SHAPES if s != "big"])
def test_each_shape_writes_sources_truth_and_a_plain_project(made, name):
    config, truth = made[name]
    project = Project.load(config)  # a valid project file
    spec = yaml.safe_load(config.read_text())
    assert spec["lakehouse"] == "./lakehouse"
    assert set(spec) == {"lakehouse", "sources"}
    for source in spec["sources"].values():
        assert set(source) <= {"path", "id", "columns", "attributes"}  # mapping only: no tuning
    truth_rows = _read(truth)
    assert list(truth_rows[0]) == ["source", "source_record_id", "person_id"]
    keys = [(r["source"], r["source_record_id"]) for r in truth_rows]
    assert len(keys) == len(set(keys)) == RECORDS
    records = _records(config)  # every record has a truth row (KeyError otherwise)
    assert sum(len(rows) for rows in records.values()) == RECORDS
    for name_, rows in records.items():
        header = set(rows[0])
        for column in spec["sources"][name_]["columns"].values():
            assert column in header
    assert project.config.sources


def test_big_is_the_demo_generator(made):
    config, truth = made["big"]
    project = Project.load(config)
    assert set(project.config.sources) >= {"crm", "shop", "newsletter"}
    assert abs(len(_read(truth)) - RECORDS) < RECORDS * 0.15


def test_shapes_are_reproducible(tmp_path):
    a = shapes.make("twins", tmp_path / "a", records=500, seed=3)
    b = shapes.make("twins", tmp_path / "b", records=500, seed=3)
    c = shapes.make("twins", tmp_path / "c", records=500, seed=4)
    assert (a[0].parent / "crm.csv").read_bytes() == (b[0].parent / "crm.csv").read_bytes()
    assert (a[0].parent / "crm.csv").read_bytes() != (c[0].parent / "crm.csv").read_bytes()


def _field_disagreement(records: dict[str, list[dict]], columns: list[str]) -> float:
    """Share of (pair of records of one person, field) whose values differ."""
    by_person = defaultdict(list)
    for rows in records.values():
        for row in rows:
            by_person[row["_person"]].append(row)
    differ = total = 0
    for rows in by_person.values():
        for k in range(1, len(rows)):
            for c in columns:
                total += 1
                differ += (rows[0][c] or "").lower() != (rows[k][c] or "").lower()
    return differ / total


@pytest.mark.parametrize("name, parties, low, high", [("voter_lists", 5, 0.4, 0.7),
                                                      ("voter_field_typos", 5, 0.4, 0.7),
                                                      ("voter_lists_heavy", 5, 0.7, 0.95),
                                                      ("voter_field_typos_heavy", 5, 0.7, 0.95),
                                                      ("many_parties", 20, 0.2, 0.55)])
def test_parties_hold_each_person_once(made, name, parties, low, high):
    config, _ = made[name]
    records = _records(config)
    assert len(records) == parties
    for rows in records.values():
        people = [r["_person"] for r in rows]
        assert len(people) == len(set(people))
    sizes = Counter(r["_person"] for rows in records.values() for r in rows)
    assert max(sizes.values()) <= parties
    if name.startswith("voter"):
        assert set(yaml.safe_load(config.read_text())["sources"]["party0"]["columns"]) == {
            "first_name", "last_name", "city", "postcode"}
        assert abs(len(sizes) - RECORDS * 0.72) < 2  # 18,000 people per 25,000 records
        assert all(abs(len(rows) - RECORDS / 5) < RECORDS / 5 * 0.15 for rows in records.values())
    # About a third (voter_lists) / over half (heavy) of each field's values corrupted:
    # two records of a person disagree in a field when either was corrupted.
    assert low < _field_disagreement(records, ["given_name", "surname", "city", "zip"]) < high


def test_voter_field_typos_only_mistype_values_never_drop_them(made):
    config, _ = made["voter_field_typos"]
    rows = [r for rows in _records(config).values() for r in rows]
    assert all(r[c] for r in rows for c in ("given_name", "surname", "city", "zip"))


def test_historical_dates_are_19th_century_and_ages_consistent(made):
    config, _ = made["historical"]
    records = _records(config)
    assert set(records) == {"census", "parish"}
    consistent = checked = 0
    sizes = Counter()
    for rows in records.values():
        for row in rows:
            sizes[row["_person"]] += 1
            if not row["birth_date"]:
                continue
            year = int(row["birth_date"][-4:])
            assert year < 1900, row
            checked += 1
            consistent += abs(int(row["event_year"]) - int(row["age"]) - year) <= 6
    assert consistent / checked > 0.9
    assert 8 <= max(sizes.values()) <= 25
    spec = yaml.safe_load(config.read_text())["sources"]["census"]
    assert set(spec["columns"]) == {"first_name", "last_name", "date_of_birth", "gender", "postcode"}
    assert set(spec["attributes"]) == {"birthplace", "occupation"}


def _share_of_people_sharing(records: dict[str, list[dict]], key) -> float:
    """Share of people with a record whose key values another person's record also has."""
    groups = defaultdict(set)
    for rows in records.values():
        for row in rows:
            k = key(row)
            if all(k):
                groups[tuple(v.lower() for v in k)].add(row["_person"])
    people = {r["_person"] for rows in records.values() for r in rows}
    sharing = set().union(*[g for g in groups.values() if len(g) > 1])
    return len(sharing) / len(people)


def test_twins_share_dob_and_surname(made):
    config, _ = made["twins"]
    records = _records(config)
    share = _share_of_people_sharing(records, lambda r: (r["last_name"], r["dob"], r["postcode"]))
    assert share > 0.3
    # and twins' first names differ: no two people share every name, dob and postcode often
    assert _share_of_people_sharing(records, lambda r: (r["first_name"], r["last_name"], r["dob"],
                                                        r["postcode"])) < 0.05


def test_households_share_address_and_surname(made):
    config, _ = made["households"]
    share = _share_of_people_sharing(_records(config), lambda r: (r["last_name"], r["address"], r["postcode"]))
    assert share > 0.3


def test_names_email_has_placeholders_shared_by_many(made):
    config, _ = made["names_email"]
    records = _records(config)
    by_email = defaultdict(set)
    for rows in records.values():
        for row in rows:
            if row["email"]:
                by_email[row["email"].lower()].add(row["_person"])
    assert len(by_email["noemail@example.com"]) >= 10
    families = [e for e, p in by_email.items() if len(p) > 1 and "example" not in e and "family" in e]
    assert families
    assert set(yaml.safe_load(config.read_text())["sources"]["shop"]["columns"]) == {"first_name", "last_name",
                                                                                     "email"}


def test_common_names_are_common(made):
    config, _ = made["common_names"]
    records = _records(config)
    rows = [r for rs in records.values() for r in rs]
    firsts = {n for n, _ in Counter(r["first_name"] for r in rows).most_common(20)}
    lasts = {n for n, _ in Counter(r["last_name"] for r in rows).most_common(20)}
    assert sum(r["first_name"] in firsts and r["last_name"] in lasts for r in rows) / len(rows) > 0.25
    assert 0.15 < sum(not r["birth_date"] for r in rows) / len(rows) < 0.35
    assert 0.25 < sum(not r["email"] for r in rows) / len(rows) < 0.45


def test_heavy_typos_differ_in_several_fields(made):
    config, _ = made["heavy_typos"]
    fields = ["first_name", "last_name", "dob", "address", "postcode", "email", "phone"]
    assert _field_disagreement(_records(config), fields) > 0.45


def test_date_conventions_write_three_formats(made):
    config, _ = made["date_conventions"]
    records = _records(config)
    patterns = {"uk_branch": r"\d\d/\d\d/\d{4}", "us_branch": r"\d\d/\d\d/\d{4}", "warehouse": r"\d{4}-\d\d-\d\d"}
    for source, pattern in patterns.items():
        values = [r["date_of_birth"] for r in records[source] if r["date_of_birth"]]
        assert sum(bool(re.fullmatch(pattern, v)) for v in values) / len(values) > 0.95
    uk_days = [int(v[:2]) for v in (r["date_of_birth"] for r in records["uk_branch"]) if v and re.fullmatch(
        r"\d\d/\d\d/\d{4}", v)]
    assert sum(d > 12 for d in uk_days) / len(uk_days) > 0.4  # day first
    us_months = [int(v[:2]) for v in (r["date_of_birth"] for r in records["us_branch"]) if v and re.fullmatch(
        r"\d\d/\d\d/\d{4}", v)]
    assert sum(m <= 12 for m in us_months) / len(us_months) > 0.95  # month first


def test_international_has_accents_and_many_countries(made):
    config, _ = made["international"]
    rows = [r for rs in _records(config).values() for r in rs]
    assert sum(any(ord(c) > 127 for c in (r["given_name"] or "") + (r["family_name"] or "")) for r in rows) > 50
    assert len({r["country"] for r in rows}) > 30  # 16 countries, each written several ways
    assert any((r["phone"] or "").startswith("+49") for r in rows)
    assert any(re.fullmatch(r"\d\d-\d{3}", r["postal_code"] or "") for r in rows)  # Polish postcodes


def test_census_ssn_sources_households_and_cluster_sizes(made):
    config, _ = made["census_ssn"]
    records = _records(config)
    assert set(records) == {"census", "social_security", "payroll"}
    assert "ssn" not in records["census"][0]
    assert any(not r["ssn"] for r in records["payroll"])
    sizes = Counter(r["_person"] for rs in records.values() for r in rs)
    assert max(sizes.values()) <= 8
    census = Counter(r["_person"] for r in records["census"])
    assert max(census.values()) >= 2  # duplicates within a source
    spec = yaml.safe_load(config.read_text())["sources"]
    assert spec["payroll"]["attributes"] == ["ssn"]
    assert spec["census"]["columns"]["middle_name"] == "middle_initial"
    share = _share_of_people_sharing(records, lambda r: (r["last_name"], r["street_address"], r["zipcode"]))
    assert share > 0.3


def test_typo_makes_one_plausible_edit():
    import random

    from rapidfuzz.distance import Levenshtein
    r = random.Random(1)
    for word in ("Catherine", "Smith", "27513", "winston salem"):
        for _ in range(50):
            out = shapes.typo(word, r)
            assert out != word
            assert Levenshtein.distance(out, word) <= 3  # OCR 'm' -> 'rn' and phonetic swaps are two or three


@pytest.mark.parametrize("name", ["common_names", "international"])
def test_namesakes_never_share_a_personal_address(made, name):
    # a mail provider gives an address once: two Sarah Browns are sarahbrown@ and sarahbrown27@
    config, _ = made[name]
    owners = defaultdict(set)
    for source, rows in _records(config).items():
        column = _column(config, source, "email")
        for row in rows:
            if row[column]:
                owners[row[column].lower()].add(row["_person"])
    assert owners and all(len(people) == 1 for people in owners.values())
