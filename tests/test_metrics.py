"""Events sources and gold/customer_metrics: what a customer's events add up to, wherever
their records are, and what happens to events that are not valid or belong to nobody."""

from __future__ import annotations

import json
import math
import textwrap
from datetime import date, datetime, timezone

import pyarrow as pa
import pytest

from conftest import EVENTS_FILES, EVENTS_YAML, one_line_error, write_project
from scv import Project
from scv.config import ProjectConfig
from scv.engine import create_engine
from scv.lakehouse import Lakehouse
from scv.metrics import metrics_sql, segment_sql
from scv.pipeline import Run


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """The CRM + shop project with shop orders and CRM payments, run once."""
    config = write_project(tmp_path_factory.mktemp("events"), EVENTS_YAML, EVENTS_FILES)
    project = Project.load(config)
    return project, project.run()


def table(project: Project, name: str) -> list[dict]:
    return project.lakehouse.read_table(name).to_pylist()


def metrics_of(project: Project, record_key: str) -> dict:
    """The metrics row of the customer a record belongs to."""
    xref = {r["record_key"]: r["customer_id"] for r in table(project, "gold/customer_xref")}
    return next(r for r in table(project, "gold/customer_metrics") if r["customer_id"] == xref[record_key])


# ---------------------------------------------------------------- the metrics of a run


def test_events_on_both_linked_records_add_up_for_their_customer(ran):
    project, _ = ran
    robert = metrics_of(project, "crm:c1")  # shop orders o1, o2 of shop:101 and payment p1 of crm:c1
    assert robert == metrics_of(project, "shop:101")
    assert (robert["event_count"], robert["total_amount"], robert["average_amount"]) == (3, 130.5, 43.5)
    assert robert["first_event_at"] == datetime(2024, 1, 1)
    assert robert["last_event_at"] == datetime(2024, 6, 1)
    liz = metrics_of(project, "shop:102")
    assert (liz["event_count"], liz["total_amount"], liz["last_event_at"]) == (2, 6.25, datetime(2024, 6, 2, 9))


def test_recency_is_whole_days_from_the_run_start_to_the_last_event(ran):
    project, _ = ran
    started = table(project, "audit/runs")[0]["started_at"].replace(tzinfo=None)
    robert = metrics_of(project, "crm:c1")
    assert robert["recency_days"] == math.floor((started - datetime(2024, 6, 1)).total_seconds() / 86400)


def test_every_customer_has_a_row_and_one_without_events_has_no_scores(ran):
    project, result = ran
    metrics = table(project, "gold/customer_metrics")
    assert len(metrics) == len({m["customer_id"] for m in metrics}) == result.customers == 4
    ann = metrics_of(project, "crm:c3")
    assert ann["event_count"] == 0
    assert [ann[k] for k in ("total_amount", "last_event_at", "recency_days", "recency_score",
                             "frequency_score", "monetary_score", "rfm_segment")] == [None] * 7


def test_event_times_are_read_as_iso_with_a_trailing_z_or_in_the_date_formats(ran):
    project, _ = ran
    at = {e["event_id"]: e["at"] for e in table(project, "silver/events")}
    assert at["o1"] == datetime(2024, 5, 1, 10)
    assert at["o3"] == datetime(2024, 6, 2, 9)
    assert at["p1"] == datetime(2024, 1, 1)


def test_silver_events_hold_each_valid_event_with_its_record_key(ran):
    project, _ = ran
    events = {e["event_key"]: e for e in table(project, "silver/events")}
    assert sorted(events) == ["orders:o1", "orders:o2", "orders:o3", "orders:o4", "payments:p1", "payments:p2"]
    assert events["payments:p1"]["record_key"] == "crm:c1"
    assert (events["orders:o2"]["source"], events["orders:o2"]["record_key"], events["orders:o2"]["amount"]) == (
        "orders", "shop:101", 20.0)
    assert "silver/events" in project.lakehouse.tables() and "gold/customer_metrics" in project.lakehouse.tables()


def test_events_are_neither_standardised_nor_linked(ran):
    project, _ = ran
    sources = {r["source"] for r in table(project, "silver/records")}
    assert sources == {"crm", "shop"}
    assert {r["source"] for r in table(project, "gold/customer_xref")} == {"crm", "shop"}


# ---------------------------------------------------------------- invalid and unmatched events


def test_invalid_events_are_quarantined_with_a_reason(ran):
    project, _ = ran
    reasons = {r["order_id"]: r["_reason"] for r in table(project, "quarantine/orders")}
    assert reasons == {
        "o5": "event time not a timestamp after 1900 (column ordered_at)",
        "o6": "amount not a number (column amount)",
        "o7": "missing record id of the event (column customer_id)",
    }


def test_events_get_their_own_default_expectations(ran):
    project, _ = ran
    checks = {(r["expectation"], r["column"]) for r in table(project, "audit/validation_results")
              if r["source"] == "orders" and r["origin"] == "default"}
    assert checks == {
        ("expect_column_values_to_not_be_null", "order_id"), ("expect_column_values_to_be_unique", "order_id"),
        ("expect_column_values_to_not_be_null", "customer_id"), ("expect_column_values_to_not_be_null", "ordered_at"),
        ("expect_column_values_to_be_between", "ordered_at"), ("expect_column_values_to_match_regex", "amount"),
    }


def test_events_of_an_unknown_record_are_counted_warned_and_kept_out_of_metrics(ran):
    project, result = ran
    assert result.per_source["orders"]["unmatched_events"] == 1  # o4: shop customer 999
    assert result.per_source["payments"]["unmatched_events"] == 0
    assert any(w.startswith("source orders: 1 event(s) belong to no shop record") for w in result.warnings)
    assert not any("999" in w for w in result.warnings)
    assert "shop:999" in {e["record_key"] for e in table(project, "silver/events")}
    assert sum(m["event_count"] for m in table(project, "gold/customer_metrics")) == 5


def test_the_ledger_holds_for_events_sources_and_record_totals_leave_them_out(ran):
    project, result = ran
    orders, payments = result.per_source["orders"], result.per_source["payments"]
    assert (orders["ingested"], orders["silver"], orders["quarantined"]) == (7, 4, 3)
    assert (payments["ingested"], payments["silver"], payments["quarantined"]) == (2, 2, 0)
    run = table(project, "audit/runs")[0]
    assert run["records_ingested"] == run["records_silver"] == result.silver == 6
    assert json.loads(run["per_source"])["orders"]["unmatched_events"] == 1


def test_the_quality_report_shows_the_unmatched_events_in_the_ledger(ran):
    project, result = ran
    html = project.lakehouse.read_file(f"reports/{result.run_id}/quality.html").decode()
    assert "belong to no known record" in html


def test_an_events_retention_rule_reads_the_event_time(tmp_path):
    keep_for = (datetime.now(timezone.utc).date() - date(2024, 5, 15)).days  # o1 (1 May 2024) is older
    rule = f"compliance:\n  retention:\n    - {{source: orders, keep_for: {keep_for} days}}\n"
    config = write_project(tmp_path, textwrap.dedent(EVENTS_YAML) + rule, EVENTS_FILES)
    result = Project.load(config).run()
    assert result.per_source["orders"]["expired"] == result.per_source["orders"]["suppressed"] == 1
    assert "o1" not in {e["event_id"] for e in table(Project.load(config), "silver/events")}


# ---------------------------------------------------------------- scores and segments


@pytest.fixture
def run_on_duckdb(tmp_path):
    """A run's context over a DuckDB engine, to compute metrics from hand-made engine tables."""
    config = ProjectConfig.model_validate({"sources": {"shop": {"path": "shop.csv", "id": "id"}}})
    engine = create_engine("duckdb")
    yield Run(config, tmp_path, Lakehouse(tmp_path), engine, started_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    engine.close()


def metrics_from(run: Run, events: list[tuple[str, str, float | None]]) -> dict[str, dict]:
    """Metrics of events given as (customer, ISO time, amount), one record per customer."""
    run.engine.read_arrow("silver_events", pa.table({
        "record_key": [f"shop:{c}" for c, _, _ in events],
        "at": pa.array([datetime.fromisoformat(t) for _, t, _ in events], pa.timestamp("us")),
        "amount": pa.array([a for _, _, a in events], pa.float64()),
    }))
    customers = sorted({c for c, _, _ in events})
    run.engine.read_arrow("xref", pa.table({"record_key": [f"shop:{c}" for c in customers],
                                            "customer_id": customers}))
    run.engine.create("metrics", metrics_sql(run, "xref"))
    names = [c for c, _ in run.engine.columns("metrics")]
    return {r[0]: dict(zip(names, r)) for r in run.engine.rows("select * from metrics")}


def test_scores_are_quintiles_five_the_most_recent_frequent_and_spending(run_on_duckdb):
    # customer c<i> has i + 1 events, the last on 2024-01-<i+1>, and spends less the more often they buy
    events = [(f"c{i}", f"2024-01-{n + 1:02d}", (100 - 10 * i) / (i + 1)) for i in range(10) for n in range(i + 1)]
    metrics = metrics_from(run_on_duckdb, events)
    scores = {c: (m["recency_score"], m["frequency_score"], m["monetary_score"]) for c, m in metrics.items()}
    assert scores == {f"c{i}": (i // 2 + 1, i // 2 + 1, 5 - i // 2) for i in range(10)}
    assert metrics["c9"]["rfm_segment"] == "loyal" and metrics["c0"]["rfm_segment"] == "hibernating"


def test_equal_values_are_scored_in_customer_id_order_every_time(run_on_duckdb):
    events = [(c, "2024-03-01", 10.0) for c in ("e", "c", "a", "d", "b")]
    first = metrics_from(run_on_duckdb, events)
    assert {c: m["frequency_score"] for c, m in first.items()} == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    assert metrics_from(run_on_duckdb, list(reversed(events))) == first


def test_without_amounts_there_is_no_monetary_score(run_on_duckdb):
    metrics = metrics_from(run_on_duckdb, [("a", "2024-03-01", None), ("b", "2024-03-02", None)])
    assert [(m["total_amount"], m["monetary_score"], m["event_count"]) for m in metrics.values()] == [
        (None, None, 1), (None, None, 1)]
    assert metrics["b"]["recency_days"] == 305  # 2024-03-02 to the run's start, 2025-01-01


@pytest.mark.parametrize("scores, segment", [
    ((5, 5, 5), "champions"), ((4, 4, 4), "champions"),
    ((5, 5, 1), "loyal"), ((3, 4, 2), "loyal"),
    ((5, 1, 3), "new"), ((4, 2, 5), "new"),
    ((3, 3, 3), "promising"), ((4, 3, 1), "promising"), ((3, 1, 5), "promising"),
    ((2, 5, 5), "at risk"), ((1, 3, 1), "at risk"),
    ((2, 2, 5), "hibernating"), ((1, 1, 1), "hibernating"),
    ((None, None, None), None),
])
def test_rfm_segment_table(run_on_duckdb, scores, segment):
    r, f, m = ("null" if s is None else s for s in scores)
    sql = f"select {segment_sql(run_on_duckdb.engine.dialect)} from (select {r} as recency_score, " \
          f"{f} as frequency_score, {m} as monetary_score)"
    assert run_on_duckdb.engine.rows(sql) == [(segment,)]


# ---------------------------------------------------------------- the project file


def error_of(tmp_path, yaml_text: str) -> str:
    config = write_project(tmp_path, yaml_text, EVENTS_FILES)
    return one_line_error(config)


@pytest.mark.parametrize("old, new, message", [
    ("record_of: shop", "record_of: shp",  # a typo
     "sources.orders.record_of: 'shp' is not a source (did you mean 'shop'?); name the customer source "
     "the events belong to: crm, shop"),
    ("record_of: crm", "record_of: orders",
     "sources.payments.record_of: 'orders' is an events source; events belong to the records of a customer source"),
    ("        at: paid_on\n", "",
     "sources.payments: kind events needs at: record_of (the customer source)"),
    ("        amount: value\n", "        columns: {email: value}\n",
     "sources.payments: columns: an events source maps no customer fields"),
    ("        id: contactid\n", "        id: contactid\n        at: modifiedon\n",
     "sources.crm: at is only for an events source; add `kind: events` or remove it"),
    ("at: ordered_at", "at: orderd_at",  # found when the file is read
     "sources.orders.at: column 'orderd_at' is not in orders.csv (did you mean 'ordered_at'?); "
     "its columns are: order_id, customer_id, ordered_at, amount"),
])
def test_a_mistake_in_an_events_source_is_one_line_naming_the_key_and_the_fix(tmp_path, old, new, message):
    assert message in error_of(tmp_path, EVENTS_YAML.replace(old, new))


# ---------------------------------------------------------------- erasure


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv("SCV_ERASURE_KEY", "test-key-not-secret")


def test_forgetting_a_customer_removes_their_events_and_metrics(tmp_path, keyed):
    project = Project.load(write_project(tmp_path, EVENTS_YAML, EVENTS_FILES))
    project.run()
    robert = metrics_of(project, "crm:c1")["customer_id"]

    receipt = project.forget(email="rob.smith@example.com")

    assert receipt.verified, receipt.problems
    assert receipt.removed["silver/events"] == 3 and receipt.removed["gold/customer_metrics"] == 1
    assert receipt.removed["bronze/orders"] == 2 and receipt.removed["bronze/payments"] == 1
    assert {e["event_key"] for e in table(project, "silver/events")} == {
        "orders:o3", "orders:o4", "payments:p2"}
    assert robert not in {m["customer_id"] for m in table(project, "gold/customer_metrics")}
    assert {r["order_id"] for r in table(project, "bronze/orders")} == {"o3", "o4", "o5", "o6", "o7"}


def test_a_forgotten_customers_events_stay_out_of_later_runs(tmp_path, keyed):
    project = Project.load(write_project(tmp_path, EVENTS_YAML, EVENTS_FILES))
    project.run()
    project.forget(email="rob.smith@example.com")

    result = project.run()

    assert result.per_source["orders"]["suppressed"] == 2 and result.per_source["payments"]["suppressed"] == 1
    assert {e["event_id"] for e in table(project, "silver/events")} == {"o3", "o4", "p2"}
