"""The quality report: built from the audit tables, read in a real browser, offline and safe.

Browser tests drive Debian's chromium through Playwright. Locally they are skipped when
either is missing; in CI (CI=true) they fail instead, since .ci/run installs both. The
linkage section is checked on a real run of Splink's fake_1000, split in two sources.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from datetime import datetime, timezone
from importlib.util import find_spec
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from conftest import SHARED_DATA, write_project
from scv import Project, pipeline
from scv.lakehouse import Lakehouse
from scv.link import link
from scv.quality_tables import PROFILE_SCHEMA, VALIDATION_SCHEMA
from scv.report import write_report
from scv.report_linkage import load

RUN = "20250301T090000Z-abc123"
MISSING = [what for what, found in (
    ("playwright (pip install playwright)", find_spec("playwright")),
    ("chromium (apt-get install chromium)", shutil.which("chromium")),
) if not found]
IN_CI = os.environ.get("CI", "").lower() == "true"
needs_browser = pytest.mark.skipif(
    bool(MISSING) and not IN_CI, reason=f"browser test needs {' and '.join(MISSING)}")
XSS = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">'


@pytest.fixture(scope="module")
def browser():
    if MISSING:
        pytest.fail(f"CI=true but {' and '.join(MISSING)} not installed: .ci/run installs both")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=shutil.which("chromium"))
        yield chromium
        chromium.close()


def open_report(browser, path: str):
    """The page, and every request it made and every one that failed or erred."""
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    seen: dict[str, list] = {"requests": [], "failed": [], "errors": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("requestfailed", lambda r: seen["failed"].append(r.url))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(Path(path).as_uri())
    return page, seen


def write_run(lakehouse: Lakehouse, per_source: dict, profiles: list[dict] | None = None,
              checks: list[dict] | None = None, warnings=(), status="succeeded", linkage=None) -> None:
    """The audit rows of one run, as the pipeline's stages would leave them."""
    at = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
    total = lambda what: sum(c.get(what, 0) for c in per_source.values())  # noqa: E731
    run = {
        "run_id": RUN, "started_at": at, "finished_at": at.replace(minute=2), "status": status,
        "failed_stage": None if status == "succeeded" else "link",
        "error": None if status == "succeeded" else "ScvError: no pairs", "engine": "duckdb",
        "config_hash": "f00d", "records_ingested": total("ingested"),
        "records_quarantined": total("quarantined"), "records_silver": total("silver"),
        "pairs_scored": 5120, "customers": 1874, "seconds": 121.4,
        "per_source": json.dumps(per_source), "warnings": json.dumps(list(warnings)),
        "stage_seconds": json.dumps({"ingest": 3.2, "validate": 1.1, "profile": 2.4,
                                     "standardise": 0.9, "link": 98.0, "golden": 4.1}),
        "linkage": json.dumps(linkage or {"threshold": 0.9}),
    }
    lakehouse.write("audit/runs", pa.Table.from_pylist([run]), RUN, mode="append")
    if profiles is not None:
        lakehouse.write("audit/profiles", pa.Table.from_pylist(profiles, PROFILE_SCHEMA), RUN)
    if checks is not None:
        lakehouse.write("audit/validation_results",
                        pa.Table.from_pylist(checks, VALIDATION_SCHEMA), RUN)


def profile(source, column, rows=1000, non_null=None, personal=False, field=None,
            data_type="string", top=(), patterns=(), histogram=(), **stats) -> dict:
    non_null = rows if non_null is None else non_null
    distinct = stats.pop("distinct", non_null)
    return {
        "run_id": RUN, "source": source, "column": column, "data_type": data_type,
        "personal": personal, "canonical_field": field, "row_count": rows, "non_null": non_null,
        "completeness": non_null / rows, "distinct_count": distinct,
        "uniqueness": distinct / max(non_null, 1),
        "top_values": json.dumps([{"value": None if personal else v, "count": n,
                                   "share": n / non_null} for v, n in top]),
        "patterns": json.dumps([{"pattern": p, "count": n, "share": n / rows}
                                for p, n in patterns]),
        "histogram": json.dumps([{"low": lo, "high": hi, "count": n} for lo, hi, n in histogram]),
        **{k: stats.get(k) for k in ("min", "max", "mean", "median", "stddev",
                                     "min_length", "max_length", "mean_length")},
    }


def check(source, expectation, column=None, unexpected=0, of=1000, severity="error",
          sample=(), observed=None, **kwargs) -> dict:
    return {
        "run_id": RUN, "source": source, "suite": f"{source}.default", "expectation": expectation,
        "column": column, "kwargs": json.dumps({"column": column, **kwargs}),
        "severity": severity, "origin": "output" if source.startswith("gold") else "default",
        "success": unexpected == 0, "observed_value": observed, "element_count": of,
        "unexpected_count": unexpected, "unexpected_percent": 100 * unexpected / of,
        "unexpected_sample": json.dumps(list(sample)),
    }


def lengths(*counts, start=2):
    return [(start + i, start + i + 1, n) for i, n in enumerate(counts)]


def realistic_run(lakehouse: Lakehouse) -> None:
    """A CRM, a web shop and newsletter sign-ups, as a demo run would profile them."""
    days = [(d, d + 2190, n) for d, n in zip(range(-7305, 19700, 2190),
                                             (12, 40, 95, 160, 190, 170, 150, 101, 50, 20, 8, 3))]
    crm = [
        profile("crm", "contactid", top=[("c1042", 2), ("c0007", 1)], patterns=[("a9999", 1000)],
                histogram=lengths(1000, start=5), distinct=996, min_length=5, max_length=5,
                mean_length=5.0),
        profile("crm", "firstname", non_null=991, personal=True, field="first_name",
                top=[("x", 31), ("x", 28), ("x", 22)], patterns=[("Aa+", 902), ("AA+", 61),
                ("Aa+-Aa+", 20), ("a+", 8)], histogram=lengths(40, 180, 320, 260, 130, 61),
                distinct=412, min_length=2, max_length=11, mean_length=5.6),
        profile("crm", "emailaddress1", non_null=938, personal=True, field="email",
                top=[("x", 3)], patterns=[("a+.a+@a+.a+", 610), ("a+9+@a+.a+", 240),
                ("A+@a+.a+", 76), ("a+ a+@a+", 12)], distinct=921,
                histogram=lengths(20, 110, 290, 330, 150, 38, start=12),
                min_length=12, max_length=34, mean_length=21.3),
        profile("crm", "birthdate", non_null=972, personal=True, field="date_of_birth",
                top=[("x", 4)], patterns=[("9999-99-99", 972)], histogram=lengths(972, start=10),
                distinct=955, min_length=10, max_length=10, mean_length=10.0),
        profile("crm", "joined", non_null=999, data_type="date", top=[("2019-03-02", 3)],
                histogram=days, distinct=870, min="1950-01-01", max="2023-12-30",
                median="1990-07-01", mean="1989-11-20", stddev=5120.4),
        profile("crm", "address1_city", non_null=880, field="city",
                top=[("London", 143), ("Manchester", 71), ("Leeds", 52), ("Bristol", 40),
                     ("Glasgow", 33), ("Cardiff", 21)], patterns=[("Aa+", 790), ("Aa+ Aa+", 90)],
                histogram=lengths(30, 200, 350, 240, 60), distinct=118, min_length=4,
                max_length=18, mean_length=7.9),
        profile("crm", "modifiedon", data_type="timestamp", top=[("2024-06-01", 12)],
                histogram=[(19700 + 30 * i, 19730 + 30 * i, n) for i, n in
                           enumerate((20, 45, 80, 130, 210, 300, 215))],
                min="2023-12-08", max="2025-02-27", median="2024-10-02", mean="2024-09-14",
                stddev=88.4, distinct=402),
        profile("crm", "donotemail", data_type="boolean", top=[("false", 812), ("true", 188)],
                distinct=2),
        profile("crm", "loyalty_points", non_null=655, data_type="int64",
                top=[("0", 201), ("100", 44), ("250", 30)], min="0", max="48210", mean="1830.5",
                median="640", stddev=3120.7, distinct=377,
                histogram=[(0, 5000, 520), (5000, 10000, 80), (10000, 20000, 40),
                           (20000, 50000, 15)]),
    ]
    shop = [
        profile("shop", "customer_id", rows=812, top=[("101", 1)], histogram=lengths(812, start=3),
                min_length=3, max_length=3, mean_length=3.0),
        profile("shop", "email", rows=812, personal=True, field="email", top=[("x", 2)],
                patterns=[("a+.a+@a+.a+", 501), ("A+.A+@A+.A+", 230), ("a+@a+.a+", 81)],
                distinct=799, min_length=10, max_length=30, mean_length=19.0),
        profile("shop", "post_code", rows=812, non_null=700, personal=True, field="postcode",
                patterns=[("A9 9A+", 260), ("A+9 9A+", 240), ("a+9a+", 200)], distinct=690),
    ]
    newsletter = [
        profile("newsletter", "email", rows=475, personal=True, field="email",
                patterns=[("a+@a+.a+", 475)], distinct=470),
        profile("newsletter", "signup_source", rows=475, top=[("footer", 300), ("checkout", 120),
                ("popup", 55)], distinct=3),
    ]
    checks = [
        check("crm", "expect_column_values_to_not_be_null", "contactid"),
        check("crm", "expect_column_values_to_be_unique", "contactid", unexpected=4,
              observed="4 duplicate ids", sample=["c1042", "c1042", "c0311", "c0311"]),
        check("crm", "expect_column_values_to_match_regex", "emailaddress1", unexpected=12, of=938,
              severity="warn", regex=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", sample=["***"] * 5),
        check("crm", "expect_column_values_to_be_between", "birthdate", of=972,
              min_value="1900-01-01", max_value="2025-03-01"),
        check("crm", "expect_column_values_to_be_in_set", "donotemail",
              value_set=["true", "false"]),
        check("shop", "expect_column_values_to_not_be_null", "customer_id", of=812),
        check("shop", "expect_column_values_to_not_be_null", "post_code", of=812, unexpected=112,
              severity="warn", mostly=0.9, observed="86.2% not null"),
        check("newsletter", "expect_column_values_to_not_be_null", "email", of=475),
        check("gold/customers", "expect_column_values_to_be_unique", "customer_id", of=1874),
        check("gold/customers", "expect_table_row_count_to_equal", of=1874, observed="1874",
              value=1874),
        check("gold/customer_xref", "expect_column_values_to_not_be_null", "customer_id",
              of=2287),
    ]
    write_run(lakehouse, {
        "crm": {"ingested": 1004, "quarantined": 4, "silver": 1000},
        "shop": {"ingested": 815, "quarantined": 3, "silver": 812},
        "newsletter": {"ingested": 480, "quarantined": 0, "silver": 475, "suppressed": 5},
    }, crm + shop + newsletter, checks,
        warnings=["source shop: 112 rows without a postcode (13.8%)",
                  "linkage: 3 clusters larger than 20 records"])


def test_written_for_the_run_and_as_latest(tmp_path):
    lakehouse = Lakehouse(tmp_path / "lakehouse")
    realistic_run(lakehouse)
    path = write_report(lakehouse, RUN)
    assert path == str(tmp_path / "lakehouse" / "reports" / RUN / "quality.html")
    latest = tmp_path / "lakehouse" / "reports" / "latest" / "quality.html"
    assert latest.read_bytes() == Path(path).read_bytes()


def test_says_what_is_missing_and_flags_a_ledger_that_does_not_add_up(tmp_path):
    lakehouse = Lakehouse(tmp_path / "lakehouse")
    write_run(lakehouse, {"crm": {"ingested": 10, "quarantined": 1, "silver": 7,
                                  "suppressed": 1}}, status="failed")
    html = Path(write_report(lakehouse, RUN)).read_text()
    assert "audit/profiles is not in this lakehouse" in html
    assert "audit/validation_results is not in this lakehouse" in html
    assert "does not add up: +1 rows unaccounted" in html
    assert "Stage <b>link</b> failed" in html


@pytest.mark.browser
@needs_browser
def test_report_reads_well_offline_in_a_browser(tmp_path, browser):
    lakehouse = Lakehouse(tmp_path / "lakehouse")
    realistic_run(lakehouse)
    page, seen = open_report(browser, write_report(lakehouse, RUN))
    text = page.inner_text("body")

    assert seen["failed"] == [] and seen["errors"] == []
    assert [u for u in seen["requests"] if not u.startswith("file:")] == []
    for source in ("crm", "shop", "newsletter", "Output checks (gold)", "gold/customers"):
        assert page.get_by_role("heading", name=source).count() >= 1
    unique = page.locator("tr", has_text="expect_column_values_to_be_unique").first
    assert "FAIL" in unique.inner_text() and "4 / 1,000" in unique.inner_text()
    assert "read 480 = passed 475 + quarantined 0 + suppressed 5" in text
    assert "1 error, 2 warn" in text
    assert page.locator("svg rect").count() > 50
    assert page.locator("svg[aria-label='histogram of lengths']").first.is_visible()
    firstname = page.locator("tr", has_text="firstname").first
    assert "personal" in firstname.inner_text() and "(masked)" in firstname.inner_text()
    assert "London" in text


@pytest.mark.browser
@needs_browser
def test_values_are_escaped_not_executed(tmp_path, browser):
    lakehouse = Lakehouse(tmp_path / "lakehouse")
    write_run(
        lakehouse, {"crm": {"ingested": 1, "quarantined": 0, "silver": 1}},
        [profile("crm", XSS, rows=1, top=[(XSS, 1)], patterns=[(XSS, 1)])],
        [check("crm", "expect_column_values_to_be_in_set", XSS, unexpected=1, of=1,
               observed=XSS, sample=[XSS], value_set=[XSS])],
        warnings=[XSS],
    )
    path = write_report(lakehouse, RUN)
    assert "<script>" not in Path(path).read_text().split("</head>")[1]
    page, seen = open_report(browser, path)
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("script, img").count() == 0
    assert seen["failed"] == [] and len(seen["requests"]) == 1
    assert page.get_by_text(XSS, exact=True).count() >= 4


# ---------------------------------------------------------------- the linkage section

FACTS = {  # as link records them on Run.linkage_facts
    "blocking_rules": [{"rule": '(l."first_name" = r."first_name") AND (l."last_name" = r."last_name")',
                        "comparisons": 1450},
                       {"rule": 'l."email" = r."email"', "comparisons": 310},
                       {"rule": 'l."date_of_birth" = r."date_of_birth"', "comparisons": 240}],
    "budget_per_record": 5.0,
    "estimated_blocking_recall": 0.93,
}
TWO_HALVES_YAML = """\
    lakehouse: ./lakehouse
    linkage: {threshold: 0.9}
    sources:
""" + "".join(f"""\
      {name}:
        path: {name}.csv
        id: unique_id
        columns: {{first_name: first_name, last_name: surname, date_of_birth: dob, city: city, email: email}}
""" for name in ("crm", "shop"))


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    """fake_1000 as two sources (alternate rows), linked for real; link records FACTS."""
    data = SHARED_DATA / "fake_1000.csv"
    if not data.exists():
        pytest.skip(f"shared data not found at {data}")
    header, *rows = data.read_text(encoding="utf-8").splitlines()
    folder = tmp_path_factory.mktemp("linked")
    write_project(folder, TWO_HALVES_YAML, {"crm.csv": "\n".join([header, *rows[::2]]),
                                            "shop.csv": "\n".join([header, *rows[1::2]])})

    def link_recording_facts(run):
        link(run)
        run.linkage_facts.update(FACTS)

    project = Project.load(folder / "scv.yaml")
    stages = [(n, link_recording_facts if n == "link" else f) for n, f in pipeline.STAGES]
    engine = project.engine()
    try:
        result = pipeline.execute(pipeline.Run(project.config, project.base_dir, project.lakehouse, engine),
                                  stages=stages)
    finally:
        engine.close()
    folder = Path(project.lakehouse.path(f"reports/{result.run_id}"))
    return project.lakehouse, result, (folder / "quality.html").read_text(), folder


def section(html: str) -> str:
    return html.split('<h2 id="linkage">')[1].split('<h2 id="output">')[0]


def test_linkage_section_shows_each_chart_after_a_real_run(linked):
    lake, result, html, _ = linked
    part = section(html)
    for heading in ("Blocking", "Model: m, u and match weight", "Match weights of scored pairs",
                    "Cluster sizes", "Sample of scored pairs by match probability"):
        assert f"<h3>{heading}" in part
    for chart in ("match weight", "match weight histogram", "cluster sizes", "share of comparisons"):
        assert f'aria-label="{chart}"' in part
    assert "prior</b>: probability two random records match" in part
    assert "Exact match on email" in part and "term-frequency adjusted" in part
    assert "re-estimated from the scored pairs; the deterministic rules gave" in part
    assert re.search(r"u net of the matches among random pairs: \+\d\.\d\d bits", part)
    assert "Other facts" not in part  # link records only what the section knows how to draw
    assert '<a href="#linkage">linkage</a>' in html
    pairs = lake.read_table("silver/pairs")
    above = pc.sum(pc.greater_equal(pairs["match_probability"], 0.9)).as_py()
    sizes = pc.value_counts(lake.read_table("gold/customer_xref")["customer_id"]).field("counts")
    for label, value in (("pairs scored", f"{pairs.num_rows:,}"), ("pairs ≥ threshold", f"{above:,}"),
                         ("customers", f"{result.customers:,}"),
                         ("largest cluster", f"{pc.max(sizes).as_py():,} records")):
        assert f"<span>{label}</span><b>{value}</b>" in html


def test_blocking_shows_each_rule_against_the_budget(linked):
    _, result, html, _ = linked
    part = section(html)
    for rule in FACTS["blocking_rules"]:
        assert f'<code>{rule["rule"].replace(chr(34), "&quot;")}</code>' in part
        assert f'<td class="num">{rule["comparisons"]:,}</td>' in part
    per_record = 2000 / result.silver
    assert f"<b>{per_record:,.1f}</b> against a budget of <b>5.0</b>" in part
    assert "within budget" in part and "Estimated recall of blocking: <b>93.0%</b>" in part


def test_histogram_counts_match_silver_pairs(linked):
    lake, _, html, _ = linked
    weights = lake.read_table("silver/pairs")["match_weight"].to_pylist()
    bins = [(float(lo), float(hi), int(n.replace(",", ""))) for lo, hi, n in
            re.findall(r"<title>weight (-?[\d.]+) ≤ w &lt; (-?[\d.]+): ([\d,]+) pairs</title>", html)]
    assert len(bins) > 10 and sum(n for *_, n in bins) == len(weights)
    for lo, hi, n in bins:
        assert n == sum(lo <= w < hi for w in weights)
    cut = math.log2(0.9 / 0.1)
    assert f"threshold 0.9 (weight {cut:+.2f})" in html


def test_cluster_sizes_add_up_to_the_records(linked):
    lake, result, html, _ = linked
    table = html.split('<table class="sizes">')[1].split("</table>")[0]
    rows = re.findall(r'<tr><td class="num">([\d–+,]+)</td><td class="num">([\d,]+)</td>'
                      r'<td class="num">([\d,]+)</td>', table)
    customers = sum(int(n.replace(",", "")) for _, n, _ in rows)
    records = sum(int(r.replace(",", "")) for _, _, r in rows)
    assert records == lake.read_table("gold/customer_xref").num_rows == result.silver == 1000
    assert customers == result.customers
    sizes = pc.value_counts(lake.read_table("gold/customer_xref")["customer_id"]).field("counts").to_pylist()
    assert {int(size): int(n) for size, n, _ in rows if size.isdigit() and n != "0"} == {
        size: sizes.count(size) for size in set(sizes) if size <= 10}
    assert f"Largest cluster: <b>{max(sizes):,} records</b>" in html


def test_comparison_sample_is_scored_again_and_masked(linked):
    lake, result, html, folder = linked
    runs = lake.read_table("audit/runs").to_pylist()
    sample = load(lake, runs[-1], runs).sample
    assert sample.scored and sample.note is None
    stored = {(r["record_key_l"], r["record_key_r"]): r["match_weight"]
              for r in lake.read_table("silver/pairs").to_pylist()}
    prior = _prior_weight(lake, result.run_id)
    for band in sample.bands:
        assert 1 <= len(band.sample) <= 3 and band.pairs >= len(band.sample)
        for row in band.sample:  # the levels' weights add up to the weight silver/pairs holds
            assert band.low <= row["match_probability"] <= band.high
            assert row["match_weight"] == pytest.approx(stored[row["record_key_l"], row["record_key_r"]])
            levels = sum(v or 0 for k, v in row.items() if k.startswith("mw_"))
            assert prior + levels == pytest.approx(row["match_weight"], abs=1e-6)
    people = {r["record_key"]: r for r in lake.read_table("silver/records").to_pylist()}
    keys = {k for b in sample.bands for r in b.sample for k in (r["record_key_l"], r["record_key_r"])}
    values = {str(people[k][f]) for k in keys for f in ("first_name", "last_name", "email", "date_of_birth")
              if people[k][f] is not None and len(str(people[k][f])) >= 4}
    viewer = (folder / "comparison_viewer.html").read_text()
    assert len(values) > 10
    # the viewer's rows are JSON objects (its inlined JavaScript holds words such as "aria")
    shown = {v for k, v in re.findall(r'"([a-z_]+)": ("(?:[^"\\]|\\.)*")', viewer) if k.endswith(("_l", "_r"))}
    assert "\"a+\"" in shown
    for value in values:  # shown values are in <code> in the report, JSON strings among the viewer's rows
        assert f"<code>{value}</code>" not in html and json.dumps(value) not in shown
    assert "<code>a+</code> / <code>a+</code>" in section(html)
    assert "<code>9999-99-99</code>" in section(html)


def _prior_weight(lake, run_id) -> float:
    p = json.loads(lake.read_file(f"models/{run_id}.json"))["probability_two_random_records_match"]
    return math.log2(p / (1 - p))


def test_linkage_pages_reference_nothing_on_the_network(linked):
    _, _, html, folder = linked
    assert re.findall(r"https?://", html) == []
    viewer = (folder / "comparison_viewer.html").read_text()
    assert "Content-Security-Policy" in viewer and "default-src 'none'" in viewer
    assert not re.search(r"""<(link|script|img|iframe)[^>]+(href|src)=["']?(https?:)?//""", viewer)
    latest = Path(str(folder).replace(folder.name, "latest"))
    assert (latest / "comparison_viewer.html").read_text() == viewer


def test_a_past_runs_report_drops_what_a_later_run_replaced(linked, tmp_path):
    lake, result, _, _ = linked
    copy = Lakehouse(shutil.copytree(lake.root, tmp_path / "lakehouse"))
    [row] = copy.read_table("audit/runs").to_pylist()
    later = {**row, "run_id": "20991231T000000Z-later1", "started_at": row["started_at"].replace(year=2099)}
    copy.write("audit/runs", pa.Table.from_pylist([later], copy.read_table("audit/runs").schema), later["run_id"],
               mode="append")
    html = Path(write_report(copy, result.run_id)).read_text()
    assert "silver/pairs now holds the output of a later run (20991231T000000Z-later1)" in html
    assert "gold/customer_xref now holds the output of a later run" in html
    assert "Sample of scored pairs" not in html and "Model: m, u" in html
    viewer = Path(copy.path(f"reports/{result.run_id}/comparison_viewer.html")).read_text()
    assert "no sample of pairs" in viewer and "<script" not in viewer


def test_linkage_facts_are_drawn_as_recorded(tmp_path):
    lakehouse = Lakehouse(tmp_path / "lakehouse")
    write_run(lakehouse, {"crm": {"ingested": 100, "quarantined": 0, "silver": 100}},
              linkage={"threshold": 0.99, "budget_per_record": 10.0, "max_pairs_for_u": 2e6, "seed": 42,
                       "blocking_rules": [{"rule": XSS, "comparisons": 1500}]})
    part = section(Path(write_report(lakehouse, RUN)).read_text())
    assert "<b>15.0</b> against a budget of <b>10.0</b>" in part and "over budget" in part
    assert "<b>max_pairs_for_u</b>: 2e+06" in part and "<b>seed</b>: 42" in part
    assert "<script>" not in part and "&lt;script&gt;" in part
    assert "silver/pairs is not in this lakehouse" in part
    assert "clustering threshold: <b>0.99</b> (match weight +6.63)" in part


def test_comparisons_counted_on_a_sample_say_so(tmp_path):
    lakehouse = Lakehouse(tmp_path / "lakehouse")
    write_run(lakehouse, {"crm": {"ingested": 100, "quarantined": 0, "silver": 100}},
              linkage={"blocking_count_sample": 0.25, "blocking_rules": [{"rule": "l.x = r.x", "comparisons": 1500}]})
    part = section(Path(write_report(lakehouse, RUN)).read_text())
    assert "Comparisons estimated from a sample of 25.0% of the records" in part
    assert "blocking_count_sample" not in part  # a known fact, not listed among the others


def test_exact_comparison_counts_are_not_called_estimates(linked):
    _, _, html, _ = linked
    assert "Comparisons estimated from a sample" not in section(html)


@pytest.mark.browser
@needs_browser
def test_linkage_section_and_viewer_render_offline_in_a_browser(linked, browser):
    _, _, _, folder = linked
    page, seen = open_report(browser, str(folder / "quality.html"))
    assert page.get_by_role("heading", name="Linkage").is_visible()
    for chart in ("match weight histogram", "cluster sizes"):
        assert page.locator(f"svg[aria-label='{chart}']").is_visible()
    assert page.locator("table.pairs").count() == 4
    with page.expect_navigation():
        page.get_by_role("link", name="Splink's comparison viewer of this sample").click()
    page.wait_for_selector("#outer_container svg, #outer_container canvas", timeout=10_000)
    assert page.url.endswith("/comparison_viewer.html")
    assert seen["failed"] == [] and seen["errors"] == []
    assert [u for u in seen["requests"] if not u.startswith("file:")] == []
    assert len(seen["requests"]) == 2


def test_a_linkage_section_that_cannot_be_drawn_leaves_the_rest_of_the_report(tmp_path):
    lakehouse = Lakehouse(tmp_path / "lakehouse")
    write_run(lakehouse, {"crm": {"ingested": 10, "quarantined": 0, "silver": 10}})
    lakehouse.write_file(f"models/{RUN}.json", b'{"comparisons": "not a model"}')
    html = Path(write_report(lakehouse, RUN)).read_text()
    assert "The linkage section could not be drawn" in html
    assert "read <b>10</b> = passed <b>10</b>" in html
