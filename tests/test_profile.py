"""Profile: exact counts, shapes and spreads of every source column, no personal value shown."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import textwrap
from datetime import date, datetime
from types import SimpleNamespace

import pyarrow as pa
import pytest
import yaml

from conftest import CRM_CSV, SHOP_CSV, TWO_SOURCES_YAML
from scv import profile as profiling
from scv.config import ProjectConfig
from scv.engine import create_engine
from scv.lakehouse import Lakehouse
from scv.quality_tables import PROFILE_SCHEMA

LOYALTY = pa.table({  # a typed source, as Parquet or Delta would give it
    "member_no": pa.array([1, 2, 3, 4, None], pa.int64()),
    "points": pa.array([10.5, 0.25, 2.25, None, 7.0]),
    "joined": pa.array([date(2020, 1, 1), date(2021, 6, 15), date(2021, 6, 15), None, date(2024, 2, 29)]),
    "last_seen": pa.array([datetime(2024, 1, 1, 12, 30), None, datetime(2024, 1, 2), datetime(2024, 1, 2),
                           datetime(2023, 12, 31, 23, 59, 59)], pa.timestamp("us")),
    "birth_date": pa.array([date(1980, 2, 1), date(1975, 12, 24), None, date(1990, 7, 7), date(1990, 7, 7)]),
    "vip": pa.array([True, False, None, True, True]),
})
LOYALTY_SOURCE = {
    "path": "loyalty.parquet", "id": "member_no", "updated_at": "last_seen",
    "columns": {"date_of_birth": "birth_date", "created_at": "joined"}, "attributes": ["vip", "points"],
}


def text_table(csv_text: str) -> pa.Table:
    """A CSV as scv reads it: every column text, empty fields null."""
    rows = list(csv.reader(io.StringIO(csv_text)))
    return pa.table({name: pa.array([r[i] or None for r in rows[1:]], pa.string())
                     for i, name in enumerate(rows[0])})


def as_bronze(table: pa.Table) -> pa.Table:
    """scv's own columns added, as ingest adds them: they are not profiled."""
    hashes = [hashlib.md5(repr(r).encode()).hexdigest() for r in table.to_pylist()]
    return table.append_column("_source", pa.array(["x"] * table.num_rows)).append_column(
        "_row_hash", pa.array(hashes))


def run_on(engine, folder, sources: dict[str, dict], bronze: dict[str, pa.Table]):
    """The parts of a run the profile stage reads: config, engine, lakehouse and run id."""
    for name, table in bronze.items():
        engine.read_arrow(f"bronze_{name}", as_bronze(table))
    config = ProjectConfig.model_validate({"sources": sources})
    return SimpleNamespace(config=config, engine=engine, lakehouse=Lakehouse(folder), run_id="run-1")


def sample_sources() -> tuple[dict[str, dict], dict[str, pa.Table]]:
    sources = yaml.safe_load(textwrap.dedent(TWO_SOURCES_YAML))["sources"]
    sources["loyalty"] = LOYALTY_SOURCE
    return sources, {"crm": text_table(CRM_CSV), "shop": text_table(SHOP_CSV), "loyalty": LOYALTY}


def by_column(table: pa.Table) -> dict[tuple[str, str], dict]:
    return {(r["source"], r["column"]): r for r in table.to_pylist()}


@pytest.fixture(scope="module")
def profile_of(tmp_path_factory):
    """The CRM, the web shop and a typed loyalty source, profiled once per engine: (run, table)."""
    done = {}

    def profile_of(engine):
        if engine.name not in done:
            run = run_on(engine, tmp_path_factory.mktemp(engine.name), *sample_sources())
            done[engine.name] = run, profiling.profile(run)
        return done[engine.name]

    return profile_of


@pytest.fixture(scope="module")
def profiled(engine, profile_of):
    return profile_of(engine)


@pytest.fixture(scope="module")
def rows(profiled):
    return by_column(profiled[1])


def test_every_source_column_is_profiled_and_scv_columns_are_not(profiled):
    run, table = profiled
    assert table.schema == PROFILE_SCHEMA
    assert set(table["run_id"].to_pylist()) == {run.run_id}
    _, bronze = sample_sources()
    assert [(r["source"], r["column"]) for r in table.to_pylist()] == [
        (name, column) for name, data in bronze.items() for column in data.column_names]


def test_completeness_and_distinct_counts_are_exact(rows):
    email = rows["crm", "emailaddress1"]
    assert (email["row_count"], email["non_null"], email["distinct_count"]) == (3, 2, 2)
    assert email["completeness"] == pytest.approx(2 / 3) and email["uniqueness"] == 1.0
    dob = rows["loyalty", "birth_date"]
    assert (dob["row_count"], dob["non_null"], dob["distinct_count"]) == (5, 4, 3)
    assert dob["completeness"] == 0.8 and dob["uniqueness"] == 0.75


@pytest.mark.parametrize("value, shape", [
    ("John Smith", "Aa+ Aa+"),
    ("07700 900123", "99999 999999"),
    ("+44 7700 900456", "+99 9999 999999"),
    ("rob.smith@example.com", "a+.a+@a+.a+"),
    ("Rob.Smith@Example.COM", "Aa+.Aa+@Aa+.A+"),
    ("McDONALD", "AaA+"),
    ("Zoë Łukasz", "Aa+ Aa+"),
    ("ÉLODIE", "A+"),
    ("李小龍", "a+"),
    ("SW1A 1AA", "A+9A 9A+"),
    ("x", "a"),
])
def test_patterns_show_shape_not_content(engine, value, shape):
    engine.read_arrow("v", pa.table({"x": pa.array([value], pa.string())}))
    assert engine.rows(f"select {profiling.pattern(engine.dialect, 'x')} from v")[0][0] == shape


def test_patterns_are_counted_against_non_null_values(rows):
    assert json.loads(rows["crm", "firstname"]["patterns"]) == [{"pattern": "Aa+", "count": 3, "share": 1.0}]
    assert json.loads(rows["shop", "email"]["patterns"]) == [
        {"pattern": "A+.A+@A+.A+", "count": 1, "share": 0.333333},
        {"pattern": "a+.a+@a+.a+", "count": 1, "share": 0.333333},
        {"pattern": "a+@a+.a+", "count": 1, "share": 0.333333},
    ]
    assert json.loads(rows["crm", "emailaddress1"]["patterns"])[0]["share"] == 0.5  # 1 of 2, not of 3


def test_personal_columns_never_show_a_value(profiled, rows):
    _, bronze = sample_sources()
    personal = [(s, c) for (s, c), r in rows.items() if r["personal"]]
    assert {c for _, c in personal} >= {
        "firstname", "emailaddress1", "mobilephone", "birth_date", "post_code"}
    for source, column in personal:
        row = rows[source, column]
        shown = json.dumps(row)
        for value in bronze[source][column].to_pylist():
            if value is not None:
                assert str(value) not in shown, (source, column)
        assert row["min"] is row["max"] is row["mean"] is row["median"] is row["stddev"] is None
        top = json.loads(row["top_values"])
        assert top and all(t["value"] is None and t["count"] >= 1 for t in top)


def test_other_columns_show_their_top_values(rows):
    assert json.loads(rows["crm", "donotemail"]["top_values"]) == [
        {"value": "false", "count": 2, "share": 0.666667}, {"value": "true", "count": 1, "share": 0.333333}]
    assert [(t["value"], t["count"]) for t in json.loads(rows["loyalty", "vip"]["top_values"])] == [
        ("true", 3), ("false", 1)]
    assert rows["crm", "donotemail"]["canonical_field"] is None
    assert rows["crm", "modifiedon"]["canonical_field"] == "updated_at"


def test_text_holding_numbers_or_dates_gets_their_statistics(rows):
    ids = rows["shop", "customer_id"]
    assert ids["data_type"].lower() in ("varchar", "string")
    assert (ids["min"], ids["max"], ids["mean"], ids["median"]) == ("101", "103", "102", "102")
    assert ids["stddev"] == 1.0
    changed = rows["crm", "modifiedon"]
    assert (changed["min"], changed["max"], changed["median"]) == ("2024-01-01", "2024-03-01", "2024-02-01")
    assert changed["stddev"] == pytest.approx(30.0056, abs=1e-4)  # days
    mixed = rows["crm", "contactid"]  # c1, c2, c3: text, so lengths only
    assert mixed["min"] is None and (mixed["min_length"], mixed["max_length"]) == (2, 2)


def test_typed_numbers_and_dates_get_statistics(rows):
    points = rows["loyalty", "points"]
    assert (points["min"], points["max"], points["mean"], points["median"]) == ("0.25", "10.5", "5", "4.625")
    member = rows["loyalty", "member_no"]
    assert (member["min"], member["max"], member["median"]) == ("1", "4", "2.5")
    assert member["stddev"] == pytest.approx(1.290994449)
    joined = rows["loyalty", "joined"]
    assert (joined["min"], joined["max"], joined["median"]) == ("2020-01-01", "2024-02-29", "2021-06-15")
    seen = rows["loyalty", "last_seen"]
    assert (seen["min"], seen["max"]) == ("2023-12-31 23:59:59", "2024-01-02 00:00:00")


def test_histograms_count_every_non_null_value_in_ten_bins(rows):
    for key in [("loyalty", "points"), ("loyalty", "joined"), ("shop", "customer_id"), ("crm", "firstname")]:
        bins = json.loads(rows[key]["histogram"])
        assert len(bins) == 10 and sum(b["count"] for b in bins) == rows[key]["non_null"], key
    points = json.loads(rows["loyalty", "points"]["histogram"])
    assert (points[0]["low"], points[-1]["high"]) == (0.25, 10.5)
    assert [b["count"] for b in points] == [1, 1, 0, 0, 0, 0, 1, 0, 0, 1]  # 0.25, 2.25, 7.0, 10.5


def test_nan_and_infinity_are_left_out_of_number_statistics(engine, tmp_path):
    spend = pa.table({"id": ["a", "b", "c", "d"], "spend": [1.0, float("nan"), float("inf"), 3.0]})
    run = run_on(engine, tmp_path, {"web": {"path": "web.parquet", "id": "id"}}, {"web": spend})
    row = by_column(profiling.profile(run))["web", "spend"]
    assert (row["non_null"], row["min"], row["max"], row["mean"]) == (4, "1", "3", "2")
    assert sum(b["count"] for b in json.loads(row["histogram"])) == 2


def test_each_run_appends_its_profile_to_the_audit_table(engine, tmp_path):
    run = run_on(engine, tmp_path, {"web": {"path": "web.csv", "id": "id"}},
                 {"web": pa.table({"id": ["w1", "w2"]})})
    first = profiling.profile(run)
    second = profiling.profile(SimpleNamespace(**{**vars(run), "run_id": "run-2"}))
    audit = run.lakehouse.read_table("audit/profiles")
    assert audit.schema == PROFILE_SCHEMA
    assert sorted(audit.to_pylist(), key=lambda r: r["run_id"]) == first.to_pylist() + second.to_pylist()


def test_patterns_of_a_large_source_come_from_a_sample(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(profiling, "PATTERN_SAMPLE", 4)  # 8 rows: those whose hash is below 8000...
    names = pa.table({"first_name": ["Ann", "BOB", "Cy", "dee", "Eve", "Fay", "Gus", "Hal"]})
    run = run_on(engine, tmp_path, {"web": {"path": "web.csv", "id": "first_name"}}, {})
    hashes = [f"{h:x}" * 32 for h in (0, 1, 2, 3, 0xa, 0xb, 0xc, 0xd)]  # the first four are sampled
    engine.read_arrow("bronze_web", names.append_column("_row_hash", pa.array(hashes)))
    row = profiling.profile(run).to_pylist()[0]
    assert (row["non_null"], row["distinct_count"]) == (8, 8)  # exact, not sampled
    assert json.loads(row["patterns"]) == [
        {"pattern": "A+", "count": 1, "share": 0.25}, {"pattern": "Aa", "count": 1, "share": 0.25},
        {"pattern": "Aa+", "count": 1, "share": 0.25}, {"pattern": "a+", "count": 1, "share": 0.25}]


@pytest.mark.spark
def test_both_engines_give_the_same_profile(profile_of, spark_engine):
    duck = create_engine("duckdb")
    try:
        profiles = [by_column(profile_of(e)[1]) for e in (duck, spark_engine)]
    finally:
        duck.close()
    for row in (r for p in profiles for r in p.values()):
        row.pop("data_type")  # VARCHAR / string: each engine names its types
    assert profiles[0] == profiles[1]
