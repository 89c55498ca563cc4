"""`scv explain`: why two records were or were not linked, on a lakehouse built by a real run."""

from __future__ import annotations

import re
import shutil
from importlib.util import find_spec

import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

from conftest import CRM_CSV, SHOP_CSV, TWO_SOURCES_YAML, write_project
from scv import Project
from scv.cli import app
from scv.errors import ScvError

# Robert Smith is crm:c1 and shop:101 (linked); Ann Brown (crm:c3) and Zoë Clark (shop:103) share nothing.
ROBERT, ROBERT_SHOP = "crm:c1", "shop:101"
ANN, ZOE = "crm:c3", "shop:103"
# Resources a page would fetch: src/href attributes, CSS url() and @import, script imports.
NETWORK_REFERENCE = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import|import\s*\(?\s*["']https?:""",
    re.IGNORECASE)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    folder = tmp_path_factory.mktemp("explain")
    project = Project.load(write_project(folder, TWO_SOURCES_YAML, {"crm.csv": CRM_CSV, "shop.csv": SHOP_CSV}))
    project.run()
    return project


def pairs_probability(project: Project, a: str, b: str) -> float:
    pairs = project.lakehouse.read("silver/pairs").to_table(
        filter=(ds.field("record_key_l") == a) & (ds.field("record_key_r") == b))
    return pairs["match_probability"][0].as_py()


def test_weights_add_up_to_the_score_linkage_gave_a_linked_pair(project):
    found = project.explain(ROBERT, ROBERT_SHOP)

    total = found.prior_match_weight + sum(c.match_weight for c in found.comparisons)
    assert total == pytest.approx(found.match_weight)
    assert found.match_probability == pytest.approx(2 ** total / (1 + 2 ** total))
    assert found.match_probability == pytest.approx(pairs_probability(project, ROBERT, ROBERT_SHOP))
    assert found.in_pairs and found.same_customer
    assert {c.name: c.level for c in found.comparisons}["email"] == "Exact match on email"


def test_two_different_people_get_a_negative_total(project):
    found = project.explain(ANN, ZOE)

    assert found.match_weight < 0
    assert all(c.match_weight <= 0 for c in found.comparisons)
    assert not found.in_pairs and found.same_customer is False
    assert "no blocking rule admits the pair" in found.pairs_verdict


def test_personal_values_are_shapes_unless_revealed(project):
    result = CliRunner().invoke(app, ["explain", ROBERT, ROBERT_SHOP, "--config", str(project.base_dir / "scv.yaml")],
                                env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "Exact match on first_name" in result.stdout and "a+.a+@a+.a+" in result.stdout
    assert not {"robert", "smith", "rob.smith", "7700900123"} & set(re.findall(r"[\w.]+", result.stdout.lower()))
    revealed = {c.name: c.value_b for c in project.explain(ROBERT, ROBERT_SHOP, reveal=True).comparisons}
    assert revealed["email"] == "rob.smith@example.com"


def test_unknown_record_key_names_it_and_where_to_look(project):
    with pytest.raises(ScvError) as err:
        project.explain(ROBERT, "shop:999")

    assert err.value.exit_code == 1
    assert "'shop:999'" in str(err.value) and "scv status" in str(err.value)


def test_chart_is_one_offline_html_file_with_the_waterfall_spec(project, tmp_path):
    html = project.explain(ROBERT, ROBERT_SHOP).write_html(tmp_path / "why.html").read_text(encoding="utf-8")

    assert NETWORK_REFERENCE.search(html) is None and "cdn." not in html
    assert "<script src" not in html and "vegaEmbed(" in html
    assert '"$schema": "https://vega.github.io/schema/vega-lite/' in html  # the spec, inlined
    assert "Exact match on email" in html and "Final score" in html
    assert "rob.smith@example.com" not in html.lower()  # masked like the terminal


def test_without_a_linking_run_it_says_to_run_first(tmp_path):
    project = Project.load(write_project(tmp_path, TWO_SOURCES_YAML, {"crm.csv": CRM_CSV, "shop.csv": SHOP_CSV}))

    with pytest.raises(ScvError, match=r"run `scv run` first"):
        project.explain(ROBERT, ROBERT_SHOP)


def test_a_run_of_one_record_has_no_model_to_explain_with(tmp_path):
    crm_only = TWO_SOURCES_YAML.split("      shop:")[0]
    header_and_robert = "".join(CRM_CSV.splitlines(keepends=True)[:2])
    project = Project.load(write_project(tmp_path, crm_only, {"crm.csv": header_and_robert}))
    project.run()

    with pytest.raises(ScvError, match="fewer than 2"):
        project.explain(ROBERT, ANN)


needs_browser = pytest.mark.skipif(
    not (find_spec("playwright") and shutil.which("chromium")), reason="needs playwright and chromium")


@pytest.mark.browser
@needs_browser
def test_chart_draws_in_a_browser_without_any_request(project, tmp_path):
    from playwright.sync_api import sync_playwright

    path = project.explain(ROBERT, ROBERT_SHOP).write_html(tmp_path / "why.html")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"))
        page = browser.new_page()
        requests, errors = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_selector("canvas, svg", timeout=10_000)
        browser.close()

    assert requests == [path.as_uri()] and errors == []
