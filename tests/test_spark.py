"""The Spark engine: the same project file gives the same lakehouse as on DuckDB."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable
from typer.testing import CliRunner

from conftest import (
    CENSUS_CSV, CRM_CSV, EVENTS_FILES, EVENTS_YAML, HISTORICAL_YAML, PARISH_CSV, SHARED_DATA, SHOP_CSV,
    TWO_SOURCES_YAML, write_project,
)
from scv import Project
from scv.cli import app
from scv.engine import create_engine
from scv.lakehouse import Lakehouse

pytestmark = pytest.mark.spark
RUN_COLUMNS = {"_batch_id", "_ingested_at", "_run_id"}  # differ between any two runs


def rows(project: Project, name: str, drop=RUN_COLUMNS) -> list[dict]:
    """A table's rows without run-specific columns, in a fixed order."""
    table = project.lakehouse.read_table(name)
    table = table.select([c for c in table.column_names if c not in drop])
    return sorted(table.to_pylist(), key=repr)


@pytest.fixture(scope="module")
def two_sources_on_both(tmp_path_factory, spark_engine):
    """The CRM + shop project with bad rows, run by `scv run` on DuckDB and `--engine spark`."""
    crm = CRM_CSV + "c9,Too,Many,,,,,,,extra,fields\n,NoId,Person,,,,,,\n" + CRM_CSV.splitlines()[1] + "\n"
    projects = {}
    for engine in ("duckdb", "spark"):
        folder = tmp_path_factory.mktemp(engine)
        config = write_project(folder, TWO_SOURCES_YAML, {"crm.csv": crm, "shop.csv": SHOP_CSV})
        result = CliRunner().invoke(app, ["run", "--config", str(config), "--engine", engine])
        assert result.exit_code == 0, result.output
        projects[engine] = Project.load(config)
    return projects["duckdb"], projects["spark"]


def test_run_on_spark_writes_the_same_tables(two_sources_on_both):
    duck, spark = two_sources_on_both
    assert spark.lakehouse.tables() == duck.lakehouse.tables()
    assert spark.status().last_run["engine"] == "spark"


def test_run_on_spark_accounts_for_every_row_as_duckdb_does(two_sources_on_both):
    duck, spark = two_sources_on_both
    assert spark.status().last_run["per_source"] == duck.status().last_run["per_source"] == {
        "crm": {"ingested": 6, "quarantined": 3, "silver": 3},
        "shop": {"ingested": 3, "quarantined": 0, "silver": 3},
    }


def test_malformed_lines_are_quarantined_with_file_and_line_on_spark(two_sources_on_both):
    duck, spark = two_sources_on_both
    def where(project):
        return sorted([(r["_file"], r["_line"], r["_reason"].split(":")[0], r["_record_id"])
                       for r in rows(project, "quarantine/crm")], key=repr)
    assert where(spark) == where(duck) == [
        ("crm.csv", 5, "malformed CSV line", None),
        (None, None, "exact duplicate of another row", "c1"),
        (None, None, "missing record id (column contactid)", None),
    ]


@pytest.mark.parametrize("table", ["silver/records", "gold/customers", "gold/customer_xref"])
def test_silver_and_gold_are_the_same_on_both_engines(two_sources_on_both, table):
    duck, spark = two_sources_on_both
    assert rows(spark, table) == rows(duck, table)


def test_validation_results_are_the_same_on_both_engines(two_sources_on_both):
    duck, spark = two_sources_on_both
    assert rows(spark, "audit/validation_results", drop={"run_id"}) == rows(
        duck, "audit/validation_results", drop={"run_id"})


@pytest.fixture(scope="module")
def fake_1000_on_both(tmp_path_factory, spark_engine):
    data = SHARED_DATA / "fake_1000.csv"
    if not data.exists():
        pytest.skip(f"shared data not found at {data}")
    projects = []
    for engine in ("duckdb", "spark"):
        config = write_project(tmp_path_factory.mktemp(engine), f"""\
            lakehouse: ./lakehouse
            engine: {engine}
            sources:
              people:
                path: {data}
                id: unique_id
                columns: {{first_name: first_name, last_name: surname, date_of_birth: dob,
                           city: city, email: email}}
            """, {})
        project = Project.load(config)
        project.run()
        projects.append(project)
    return projects


def test_fake_1000_gives_the_same_clusters_on_both_engines(fake_1000_on_both):
    duck, spark = fake_1000_on_both
    xref = ["record_key", "customer_id", "golden_record", "most_complete", "most_recent", "duplicate"]
    assert rows(spark, "gold/customer_xref") == rows(duck, "gold/customer_xref")
    assert len({r["customer_id"] for r in rows(spark, "gold/customer_xref")}) < 1000
    assert set(xref) <= set(spark.lakehouse.read_table("gold/customer_xref").column_names)


def test_fake_1000_gives_the_same_golden_records_on_both_engines(fake_1000_on_both):
    duck, spark = fake_1000_on_both
    assert rows(spark, "gold/customers") == rows(duck, "gold/customers")


def test_fake_1000_pair_probabilities_agree_to_1e6(fake_1000_on_both):
    duck, spark = fake_1000_on_both
    a, b = duck.lakehouse.read_table("silver/pairs"), spark.lakehouse.read_table("silver/pairs")
    [(only_one, worst, both)] = duckdb.sql("""
        select count(*) filter (where a.record_key_l is null or b.record_key_l is null),
               max(abs(a.match_probability - b.match_probability)), count(*)
        from a full join b using (record_key_l, record_key_r)""").fetchall()
    assert only_one == 0 and both == a.num_rows > 1000
    assert worst < 1e-6


def test_the_homes_are_weighed_alike_on_both_engines(spark_engine, tmp_path):
    # twins share a surname, birthday, street and phone: only their own first names part them
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import shapes

    found = []
    for engine in ("duckdb", "spark"):
        config, _ = shapes.make("twins", tmp_path / engine, records=1_000, seed=7)
        config.write_text(config.read_text() + f"engine: {engine}\n")
        project = Project.load(config)
        project.run()
        facts = json.loads(project.lakehouse.read_table("audit/runs")["linkage"][-1].as_py())
        found.append(({k: facts.get(k) for k in ("home_pairs", "home_share_one_person", "home_links_undone")},
                      rows(project, "gold/customer_xref")))
    (duck, duck_xref), (spark, spark_xref) = found
    assert duck["home_links_undone"] > 50 and spark == duck
    assert spark_xref == duck_xref


def test_a_spark_written_table_is_plain_delta_for_every_reader(spark_engine, tmp_path):
    lake = Lakehouse(tmp_path)
    spark_engine.create("people", "select id, concat('person ', id) as name from range(5)")
    spark_engine.publish("people", lake, "silver/people", "run-1")
    assert DeltaTable(lake.path("silver/people")).history(1)[0]["scv.run_id"] == "run-1"
    assert lake.read_table("silver/people").num_rows == 5
    assert duckdb.from_arrow(lake.read("silver/people")).count("*").fetchone()[0] == 5
    spark_engine.load("people_again", lake, "silver/people")
    assert spark_engine.count("people_again") == 5


def test_a_spark_written_table_can_be_erased_and_vacuumed(spark_engine, tmp_path):
    """Erasure runs through delta-rs, whichever engine wrote the table."""
    lake = Lakehouse(tmp_path)
    spark_engine.create("people", "select id, concat('person-', id, '@example.com') as email from range(4)")
    spark_engine.publish("people", lake, "silver/people", "run-1")
    table = DeltaTable(lake.path("silver/people"))
    table.delete("id = 2")
    table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    spark_engine.load("people_left", lake, "silver/people")
    assert sorted(r[0] for r in spark_engine.rows("select id from people_left")) == [0, 1, 3]
    data = b"".join(p.read_bytes() for p in Path(tmp_path, "silver/people").rglob("*.parquet"))
    assert b"person-2@" not in data


def test_an_overwrite_may_change_the_schema(spark_engine, tmp_path):
    lake = Lakehouse(tmp_path)
    spark_engine.create("t", "select 1 as a")
    spark_engine.publish("t", lake, "gold/t", "run-1")
    spark_engine.create("t", "select 'x' as b, cast(null as date) as c")
    spark_engine.publish("t", lake, "gold/t", "run-2")
    assert lake.read_table("gold/t").to_pylist() == [{"b": "x", "c": None}]


def test_the_active_session_is_used_and_work_files_go_with_the_engine(spark_engine, tmp_path):
    from pyspark.sql import SparkSession

    engine = create_engine("spark", work_dir=tmp_path / "_spark")
    assert engine.spark is SparkSession.getActiveSession() is spark_engine.spark
    engine.read_arrow("secret", pa.table({"email": ["someone@example.com"]}))
    assert any((tmp_path / "_spark").rglob("*.parquet"))
    engine.close()
    assert not any((tmp_path / "_spark").rglob("*.parquet"))


def test_a_spark_sql_error_does_not_quote_values(spark_engine):
    from scv.errors import ScvError

    spark_engine.read_arrow("v", pa.table({"x": ["Jane Doe"]}))
    with pytest.raises(ScvError) as err:
        spark_engine.rows("select cast(x as int) from v")
    assert "Jane" not in str(err.value) and "CAST_INVALID_INPUT" in str(err.value)


def test_jaro_winkler_on_spark_is_duckdbs_to_the_last_bit(spark_engine):
    """Splink's comparison levels cut at similarity thresholds: a last-bit difference moves a pair."""
    names = ["martha", "marhta", "dwayne", "duane", "dixon", "dicksonx", "zoë", "zoe", "müller",
             "mueller", "straße", "strasse", "", "o'neil", "oneill", "jean-luc", "jeanluc", None]
    pairs = pa.table({"s": [a for a in names for _ in names], "t": [b for _ in names for b in names]})
    spark_engine.read_arrow("name_pairs", pairs)
    query = "select s, t, jaro_winkler(s, t), jaro_sim(s, t) from name_pairs"
    spark_engine.splink_api()  # registers scv's functions in place of the jar's
    on_spark = sorted(spark_engine.rows(query), key=repr)
    name_pairs = pairs  # noqa: F841 - DuckDB reads the Arrow table by its Python name
    on_duckdb = sorted(duckdb.sql(query.replace("jaro_winkler(", "jaro_winkler_similarity(")
                                  .replace("jaro_sim(", "jaro_similarity(")).fetchall(), key=repr)
    assert on_spark == on_duckdb


def test_one_digit_apart_on_spark_is_duckdbs(spark_engine):
    """Spark has no hamming: scv's function stands in, and the level gives DuckDB's verdicts."""
    from scv.link import one_edit

    texts = ["1961-03-07", "1961-07-03", "1961-03-08", "1916-03-07", "07700900123", "07700900124",
             "0770090012", "077009001234", "", None]
    pairs = pa.table({"l": [a for a in texts for _ in texts], "r": [b for _ in texts for b in texts]})
    spark_engine.read_arrow("phone_pairs", pairs)
    spark_engine.splink_api()  # registers scv's functions
    query = f"select l, r, {one_edit('l', 'r')} from phone_pairs"
    on_spark = sorted(spark_engine.rows(query), key=repr)
    phone_pairs = pairs  # noqa: F841 - DuckDB reads the Arrow table by its Python name
    assert on_spark == sorted(duckdb.sql(query).fetchall(), key=repr)


def test_a_forgotten_person_stays_out_of_a_run_on_spark(tmp_path, spark_engine, monkeypatch):
    """Suppression at ingest is engine SQL plus a small table of keyed hashes: Spark too."""
    monkeypatch.setenv("SCV_ERASURE_KEY", "test-key-not-secret")
    project = Project.load(write_project(tmp_path, TWO_SOURCES_YAML, {"crm.csv": CRM_CSV, "shop.csv": SHOP_CSV}))
    project.run()
    project.forget(email="rob.smith@example.com")
    result = Project.load(tmp_path / "scv.yaml", engine="spark").run()
    assert result.engine == "spark"
    assert {s: c["suppressed"] for s, c in result.per_source.items()} == {"crm": 1, "shop": 1}
    keys = set(project.lakehouse.read_table("silver/records")["record_key"].to_pylist())
    assert "crm:c1" not in keys and "shop:101" not in keys and "crm:c2" in keys



def test_events_and_customer_metrics_are_the_same_on_spark(tmp_path, spark_engine):
    """silver/events, the quarantined events and gold/customer_metrics (ntile, epoch days) on both engines."""
    projects = []
    for engine in ("duckdb", "spark"):
        (tmp_path / engine).mkdir()
        config = write_project(tmp_path / engine, EVENTS_YAML, EVENTS_FILES)
        result = Project.load(config, engine=engine).run()
        assert result.per_source["orders"] == {"ingested": 7, "quarantined": 3, "silver": 4, "unmatched_events": 1}
        projects.append(Project.load(config))
    duck, spark = projects
    for name in ("silver/events", "quarantine/orders"):
        assert rows(spark, name) == rows(duck, name)
    drop = {"recency_days"}  # counted from each run's own start
    assert rows(spark, "gold/customer_metrics", drop) == rows(duck, "gold/customer_metrics", drop)
    assert {m["event_count"] for m in rows(spark, "gold/customer_metrics")} == {0, 2, 3}


def test_a_model_trained_on_spark_is_reused_on_spark_without_training(two_sources_on_both):
    _, spark = two_sources_on_both
    trained = spark.status().last_run["run_id"]
    config = spark.base_dir / "reuse.yaml"
    config.write_text(textwrap.dedent(TWO_SOURCES_YAML).replace("./lakehouse", "./reused")
                      + f"linkage:\n  model: lakehouse/models/{trained}.json\n")
    reused = Project.load(config, engine="spark")
    result = reused.run()

    assert rows(reused, "gold/customer_xref") == rows(spark, "gold/customer_xref")
    before, after = (json.loads(p.lakehouse.read_file(f"models/{run}.json"))
                     for p, run in ((spark, trained), (reused, result.run_id)))
    assert after["probability_two_random_records_match"] == before["probability_two_random_records_match"]
    assert [c["comparison_levels"] for c in after["comparisons"]] == [
        c["comparison_levels"] for c in before["comparisons"]]
    assert not [w for w in result.warnings if "training step" in w]


def test_stable_customer_ids_on_spark_are_duckdbs(tmp_path, spark_engine):
    """The same lakehouse, re-run on either engine after a split: the same ids and history.

    crm:c1 leaves Robert's customer; its new id is the second attempt for its record key
    (the first is Robert's own id), so Spark's md5, rounds and Delta reads are all checked.
    """
    robert = CRM_CSV.splitlines()[1]
    stranger = "c1,Yara,Vance,yv@example.org,07700 900333,1966-06-06,EC1A 1BB,2024-01-01,false"
    shop = SHOP_CSV + SHOP_CSV.splitlines()[1].replace("101,", "100,", 1) + "\n"
    results = {}
    for engine in ("duckdb", "spark"):
        config = write_project(tmp_path / engine, TWO_SOURCES_YAML, {"crm.csv": CRM_CSV, "shop.csv": shop})
        Project.load(config).run()
        (tmp_path / engine / "crm.csv").write_text(CRM_CSV.replace(robert, stranger))
        project = Project.load(config, engine=engine)
        project.run()
        results[engine] = (rows(project, "gold/customer_xref"),
                           rows(project, "gold/customer_id_history", drop={"run_id", "changed_at"}))
    assert results["spark"] == results["duckdb"]
    assert [r["change"] for r in results["spark"][1]].count("split") == 1


def test_survivorship_rules_flags_and_views_are_the_same_on_spark(tmp_path, spark_engine):
    """Every rule, its tie-break, the address group, lineage, flags and views, on both engines."""
    from test_golden import CRM, PROJECT, SHOP, run_on_known_clusters

    projects = []
    for engine in ("duckdb", "spark"):
        config = write_project(tmp_path / engine, PROJECT, {"crm.csv": CRM, "shop.csv": SHOP})
        project = Project.load(config, engine=engine)
        run_on_known_clusters(project)
        projects.append(project)
    duck, spark = projects
    gold = [t for t in duck.lakehouse.tables() if t.startswith("gold/") and t != "gold/customer_id_history"]
    assert len(gold) == 5 and spark.lakehouse.tables() == duck.lakehouse.tables()
    for table in gold:
        assert rows(spark, table) == rows(duck, table), table
    when = {"run_id", "changed_at"}  # of each lakehouse's own run
    assert rows(spark, "gold/customer_id_history", drop=when) == rows(duck, "gold/customer_id_history", drop=when)


def test_a_historical_date_of_birth_range_is_found_as_on_duckdb(tmp_path, spark_engine):
    """The range from the data (years counted in SQL) and silver's rule agree on both engines;
    0001-01-01 among the 19th-century dates is an outlier on both."""
    census = CENSUS_CSV + "c10,Ann,Day,0001-01-01,York\n"
    projects, warnings = [], []
    for engine in ("duckdb", "spark"):
        (tmp_path / engine).mkdir()
        config = write_project(tmp_path / engine, HISTORICAL_YAML, {"census.csv": census, "parish.csv": PARISH_CSV})
        warnings.append(Project.load(config, engine=engine).run().warnings)
        projects.append(Project.load(config))
    duck, spark = projects
    assert rows(spark, "silver/records") == rows(duck, "silver/records")
    born = {r["record_key"]: r["date_of_birth"] for r in rows(spark, "silver/records")}
    assert born["census:c10"] is None and sum(b is not None for b in born.values()) == 18
    assert [w for w in warnings[1] if "date-of-birth" in w] == [w for w in warnings[0] if "date-of-birth" in w]
