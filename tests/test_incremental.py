"""Incremental runs: only what changed is standardised and linked, and the result is what a
full run with the same model gives."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import SHARED_DATA, fake_1000_yaml, write_project
from scv import Project

FAKE_1000 = SHARED_DATA / "fake_1000.csv"
HELD_BACK = 20  # records new in the second run
PROJECT = fake_1000_yaml("people.csv", "linkage:\n  threshold: 0.9\n")


def rows() -> list[dict]:
    if not FAKE_1000.exists():
        pytest.skip(f"shared data not found at {FAKE_1000}")
    with FAKE_1000.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_rows(config: Path, records: list[dict]) -> None:
    with (config.parent / "people.csv").open("w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, fieldnames=list(records[0]))
        out.writeheader()
        out.writerows(records)


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Path:
    """A view built from fake_1000 less its last 20 records (training takes a while: once)."""
    config = write_project(tmp_path_factory.mktemp("built"), PROJECT, {})
    write_rows(config, rows()[:-HELD_BACK])
    assert Project.load(config).run().mode == "full"
    return config.parent


@pytest.fixture
def built(built_once, tmp_path) -> tuple[Project, list[dict]]:
    """A copy of the built view, and fake_1000's records whole."""
    shutil.copytree(built_once, tmp_path / "project")
    return Project.load(tmp_path / "project" / "scv.yaml"), rows()


@pytest.fixture
def small(two_sources) -> Project:
    """The two-source fixture, run once."""
    project = Project.load(two_sources)
    assert project.run().mode == "full"
    return project


def customers_of(project: Project) -> dict[str, str]:
    xref = project.lakehouse.read_table("gold/customer_xref")
    return dict(zip(xref["record_key"].to_pylist(), xref["customer_id"].to_pylist()))


def groups(project: Project) -> set[frozenset[str]]:
    found: dict[str, set[str]] = {}
    for key, customer in customers_of(project).items():
        found.setdefault(customer, set()).add(key)
    return {frozenset(g) for g in found.values()}


def silver(project: Project) -> dict[str, dict]:
    return {r["record_key"]: r for r in project.lakehouse.read_table("silver/records").to_pylist()}


def last_audit(project: Project) -> dict:
    return project.lakehouse.read_table("audit/runs").sort_by([("started_at", "descending")]).to_pylist()[0]


def test_a_rerun_of_the_same_data_changes_nothing(built):
    project, _ = built
    before_xref, before_pairs = customers_of(project), project.lakehouse.read_table("silver/pairs")
    before_silver = silver(project)
    result = project.run()
    assert result.mode == "incremental"
    assert sum(c.get("changed", 0) for c in result.per_source.values()) == 0
    assert customers_of(project) == before_xref
    order = [("record_key_l", "ascending"), ("record_key_r", "ascending")]
    assert project.lakehouse.read_table("silver/pairs").sort_by(order).equals(before_pairs.sort_by(order))
    after = silver(project)
    assert {k: r["_row_hash"] for k, r in after.items()} == {k: r["_row_hash"] for k, r in before_silver.items()}


def test_only_new_records_are_standardised_and_they_join_their_customers(built, tmp_path):
    project, records = built
    write_rows((project.base_dir / "scv.yaml"), records)
    result = project.run()
    assert result.mode == "incremental"
    assert result.per_source["people"]["changed"] == HELD_BACK
    assert result.per_source["people"]["silver"] == len(records)
    customers = customers_of(project)
    assert len(customers) == len(records)
    # the new records land with the records a full run of the same model puts them with
    (tmp_path / "full").mkdir()
    full = write_project(tmp_path / "full", PROJECT, {})
    write_rows(full, records)
    whole = Project.load(full)
    assert whole.run().mode == "full"
    new_keys = {f"people:{r['unique_id']}" for r in records[-HELD_BACK:]}
    assert {g for g in groups(project) if g & new_keys} == {g for g in groups(whole) if g & new_keys}


def test_a_changed_record_is_standardised_again(built):
    project, records = built
    records = records[:-HELD_BACK]
    records[0] = records[0] | {"email": "Changed.Address@Example.com"}
    write_rows((project.base_dir / "scv.yaml"), records)
    result = project.run()
    assert result.mode == "incremental"
    assert result.per_source["people"]["changed"] == 1
    assert silver(project)[f"people:{records[0]['unique_id']}"]["email"] == "changed.address@example.com"


def test_a_record_that_vanishes_is_kept_inactive_and_leaves_its_customer(built):
    project, records = built
    gone = records[0]
    write_rows((project.base_dir / "scv.yaml"), records[1:-HELD_BACK])
    result = project.run()
    key = f"people:{gone['unique_id']}"
    record = silver(project)[key]
    assert record["active"] is False and record["first_name"] == gone["first_name"].lower()
    assert key not in customers_of(project)
    assert result.per_source["people"]["inactive"] == 1
    assert result.per_source["people"]["silver"] == len(records) - HELD_BACK - 1


def test_a_vanished_record_that_returns_is_active_again(built):
    project, records = built
    write_rows((project.base_dir / "scv.yaml"), records[1:-HELD_BACK])
    project.run()
    write_rows((project.base_dir / "scv.yaml"), records[:-HELD_BACK])
    result = project.run()
    assert silver(project)[f"people:{records[0]['unique_id']}"]["active"] is True
    assert result.per_source["people"].get("inactive", 0) == 0


def test_an_incremental_run_agrees_with_a_full_run_with_the_same_model(built, tmp_path):
    project, records = built
    first_run = last_audit(project)["run_id"]
    copy = tmp_path / "copy"
    shutil.copytree(project.base_dir / "lakehouse", copy / "lakehouse")
    settings = yaml.safe_load((project.base_dir / "scv.yaml").read_text())
    settings["linkage"]["model"] = str(project.base_dir / "lakehouse" / "models" / f"{first_run}.json")
    (copy / "scv.yaml").write_text(yaml.safe_dump(settings))
    shutil.copy(project.base_dir / "people.csv", copy / "people.csv")
    write_rows((project.base_dir / "scv.yaml"), records)
    write_rows(copy / "scv.yaml", records)

    assert project.run().mode == "incremental"
    full = Project.load(copy / "scv.yaml")
    assert full.run(full=True).mode == "full"
    assert groups(project) == groups(full)
    assert customers_of(project) == customers_of(full)


def test_full_asks_for_a_new_model(small):
    project = small
    result = project.run(full=True)
    assert result.mode == "full"
    audit = last_audit(project)
    assert audit["mode_reason"] == "--full was asked for"
    assert json.loads(audit["linkage"])["model_source"] == "trained"


def test_a_changed_project_file_makes_a_full_run(small):
    project = small
    with (project.base_dir / "scv.yaml").open("a", encoding="utf-8") as f:
        f.write("linkage:\n  threshold: 0.95\n")
    result = Project.load((project.base_dir / "scv.yaml")).run()
    assert result.mode == "full"
    assert "project file changed" in last_audit(project)["mode_reason"]


def test_mostly_new_records_make_a_full_run(small):
    project = small
    for source in ("crm.csv", "shop.csv"):  # every row changed
        file = project.base_dir / source
        file.write_text(file.read_text().replace("2024-0", "2025-0"), encoding="utf-8")
    assert project.run().mode == "full"
    assert "new or changed" in last_audit(project)["mode_reason"]


def test_forgetting_a_customer_reaches_its_inactive_records(built, monkeypatch):
    project, records = built
    monkeypatch.setenv("SCV_ERASURE_KEY", "k" * 32)
    customers = customers_of(project)
    gone = next(r for r in records[:-HELD_BACK]
                if sum(c == customers[f"people:{r['unique_id']}"] for c in customers.values()) > 1)
    key = f"people:{gone['unique_id']}"
    write_rows(project.base_dir / "scv.yaml", [r for r in records[:-HELD_BACK] if r is not gone])
    project.run()
    assert silver(project)[key]["last_customer_id"] == customers[key]
    stays = next(k for k, c in customers_of(project).items() if c == customers[key])
    project.forget(source="people", id=stays.split(":", 1)[1])
    assert key not in silver(project)
