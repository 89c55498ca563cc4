"""Linkage with settings scv did not derive: a trained model reused (`linkage.model`) and
an expert's Splink settings (`linkage.splink`)."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from conftest import CRM_CSV, SHARED_DATA, SHOP_CSV, TWO_SOURCES_YAML, write_project
from scv import Project
from test_config_errors import error_line, run_with

FAKE_1000 = SHARED_DATA / "fake_1000.csv"
PEOPLE_YAML = f"""\
    lakehouse: ./lakehouse
    sources:
      people:
        path: {FAKE_1000}
        id: unique_id
        columns: {{first_name: first_name, last_name: surname, date_of_birth: dob, city: city, email: email}}
    """


def with_linkage(yaml_text: str, linkage: str) -> str:
    return textwrap.dedent(yaml_text) + "linkage:\n" + textwrap.indent(textwrap.dedent(linkage), "  ")


def saved_model(project: Project, run_id: str) -> dict:
    return json.loads(project.lakehouse.read_file(f"models/{run_id}.json"))


def linkage_facts(project: Project, run_id: str) -> dict:
    runs = project.lakehouse.read_table("audit/runs").to_pylist()
    return json.loads(next(r["linkage"] for r in runs if r["run_id"] == run_id))


def parameters(model: dict) -> tuple:
    """What training estimates: the prior, and m and u of every level."""
    return (model["probability_two_random_records_match"],
            [(level.get("m_probability"), level.get("u_probability"))
             for c in model["comparisons"] for level in c["comparison_levels"]])


def xref(project: Project) -> dict[str, str]:
    rows = project.lakehouse.read_table("gold/customer_xref").to_pylist()
    return {r["record_key"]: r["customer_id"] for r in rows}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Project, Path]:
    """fake_1000 linked with a model trained on it; the model kept beside a new project's scv.yaml."""
    if not FAKE_1000.exists():
        pytest.skip(f"shared data not found at {FAKE_1000}")
    project = Project.load(write_project(tmp_path_factory.mktemp("trained"), PEOPLE_YAML, {}))
    result = project.run()
    model = tmp_path_factory.mktemp("reviewed") / "model.json"
    model.write_text(project.lakehouse.read_file(f"models/{result.run_id}.json").decode())
    return project, model


@pytest.fixture(scope="module")
def reused(trained, tmp_path_factory):
    """The same records linked again, in a new lakehouse, with the trained model."""
    _, model = trained
    folder = tmp_path_factory.mktemp("reused")
    shutil.copy(model, folder / "model.json")
    project = Project.load(write_project(folder, with_linkage(PEOPLE_YAML, "model: model.json\n"), {}))
    return project, project.run()


def test_a_reused_model_links_the_same_records_into_the_same_customers(trained, reused):
    (first, _), (second, _) = trained, reused
    assert xref(second) == xref(first)


def test_a_reused_model_is_not_trained_again(trained, reused):
    _, model = trained
    project, result = reused
    assert parameters(saved_model(project, result.run_id)) == parameters(json.loads(model.read_text()))
    facts = linkage_facts(project, result.run_id)
    assert facts["model_source"] == "reused" and facts["model_path"] == "model.json"
    assert "prior_from_rules" not in facts  # the prior was neither estimated nor re-estimated
    assert not [w for w in result.warnings if "training step" in w]


def fake_1000_halves(folder: Path, linkage: str) -> Project:
    """fake_1000 as a CRM and a shop (alternate rows), with the given linkage settings."""
    header, *rows = FAKE_1000.read_text(encoding="utf-8").splitlines()
    halves = {"crm.csv": "\n".join([header, *rows[::2]]), "shop.csv": "\n".join([header, *rows[1::2]])}
    yaml_text = "lakehouse: ./lakehouse\nsources:\n" + "".join(
        f"  {name}:\n    path: {name}.csv\n    id: unique_id\n"
        "    columns: {first_name: first_name, last_name: surname, date_of_birth: dob, city: city, email: email}\n"
        for name in ("crm", "shop"))
    return Project.load(write_project(folder, with_linkage(yaml_text, linkage), halves))


def test_a_model_trained_on_one_source_links_two(trained, tmp_path):
    _, model = trained
    project = fake_1000_halves(tmp_path, f"model: {model}\n")
    result = project.run()

    assert saved_model(project, result.run_id)["link_type"] == "dedupe_only"  # both sources as one input
    customers = {}
    for key, customer in xref(project).items():
        customers.setdefault(customer, set()).add(key.split(":")[0])
    assert any(sources == {"crm", "shop"} for sources in customers.values())


def run_cli(folder: Path, yaml_text: str, files: dict[str, str] | None = None):
    """`scv run` of the two-source project, with `files` beside it."""
    return run_with(folder, yaml_text, {"crm.csv": CRM_CSV, "shop.csv": SHOP_CSV} | (files or {}))


@pytest.mark.parametrize("content, says", [
    (None, "no file 'model.json'"),
    ("{not json", "'model.json' is not JSON"),
    ('{"expectations": []}', "'model.json' is not a Splink model"),
    ('{"comparisons": [{"comparison_levels": [{"sql_condition": "ELSE"}]}]}',
     "no trained m or u probabilities; to train a model with them, give them under linkage.splink"),
])
def test_a_model_file_that_is_not_a_model_is_refused_before_the_run(tmp_path, content, says):
    files = {} if content is None else {"model.json": content}
    result = run_cli(tmp_path, with_linkage(TWO_SOURCES_YAML, "model: model.json\n"), files)
    assert result.exit_code == 2
    assert error_line(result).startswith("error: linkage.model: ") and says in error_line(result)
    assert not (tmp_path / "lakehouse").exists()


def test_a_model_comparing_a_column_the_input_lacks_names_it(trained, tmp_path):
    _, model = trained
    renamed = model.read_text().replace("surname", "family_name").replace("last_name", "family_name")
    result = run_cli(tmp_path, with_linkage(TWO_SOURCES_YAML, "model: model.json\n"), {"model.json": renamed})
    assert result.exit_code == 2
    line = error_line(result)
    assert "linkage.model: compares columns the linkage input does not have: family_name" in line
    assert "remove linkage.model to train a model on this data" in line


def test_an_expert_link_only_pairs_records_of_different_sources_only(tmp_path):
    """All sources are one Splink input: a link_only override still reads the source column."""
    if not FAKE_1000.exists():
        pytest.skip(f"shared data not found at {FAKE_1000}")
    project = fake_1000_halves(tmp_path, "splink: {link_type: link_only}\n")
    result = project.run()

    pairs = project.lakehouse.read_table("silver/pairs").to_pylist()
    assert len(pairs) > 100
    assert all(p["record_key_l"].split(":")[0] != p["record_key_r"].split(":")[0] for p in pairs)
    assert saved_model(project, result.run_id)["link_type"] == "link_only"


OVERRIDE = """\
    splink:
      comparisons:
        - output_column_name: email
          comparison_levels:
            - {sql_condition: "email_l IS NULL OR email_r IS NULL", is_null_level: true}
            - {sql_condition: "email_l = email_r", label_for_charts: same mailbox}
            - {sql_condition: ELSE}
        - output_column_name: last_name
          comparison_levels:
            - {sql_condition: "last_name_l IS NULL OR last_name_r IS NULL", is_null_level: true}
            - {sql_condition: "last_name_l = last_name_r"}
            - {sql_condition: ELSE}
      blocking_rules_to_generate_predictions: ["l.email = r.email"]
      probability_two_random_records_match: 0.01
    """


@pytest.fixture(scope="module")
def overridden(tmp_path_factory):
    folder = tmp_path_factory.mktemp("overridden")
    project = Project.load(write_project(folder, with_linkage(TWO_SOURCES_YAML, OVERRIDE),
                                         {"crm.csv": CRM_CSV, "shop.csv": SHOP_CSV}))
    result = project.run()
    return project, result, saved_model(project, result.run_id)


def test_splink_settings_replace_the_derived_comparisons_and_blocking_rules(overridden):
    _, _, model = overridden
    assert [c["output_column_name"] for c in model["comparisons"]] == ["email", "last_name"]
    assert "same mailbox" in [level.get("label_for_charts") for level in model["comparisons"][0]["comparison_levels"]]
    assert [r["blocking_rule"] for r in model["blocking_rules_to_generate_predictions"]] == ["l.email = r.email"]


def test_a_prior_given_in_splink_settings_stands(overridden):
    project, result, model = overridden
    assert model["probability_two_random_records_match"] == 0.01
    assert linkage_facts(project, result.run_id)["settings_overridden"] == [
        "blocking_rules_to_generate_predictions", "comparisons", "probability_two_random_records_match"]


def test_splink_settings_that_splink_cannot_read_name_the_setting(tmp_path):
    bad = OVERRIDE.replace('"email_l = email_r"', '"email_l = = email_r"')
    result = run_cli(tmp_path, with_linkage(TWO_SOURCES_YAML, bad))
    assert result.exit_code == 2
    assert error_line(result).startswith("error: linkage.splink: Splink cannot run these settings")


@pytest.mark.parametrize("setting, says", [
    ("unique_id_column_name: customer_id", "'unique_id_column_name' is set by scv"),
    ("em_convergance: 0.001", "did you mean 'em_convergence'?"),
])
def test_splink_settings_scv_controls_or_splink_lacks_are_refused_at_load(tmp_path, setting, says):
    result = run_cli(tmp_path, with_linkage(TWO_SOURCES_YAML, f"splink:\n  {setting}\n"))
    assert result.exit_code == 2
    assert "linkage.splink" in error_line(result) and says in error_line(result)
    assert not (tmp_path / "lakehouse").exists()


def test_a_reused_model_keeps_its_own_comparisons(tmp_path):
    result = run_cli(tmp_path, with_linkage(TWO_SOURCES_YAML, "model: model.json\n" + textwrap.dedent(OVERRIDE)),
                     {"model.json": "{}"})
    assert result.exit_code == 2
    assert "give model or splink.comparisons, not both" in error_line(result)


def test_the_run_report_says_where_a_reused_model_came_from(reused):
    project, result = reused
    html = Path(project.lakehouse.path(f"reports/{result.run_id}/quality.html")).read_text()
    assert "reused from <code>model.json</code>, not trained on this run's records" in html
