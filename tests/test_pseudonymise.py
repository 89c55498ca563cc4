"""Pseudonymisation: gold/customers_analytics holds tokens, the vault holds the values."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.compute as pc
import pytest

from scv import Project
from scv.errors import ScvError
from scv.pseudonymise import ANALYTICS, PSEUDONYMISED, VAULT_CUSTOMERS, VAULT_RECORDS, token
from conftest import CRM_CSV, SHOP_CSV, TWO_SOURCES_YAML, write_project

# Robert Smith is crm:c1 and shop:101 (one customer); Elizabeth Jones is crm:c2 and shop:102.
ROBERT = [b"rob.smith@example.com", b"7700900123", b"smith", b"robert", b"sw1a 1aa"]
JONES = [b"liz.jones@example.com", b"jones", b"elizabeth"]
KEY = "pseudonymisation-test-key"
CITIES = {"c1": "London", "c2": "Manchester", "c3": "Leeds"}


def with_city(csv: str) -> str:
    lines = csv.splitlines()
    rows = [lines[0] + ",address1_city"]
    rows += [f"{line},{CITIES[line.split(',')[0]]}" for line in lines[1:]]
    return "\n".join(rows) + "\n"


@pytest.fixture
def project(tmp_path, monkeypatch) -> Project:
    """The two-source project with cities in the CRM and pseudonymisation on."""
    monkeypatch.setenv("SCV_PSEUDONYMISATION_KEY", KEY)
    yaml_text = TWO_SOURCES_YAML.replace(
        "          postcode: address1_postalcode\n",
        "          postcode: address1_postalcode\n          city: address1_city\n",
    ).rstrip(" ") + "    compliance:\n      pseudonymise: true\n"
    path = write_project(tmp_path, yaml_text, {"crm.csv": with_city(CRM_CSV), "shop.csv": SHOP_CSV})
    return Project.load(path)


def files_holding(project: Project, under: str, needles: list[bytes]) -> list[str]:
    root = Path(project.lakehouse.root) / under
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                  for n in needles if n in p.read_bytes().lower())


def by_customer(project: Project, table: str) -> dict[str, dict]:
    return {r["customer_id"]: r for r in project.lakehouse.read_table(table).to_pylist()}


def robert_id(project: Project) -> str:
    xref = project.lakehouse.read_table("gold/customer_xref")
    return xref.filter(pc.equal(xref["record_key"], "crm:c1"))["customer_id"][0].as_py()


def test_analytics_holds_tokens_and_keeps_the_rest(project):
    project.run()
    gold = by_customer(project, "gold/customers")
    analytics = by_customer(project, ANALYTICS)

    assert files_holding(project, "gold/customers", [b"smith"])  # the search finds values
    assert files_holding(project, ANALYTICS, ROBERT + JONES) == []  # data files and _delta_log
    assert set(analytics) == set(gold)
    robert = analytics[robert_id(project)]
    assert robert["city"] == "london"
    for customer_id, row in analytics.items():
        for f in PSEUDONYMISED:
            if f in row and row[f] is not None:
                assert re.fullmatch(r"[0-9a-f]{32}", row[f]), f
        for f in ("city", "record_count", "sources", "first_seen", "last_updated", "donotemail"):
            assert row[f] == gold[customer_id][f], f
    assert robert["email"] == token(KEY.encode(), "email", "rob.smith@example.com")
    assert robert["last_name"] == token(KEY.encode(), "last_name", "smith")
    assert robert["birth_year"] == 1980
    assert robert["date_of_birth"] == token(KEY.encode(), "date_of_birth", "1980-02-01")


def test_same_value_and_key_same_token_other_key_other_token(project, monkeypatch):
    project.run()
    first = by_customer(project, ANALYTICS)
    project.run()
    assert by_customer(project, ANALYTICS) == first

    monkeypatch.setenv("SCV_PSEUDONYMISATION_KEY", "another-key")
    project.run()
    other = by_customer(project, ANALYTICS)
    assert set(other) == set(first)
    for customer_id, row in other.items():
        assert row["last_name"] != first[customer_id]["last_name"]
        assert row["city"] == first[customer_id]["city"]


def test_key_file_gives_the_same_tokens_as_the_variable(project, tmp_path, monkeypatch):
    project.run()
    expected = by_customer(project, ANALYTICS)
    key_file = tmp_path / "secrets" / "pseudonymisation.key"
    key_file.parent.mkdir()
    key_file.write_text(KEY + "\n")
    monkeypatch.delenv("SCV_PSEUDONYMISATION_KEY")
    config = project.config.model_copy(update={"compliance": project.config.compliance.model_copy(
        update={"pseudonymisation_key_file": str(key_file)})})
    Project(config, project.base_dir).run()
    assert by_customer(project, ANALYTICS) == expected


def test_vault_holds_the_values(project):
    project.run()
    vault = by_customer(project, VAULT_CUSTOMERS)
    robert = vault[robert_id(project)]
    assert robert["last_name"] == "smith" and robert["email"] == "rob.smith@example.com"
    assert "city" not in robert and "record_count" not in robert
    silver = project.lakehouse.read_table("silver/records")
    records = {r["record_key"]: r for r in project.lakehouse.read_table(VAULT_RECORDS).to_pylist()}
    assert set(records) == set(silver["record_key"].to_pylist())
    assert records["shop:101"]["phone"] == "+447700900123"
    assert set(records["crm:c1"]) == {"record_key"} | (set(PSEUDONYMISED) & set(silver.column_names))


def test_missing_key_stops_the_run_before_anything_is_written(project, monkeypatch):
    monkeypatch.delenv("SCV_PSEUDONYMISATION_KEY")
    with pytest.raises(ScvError) as err:
        project.run()
    message = str(err.value)
    assert "SCV_PSEUDONYMISATION_KEY" in message and "compliance.pseudonymisation_key_file" in message
    root = Path(project.lakehouse.root)
    assert not root.exists() or not any(p.is_file() for p in root.rglob("*"))


def test_off_by_default(two_sources, monkeypatch):
    monkeypatch.delenv("SCV_PSEUDONYMISATION_KEY", raising=False)
    project = Project.load(two_sources)
    project.run()
    tables = project.lakehouse.tables()
    assert ANALYTICS not in tables and not any(t.startswith("vault/") for t in tables)


def test_forget_removes_the_person_from_vault_and_analytics(project, monkeypatch):
    monkeypatch.setenv("SCV_ERASURE_KEY", "erasure-test-key")
    project.run()
    customer = robert_id(project)
    robert_token = token(KEY.encode(), "email", "rob.smith@example.com").encode()
    assert files_holding(project, "vault", [b"smith"])

    receipt = project.forget(email="rob.smith@example.com")

    assert receipt.verified and receipt.problems == []
    assert receipt.removed[ANALYTICS] == 1 and receipt.removed[VAULT_CUSTOMERS] == 1
    assert receipt.removed[VAULT_RECORDS] == 2
    assert customer not in by_customer(project, ANALYTICS)
    assert customer not in by_customer(project, VAULT_CUSTOMERS)
    assert not {"crm:c1", "shop:101"} & set(project.lakehouse.read_table(VAULT_RECORDS)["record_key"].to_pylist())
    assert files_holding(project, "vault", ROBERT) == []  # history purged too
    assert files_holding(project, ANALYTICS, [robert_token, customer.lower().encode()]) == []
    assert files_holding(project, "vault", JONES)  # someone else is intact
    assert len(by_customer(project, ANALYTICS)) == 3

    project.run()  # the tombstone keeps them out of the next run's vault and analytics
    assert files_holding(project, "vault", ROBERT) == []
    assert customer not in by_customer(project, ANALYTICS)


@pytest.mark.spark
def test_spark_writes_the_same_tokens_and_vault(project, spark_engine):
    project.run()
    tables = {t: by_customer(project, t) for t in (ANALYTICS, VAULT_CUSTOMERS)}
    records = sorted(project.lakehouse.read_table(VAULT_RECORDS).to_pylist(), key=repr)

    result = Project.load(project.base_dir / "scv.yaml", engine="spark").run()

    assert result.engine == "spark"
    assert {t: by_customer(project, t) for t in tables} == tables
    assert sorted(project.lakehouse.read_table(VAULT_RECORDS).to_pylist(), key=repr) == records
