"""Right to be forgotten: `scv forget` leaves no trace and keeps the person out of later runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from scv import Project
from scv.cli import app
from scv.erasure import REGISTER
from scv.errors import ScvError

# Robert Smith is crm:c1 and shop:101 (one customer); Elizabeth Jones is crm:c2 and shop:102.
ROBERT = [b"rob.smith@example.com", b"7700900123", b"smith", b"robert"]
JONES = [b"liz.jones@example.com", b"jones"]


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv("SCV_ERASURE_KEY", "test-key-not-secret")


def lake_bytes(project: Project) -> list[tuple[str, bytes]]:
    root = Path(project.lakehouse.root)
    return [(str(p.relative_to(root)), p.read_bytes().lower()) for p in root.rglob("*") if p.is_file()]


def holding(project: Project, needles: list[bytes]) -> list[str]:
    return sorted({name for name, data in lake_bytes(project) for n in needles if n in data})


def record_keys(project: Project) -> set[str]:
    return set(project.lakehouse.read_table("silver/records")["record_key"].to_pylist())


def test_new_tables_keep_statistics_of_key_columns_only(two_sources):
    project = Project.load(two_sources)
    project.run()
    logs = [n for n in holding(project, [b"smith", b"rob.smith"]) if "_delta_log" in n]
    assert logs == []


def test_forget_by_email_leaves_no_trace_and_keeps_others(two_sources, keyed):
    project = Project.load(two_sources)
    project.run()
    assert holding(project, ROBERT)  # the person is there before

    receipt = project.forget(email="  Rob.Smith@Example.COM ")

    assert receipt.verified and receipt.problems == []
    assert receipt.records == 2 and receipt.customers == 1
    assert receipt.removed["silver/records"] == 2
    assert receipt.removed["bronze/crm"] == 1 and receipt.removed["bronze/shop"] == 1
    assert receipt.removed["gold/customers"] == 1
    assert holding(project, ROBERT) == []  # data files, _delta_log, reports, models
    assert holding(project, JONES)  # someone else is intact
    assert record_keys(project) == {"crm:c2", "crm:c3", "shop:102", "shop:103"}
    assert project.lakehouse.read_table("gold/customers").num_rows == 3


def test_next_run_suppresses_the_forgotten_records(two_sources, keyed):
    project = Project.load(two_sources)
    project.run()
    project.forget(email="rob.smith@example.com")

    result = project.run()

    assert result.status == "succeeded"
    for source in ("crm", "shop"):
        c = result.per_source[source]
        assert c["suppressed"] == 1
        assert c["ingested"] == c["silver"] + c["quarantined"] + c["suppressed"]
    assert "crm:c1" not in record_keys(project) and "shop:101" not in record_keys(project)
    assert holding(project, ROBERT) == []
    report = (Path(project.lakehouse.root) / "reports" / result.run_id / "quality.html").read_text()
    assert "suppressed <b>1</b>" in report


def test_dry_run_changes_nothing_and_prints_no_personal_data(two_sources, keyed):
    project = Project.load(two_sources)
    project.run()
    before = lake_bytes(project)

    out = CliRunner().invoke(app, ["forget", "--email", "rob.smith@example.com", "--dry-run",
                                   "--config", str(two_sources)])

    assert out.exit_code == 0, out.output
    assert "silver/records" in out.output and "dry run" in out.output
    assert "smith" not in out.output.lower().replace("rob.smith@example.com", "")
    assert "robert" not in out.output.lower() and "7700900123" not in out.output
    assert lake_bytes(project) == before
    assert not project.lakehouse.exists(REGISTER)


def test_cli_forget_by_source_id_prints_a_verified_receipt(two_sources, keyed):
    Project.load(two_sources).run()

    out = CliRunner().invoke(app, ["forget", "--source", "shop", "--id", "101", "--config", str(two_sources)])

    assert out.exit_code == 0, out.output
    assert "erasure-" in out.output and "verified" in out.output
    assert "smith" not in out.output.lower()
    project = Project.load(two_sources)
    assert "crm:c1" not in record_keys(project)  # the whole cluster goes


def test_forget_by_phone_and_by_customer_id(two_sources, keyed):
    project = Project.load(two_sources)
    project.run()
    jones = project.lakehouse.read_table("gold/customer_xref").to_pylist()
    customer = next(r["customer_id"] for r in jones if r["record_key"] == "crm:c2")

    assert project.forget(phone="+44 (0)7700 900123").verified
    assert project.forget(customer_id=customer).verified
    assert record_keys(project) == {"crm:c3", "shop:103"}
    assert holding(project, JONES) == []


def test_register_holds_no_raw_identifier(two_sources, keyed):
    project = Project.load(two_sources)
    project.run()
    receipt = project.forget(email="rob.smith@example.com")

    register = project.lakehouse.read_table(REGISTER).to_pylist()
    assert [r["request_id"] for r in register] == [receipt.request_id]
    row = register[0]
    hashes = row.pop("email_hashes") + row.pop("phone_hashes") + row.pop("record_hashes")
    assert len(hashes) == 3 and all(len(h) == 64 and set(h) <= set("0123456789abcdef") for h in hashes)
    del row["request_id"], row["erased_at"]  # random and clock digits could spell "c1" or "101"
    text = str(row).lower()
    for raw in ("rob.smith", "smith", "c1", "101", "7700900123", "test-key-not-secret"):
        assert raw not in text


def test_unknown_person_exits_1(two_sources, keyed):
    Project.load(two_sources).run()

    out = CliRunner().invoke(app, ["forget", "--email", "nobody@example.com", "--config", str(two_sources)])

    assert out.exit_code == 1
    assert "no record matches the email" in out.output
    assert "nobody" not in out.output


def test_missing_key_is_a_clear_error(two_sources, monkeypatch):
    monkeypatch.delenv("SCV_ERASURE_KEY", raising=False)
    project = Project.load(two_sources)
    project.run()

    with pytest.raises(ScvError, match="SCV_ERASURE_KEY.*erasure_key_file"):
        project.forget(email="rob.smith@example.com")
    assert "crm:c1" in record_keys(project)  # nothing erased without a key


def test_key_file_is_created_outside_the_lakehouse(two_sources, monkeypatch):
    monkeypatch.delenv("SCV_ERASURE_KEY", raising=False)
    config = two_sources.read_text() + "compliance:\n  erasure_key_file: secrets/erasure.key\n"
    two_sources.write_text(config)
    project = Project.load(two_sources)
    project.run()

    assert project.forget(email="rob.smith@example.com").verified

    key = two_sources.parent / "secrets" / "erasure.key"
    assert key.is_file() and oct(key.stat().st_mode & 0o777) == "0o600"
    assert holding(project, [key.read_bytes()]) == []
    assert project.run().per_source["crm"]["suppressed"] == 1  # the same key is read back


def test_a_run_with_a_register_needs_the_key(two_sources, keyed, monkeypatch):
    project = Project.load(two_sources)
    project.run()
    project.forget(email="rob.smith@example.com")
    monkeypatch.delenv("SCV_ERASURE_KEY")

    with pytest.raises(ScvError, match="no erasure key"):
        project.run()
