"""Expectation suites: defaults from the mapping, GX suite files, severities, quarantine."""

from __future__ import annotations

import json
import textwrap

import pytest
from typer.testing import CliRunner

from conftest import CENSUS_CSV, HISTORICAL_YAML, PARISH_CSV, write_project
from scv import Project
from scv.cli import app
from scv.errors import ConfigError, StageFailed
from scv.validate import mask

# Known bad rows: c2 and c5 have malformed emails, c3 a date of birth that is no date,
# c4 one before 1900, c6 appears twice with different rows, c7 a name of punctuation only.
CRM = """\
contactid,firstname,lastname,email,birthdate,phone,country
c1,Robert,Smith,rob.smith@example.com,1980-02-01,07700 900123,GB
c2,Elizabeth,Jones,liz.jones.example.com,1975-12-24,07700 900456,GB
c3,Ann,Brown,ann@example.com,1990-02-31,07700 900789,GB
c4,Zoë,Clark,zoe@example.com,1850-06-02,07700 900999,IE
c5,Tom,Hardy,tom@@example.com,1977-09-15,07700 900111,GB
c6,Ada,King,ada@example.com,1985-01-01,07700 900222,GB
c6,Ada,Lovelace,ada@example.com,1985-01-01,07700 900222,GB
c7,...,Moss,moss@example.com,1960-03-03,07700 900333,FR
"""
PROJECT = """\
    sources:
      crm:
        path: crm.csv
        id: contactid
        columns: {first_name: firstname, last_name: lastname, email: email,
                  date_of_birth: birthdate, phone: phone, country: country}
    """


def project_with(tmp_path, validation: str = "", files: dict | None = None) -> Project:
    text = PROJECT.rstrip(" ") + textwrap.indent(textwrap.dedent(validation), " " * 8) + "\n"
    return Project.load(write_project(tmp_path, text, {"crm.csv": CRM, **(files or {})}))


def results(project: Project, run_id: str) -> list[dict]:
    rows = project.lakehouse.read_table("audit/validation_results").to_pylist()
    return [r for r in rows if r["run_id"] == run_id]


def result_of(project, run_id, expectation, column) -> dict:
    [row] = [r for r in results(project, run_id)
             if r["expectation"] == expectation and r["column"] == column and r["source"] == "crm"]
    return row


def test_defaults_catch_bad_emails_dates_names_and_duplicate_ids_exactly(tmp_path):
    project = project_with(tmp_path)
    run = project.run()
    assert result_of(project, run.run_id, "expect_column_values_to_match_regex", "email")["unexpected_count"] == 2
    assert result_of(project, run.run_id, "expect_column_values_to_be_between", "birthdate")["unexpected_count"] == 2
    assert result_of(project, run.run_id, "expect_column_values_to_be_unique", "contactid")["unexpected_count"] == 2
    assert result_of(project, run.run_id, "expect_column_values_to_match_regex", "firstname")["unexpected_count"] == 1
    assert result_of(project, run.run_id, "expect_column_values_to_match_regex", "phone")["success"]


def test_default_data_checks_warn_and_keep_the_rows(tmp_path):
    project = project_with(tmp_path)
    run = project.run()
    assert (run.ingested, run.quarantined, run.silver) == (8, 2, 6)  # only the shared id c6 is held
    assert any("email" in w and "2 unexpected" in w for w in run.warnings)


def test_quarantine_severity_holds_rows_back_with_the_failed_expectations(tmp_path):
    project = project_with(tmp_path, """\
        validation:
          defaults: {email_well_formed: quarantine}""")
    run = project.run()
    held = project.lakehouse.read_table("quarantine/crm").to_pylist()
    by_id = {r["_record_id"]: r for r in held}
    assert set(by_id) == {"c2", "c5", "c6"}
    assert by_id["c2"]["_failed_expectations"] == "expect_column_values_to_match_regex(email)"
    assert by_id["c2"]["_run_id"] == run.run_id
    silver = project.lakehouse.read_table("silver/records")["source_record_id"].to_pylist()
    assert "c2" not in silver and "c5" not in silver and run.silver == 4


def test_compound_uniqueness_counts_a_missing_part_as_a_value_and_ignores_rows_missing_all(tmp_path):
    """As GX: rows sharing (email, country) are duplicates, a missing country counting as a
    value; a row with neither is not measured. c6's two rows share both."""
    files = {"crm.csv": CRM + "c8,Ann,Lee,lee@example.com,1960-03-03,07700 900444,\n"
                              "c9,Bo,Lee,lee@example.com,1961-03-03,07700 900445,\n"
                              "c10,Cy,Ng,,1962-03-03,07700 900446,\nc11,Di,Ng,,1963-03-03,07700 900447,\n"}
    project = project_with(tmp_path, """\
        validation:
          expectations:
            - type: expect_compound_columns_to_be_unique
              kwargs: {column_list: [email, country]}
              severity: quarantine""", files)
    project.run()
    held = {r["_record_id"] for r in project.lakehouse.read_table("quarantine/crm").to_pylist()}
    assert held == {"c6", "c8", "c9"}


def test_error_severity_stops_the_run_before_silver_and_names_the_observed_value(tmp_path):
    project = project_with(tmp_path, """\
        validation:
          expectations:
            - type: expect_table_row_count_to_be_between
              kwargs: {min_value: 100}
              severity: error""")
    with pytest.raises(StageFailed) as err:
        project.run()
    assert "expect_table_row_count_to_be_between" in str(err.value) and "observed 8" in str(err.value)
    assert not project.lakehouse.exists("silver/records")
    [audit] = project.lakehouse.read_table("audit/runs").to_pylist()
    assert (audit["status"], audit["failed_stage"]) == ("failed", "validate")


def test_error_failure_exits_1_on_the_command_line(tmp_path):
    project_with(tmp_path, """\
        validation:
          expectations:
            - {type: expect_column_values_to_be_in_set, kwargs: {column: country, value_set: [GB, IE]}}""")
    result = CliRunner().invoke(app, ["run", "--config", str(tmp_path / "scv.yaml")])
    assert result.exit_code == 1
    assert "expect_column_values_to_be_in_set(country)" in result.output
    assert "1 unexpected of 8" in result.output


def test_a_gx_suite_file_loads_in_either_gx_format(tmp_path):
    suite = {"name": "crm_suite", "expectations": [
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "country", "value_set": ["GB", "IE", "FR"]}, "meta": {}, "severity": "critical"},
        {"expectation_type": "expect_column_value_lengths_to_be_between",
         "kwargs": {"column": "phone", "min_value": 12, "max_value": 12}, "meta": {"severity": "warning"}},
    ]}
    project = project_with(tmp_path, "validation: {suite: suites/crm.json}",
                           {"suites/crm.json": json.dumps(suite)})
    run = project.run()
    in_set = result_of(project, run.run_id, "expect_column_values_to_be_in_set", "country")
    assert (in_set["success"], in_set["severity"], in_set["origin"]) == (True, "error", "suite")
    lengths = result_of(project, run.run_id, "expect_column_value_lengths_to_be_between", "phone")
    assert (lengths["success"], lengths["severity"]) == (True, "warn")


def test_a_default_can_be_switched_off(tmp_path):
    project = project_with(tmp_path, "validation: {defaults: {email_well_formed: false}}")
    run = project.run()
    assert not [r for r in results(project, run.run_id) if r["column"] == "email"]


def test_an_unknown_expectation_is_a_config_error_with_a_suggestion(tmp_path):
    project = project_with(tmp_path, """\
        validation:
          expectations:
            - {type: expect_column_values_to_be_uniqe, kwargs: {column: email}}""")
    with pytest.raises(ConfigError, match="did you mean 'expect_column_values_to_be_unique'"):
        project.run()


def test_an_expectation_on_a_missing_column_names_it(tmp_path):
    project = project_with(tmp_path, """\
        validation:
          expectations:
            - {type: expect_column_values_to_not_be_null, kwargs: {column: emial}}""")
    with pytest.raises(ConfigError, match="'emial'.*did you mean 'email'"):
        project.run()


def test_unexpected_samples_of_personal_columns_show_only_their_shape(tmp_path):
    project = project_with(tmp_path)
    run = project.run()
    sample = json.loads(result_of(project, run.run_id, "expect_column_values_to_match_regex", "email")
                        ["unexpected_sample"])
    assert sorted(sample) == ["a+.a+.a+.a+", "a+@@a+.a+"]
    assert "liz" not in json.dumps(results(project, run.run_id))


def test_released_rows_enter_silver_on_the_next_run(tmp_path):
    project = project_with(tmp_path, "validation: {defaults: {email_well_formed: quarantine}}")
    project.run()
    runner = CliRunner()
    config = str(tmp_path / "scv.yaml")
    released = runner.invoke(app, ["quarantine", "release", "crm", "--id", "c2", "--config", config])
    assert released.exit_code == 0, released.output
    second = project.run()
    held = {r["_record_id"] for r in project.lakehouse.read_table("quarantine/crm").to_pylist()}
    assert held == {"c5", "c6"} and second.silver == 5
    assert "c2" in project.lakehouse.read_table("silver/records")["source_record_id"].to_pylist()


def test_rows_that_share_an_id_cannot_be_released(tmp_path):
    project = project_with(tmp_path)
    project.run()
    result = CliRunner().invoke(
        app, ["quarantine", "release", "crm", "--id", "c6", "--config", str(tmp_path / "scv.yaml")])
    assert result.exit_code == 0  # a shared id fails a check: the steward may accept both rows
    result = CliRunner().invoke(
        app, ["quarantine", "release", "crm", "--id", "c99", "--config", str(tmp_path / "scv.yaml")])
    assert result.exit_code == 1 and "not in quarantine" in result.output


def test_quarantine_show_masks_personal_columns(tmp_path):
    project_with(tmp_path, "validation: {defaults: {email_well_formed: quarantine}}").run()
    result = CliRunner().invoke(app, ["quarantine", "show", "crm", "--config", str(tmp_path / "scv.yaml")])
    assert result.exit_code == 0, result.output
    assert "Elizabeth" not in result.output and "Aa+" in result.output and "c2" in result.output


def test_scv_validate_checks_without_writing_silver(tmp_path):
    project = project_with(tmp_path)
    result = CliRunner().invoke(app, ["validate", "--config", str(tmp_path / "scv.yaml")])
    assert result.exit_code == 0, result.output
    assert project.lakehouse.exists("audit/validation_results")
    assert not project.lakehouse.exists("silver/records")


def test_failing_output_checks_leave_the_published_gold_in_place(tmp_path, monkeypatch):
    import scv.validate
    from scv.expectations import Expectation

    project = project_with(tmp_path)
    first = project.run()
    gold_version = project.lakehouse.info("gold/customers").version
    impossible = {"customers": [Expectation("expect_table_row_count_to_equal", {"value": -1}, "error", "output")]}
    monkeypatch.setattr(scv.validate, "output_suites", lambda run: impossible)
    with pytest.raises(StageFailed, match="expect_table_row_count_to_equal"):
        project.run()
    assert project.lakehouse.info("gold/customers").version == gold_version
    assert project.lakehouse.info("gold/customers").last_run == first.run_id


def test_output_checks_pass_and_are_recorded_for_gold(tmp_path):
    project = project_with(tmp_path)
    run = project.run()
    gold = [r for r in results(project, run.run_id) if r["source"].startswith("gold/")]
    assert gold and all(r["success"] and r["origin"] == "output" for r in gold)


def test_mask_keeps_the_shape_of_a_value():
    assert mask("Jo Smith") == "Aa Aa+"
    assert mask("07700 900123") == "99999 999999"


# Checks that fit the data: HISTORICAL_YAML (conftest), people born before 1900.


def historical_project(folder, more: str = "") -> Project:
    files = {"census.csv": CENSUS_CSV, "parish.csv": PARISH_CSV}
    return Project.load(write_project(folder, HISTORICAL_YAML + more, files))


@pytest.fixture(scope="module")
def historical(tmp_path_factory):
    """The historical project, run once with the defaults: (project, result)."""
    project = historical_project(tmp_path_factory.mktemp("historical"))
    return project, project.run()


def test_a_historical_date_of_birth_column_is_kept_in_silver(historical):
    project, _ = historical
    silver = project.lakehouse.read_table("silver/records").to_pylist()
    assert len(silver) == 18
    assert all(r["date_of_birth"] is not None and not r["date_of_birth_invalid"] for r in silver)


def test_linkage_compares_a_historical_date_of_birth(historical):
    """Father and son share name and town: only their dates of birth tell them apart."""
    project, run = historical
    model = json.loads(project.lakehouse.read_file(f"models/{run.run_id}.json"))
    assert "date_of_birth" in {c["output_column_name"] for c in model["comparisons"]}
    customer = {r["record_key"]: r["customer_id"] for r in project.lakehouse.read_table("gold/customer_xref").to_pylist()}
    assert customer["census:c1"] == customer["parish:p1"] != customer["census:c9"] == customer["parish:p9"]


def test_the_built_in_date_of_birth_check_passes_a_historical_column(historical):
    project, run = historical
    check = result_of_source(project, run.run_id, "census", "expect_column_values_to_be_between", "born")
    assert check["success"] and check["unexpected_count"] == 0
    assert json.loads(check["kwargs"])["min_value"] <= "1829-12-01"  # the earliest in the column


def test_the_run_says_plainly_when_the_usual_range_would_reject_most_of_a_column(historical):
    project, run = historical
    [said] = [w for w in run.warnings if w.startswith("source census:")]
    assert "column born" in said and "1900 to today" in said and "100%" in said and "kept" in said
    assert not any(day in said for day in ("1843", "05-12", "1829"))  # no date of a record
    [audit] = project.lakehouse.read_table("audit/runs").to_pylist()
    assert said in json.loads(audit["warnings"])  # which the CLI prints and the report lists


def test_a_date_of_birth_range_set_in_the_project_file_is_obeyed(tmp_path):
    project = historical_project(tmp_path, "standardise: {date_of_birth_range: [1840-01-01, 1869-12-31]}\n")
    run = project.run()
    silver = {r["record_key"]: r for r in project.lakehouse.read_table("silver/records").to_pylist()}
    outside = {k for k, r in silver.items() if r["date_of_birth_invalid"]}
    assert outside == {"census:c4", "census:c7", "census:c9", "parish:p4", "parish:p7", "parish:p9"}
    assert all(silver[k]["date_of_birth"] is None for k in outside)
    check = result_of_source(project, run.run_id, "census", "expect_column_values_to_be_between", "born")
    assert (json.loads(check["kwargs"])["max_value"], check["unexpected_count"]) == ("1869-12-31", 3)


def test_a_set_range_that_rejects_most_of_a_column_is_reported_and_obeyed(tmp_path):
    project = historical_project(tmp_path, "standardise: {date_of_birth_range: [1900-01-01, today]}\n")
    run = project.run()
    assert any(w.startswith("source parish: column born: standardise.date_of_birth_range") and "100%" in w
               for w in run.warnings)
    assert all(r["date_of_birth"] is None for r in project.lakehouse.read_table("silver/records").to_pylist())


def test_an_impossible_date_of_birth_among_modern_ones_is_still_rejected(tmp_path):
    files = {"crm.csv": CRM + "c8,Al,Day,al@example.com,0001-01-01,07700 900444,GB\n"
                              "c9,Bo,Day,bo@example.com,2999-01-01,07700 900445,GB\n"}
    project = project_with(tmp_path, files=files)
    run = project.run()
    silver = {r["source_record_id"]: r for r in project.lakehouse.read_table("silver/records").to_pylist()}
    assert [(silver[i]["date_of_birth"], silver[i]["date_of_birth_invalid"]) for i in ("c4", "c8", "c9")] == [
        (None, True)] * 3
    check = result_of(project, run.run_id, "expect_column_values_to_be_between", "birthdate")
    assert check["unexpected_count"] == 4  # c3's 31 February too
    assert not any("birthdate" in w and "usual" in w for w in run.warnings)


def test_a_column_mostly_of_no_dates_of_birth_is_reported_with_the_settings_to_check(tmp_path):
    """Written month first, read day first: 24/12, 31/02 and 15/09 are no dates."""
    month_first = CRM.replace("1975-12-24", "12/24/1975").replace("1977-09-15", "09/15/1977").replace(
        "1985-01-01", "01/31/1985").replace("1960-03-03", "03/13/1960")
    run = project_with(tmp_path, files={"crm.csv": month_first}).run()
    [said] = [w for w in run.warnings if "no date of birth" in w]
    assert said.startswith("source crm: column birthdate: 75%") and "standardise.date_order" in said


def result_of_source(project, run_id, source, expectation, column) -> dict:
    [row] = [r for r in results(project, run_id)
             if r["expectation"] == expectation and r["column"] == column and r["source"] == source]
    return row
