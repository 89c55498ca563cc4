"""Lakehouse tables loaded back into an engine: DuckDB reads a local table's Parquet files
itself, and gets what the Arrow path gives."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from deltalake.schema import Field

from scv.engine.base import Engine
from scv.engine.duckdb import DuckDBEngine
from scv.lakehouse import Lakehouse

RECORDS = pa.table({
    "record_key": ["crm:1", "crm:2", "shop:7"],
    "source": ["crm", "crm", "shop"],
    "first_name": ["ada", None, "grace"],
    "date_of_birth": [date(1815, 12, 10), None, date(1906, 12, 9)],
    "updated_at": pa.array([datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc), None,
                            datetime(2025, 6, 1, tzinfo=timezone.utc)], pa.timestamp("us", "UTC")),
    "_ingested_at": pa.array([datetime(2025, 1, 2, 3, 4, 5)] * 3, pa.timestamp("us")),
    "total_amount": pa.array([Decimal("12.50"), None, Decimal("0.01")], pa.decimal128(12, 2)),
    "orders": pa.array([3, None, 1], pa.int64()),
    "score": [0.5, None, 1.25],
    "consent": [True, False, None],
    "tags": [["vip"], [], None],
})


@pytest.fixture
def lake(tmp_path) -> Lakehouse:
    return Lakehouse(tmp_path / "lakehouse")


@pytest.fixture
def engine():
    engine = DuckDBEngine()
    yield engine
    engine.close()


def table_rows(engine: Engine, name: str) -> list[dict]:
    return engine.to_arrow(name).read_all().sort_by("record_key").to_pylist()


def test_a_table_loads_with_the_rows_and_types_arrow_gives(lake, engine):
    lake.write("silver/records", RECORDS, "r1")
    assert lake.plain_files("silver/records")  # its Parquet files hold it all
    engine.load("read_itself", lake, "silver/records")
    Engine.load(engine, "through_arrow", lake, "silver/records")
    assert engine.columns("read_itself") == engine.columns("through_arrow")
    assert table_rows(engine, "read_itself") == table_rows(engine, "through_arrow")
    assert len(table_rows(engine, "read_itself")) == 3


def test_a_table_the_engine_published_loads_as_it_was(lake, engine):
    engine.read_arrow("records", RECORDS)
    engine.publish("records", lake, "silver/records", "r1")
    engine.load("loaded", lake, "silver/records")
    assert engine.columns("loaded") == engine.columns("records")
    assert table_rows(engine, "loaded") == table_rows(engine, "records")


def test_only_the_columns_asked_for_are_loaded(lake, engine):
    lake.write("silver/records", RECORDS, "r1")
    engine.load("names", lake, "silver/records", ["record_key", "first_name"])
    assert [c for c, _ in engine.columns("names")] == ["record_key", "first_name"]
    assert table_rows(engine, "names") == [{"record_key": "crm:1", "first_name": "ada"},
                                           {"record_key": "crm:2", "first_name": None},
                                           {"record_key": "shop:7", "first_name": "grace"}]


def test_a_column_the_schema_gained_after_the_files_were_written_loads_as_nulls(lake, engine):
    lake.write("silver/records", RECORDS, "r1")
    DeltaTable(lake.path("silver/records")).alter.add_columns(Field("segment", "string", nullable=True))
    engine.load("loaded", lake, "silver/records")
    assert [c for c, _ in engine.columns("loaded")][-1] == "segment"
    assert engine.rows("select count(*), count(segment) from loaded") == [(3, 0)]


def test_a_partitioned_table_loads_its_partition_values(lake, engine):
    write_deltalake(lake.path("bronze/crm"), RECORDS.select(["record_key", "source"]), partition_by=["source"])
    assert lake.plain_files("bronze/crm") is None  # the values are in the log and the folder names
    engine.load("loaded", lake, "bronze/crm")
    assert [(r["record_key"], r["source"]) for r in table_rows(engine, "loaded")] == [
        ("crm:1", "crm"), ("crm:2", "crm"), ("shop:7", "shop")]


def test_an_empty_table_loads_with_its_columns(lake, engine):
    lake.write("silver/records", RECORDS.slice(0, 0), "r1")
    engine.load("loaded", lake, "silver/records")
    assert [c for c, _ in engine.columns("loaded")] == RECORDS.column_names
    assert engine.count("loaded") == 0


def test_two_engines_sharing_a_spill_folder_each_spill_into_their_own(tmp_path):
    # DuckDB names spill files alike in every process and clears its folder on starting:
    # two runs on one machine must not share one
    first, second = DuckDBEngine(temp_directory=tmp_path), DuckDBEngine(temp_directory=tmp_path)
    spills = [e.rows("select current_setting('temp_directory')")[0][0] for e in (first, second)]
    assert spills[0] != spills[1] and all(Path(s).parent == tmp_path for s in spills)
    first.close()
    assert not Path(spills[0]).exists() and Path(spills[1]).exists()
    second.close()
