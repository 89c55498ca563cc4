"""Each mistake in a project file is one line naming the place and the fix, exit code 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from conftest import CRM_CSV, PARTS_CSV, PARTS_YAML, SHOP_CSV, TWO_SOURCES_YAML, write_project
from scv.cli import app

runner = CliRunner()


def run_with(tmp_path, yaml_text, files=None):
    files = {"crm.csv": CRM_CSV, "shop.csv": SHOP_CSV} if files is None else files
    config = write_project(tmp_path, yaml_text, files)
    return runner.invoke(app, ["run", "--config", str(config)])


def error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_unknown_key_suggests_the_right_one(tmp_path):
    result = run_with(tmp_path, TWO_SOURCES_YAML.rstrip(" ") + "    linkge:\n      threshold: 0.8\n")
    assert result.exit_code == 2
    line = error_line(result)
    assert "unknown key 'linkge'" in line and "did you mean 'linkage'?" in line


def test_unknown_canonical_field_suggests_the_right_one(tmp_path):
    result = run_with(tmp_path, TWO_SOURCES_YAML.replace("first_name: firstname", "frist_name: firstname"))
    assert result.exit_code == 2
    line = error_line(result)
    assert "sources.crm.columns" in line and "did you mean 'first_name'?" in line


def test_missing_file_names_the_source_and_path(tmp_path):
    result = run_with(tmp_path, TWO_SOURCES_YAML.replace("path: shop.csv", "path: shop_export.csv"))
    assert result.exit_code == 2
    line = error_line(result)
    assert "sources.shop.path" in line and "shop_export.csv" in line


def test_mapped_column_not_in_file_names_the_column_and_suggests(tmp_path):
    result = run_with(tmp_path, TWO_SOURCES_YAML.replace("email: emailaddress1", "email: emailaddress"))
    assert result.exit_code == 2
    line = error_line(result)
    assert "sources.crm.columns.email" in line
    assert "'emailaddress' is not in crm.csv" in line and "did you mean 'emailaddress1'?" in line


def test_missing_id_column_is_reported(tmp_path):
    result = run_with(tmp_path, TWO_SOURCES_YAML.replace("id: customer_id", "id: cust_id"))
    assert result.exit_code == 2
    assert "sources.shop.id" in error_line(result)


def test_duplicate_source_name_is_refused(tmp_path):
    doubled = TWO_SOURCES_YAML.replace("  shop:\n", "  crm:\n")
    result = run_with(tmp_path, doubled)
    assert result.exit_code == 2
    line = error_line(result)
    assert "'crm' is given twice" in line and "line" in line


def test_id_is_required(tmp_path):
    result = run_with(tmp_path, TWO_SOURCES_YAML.replace("        id: customer_id\n", ""))
    assert result.exit_code == 2
    assert "sources.shop.id: required" in error_line(result)


def test_format_that_cannot_be_inferred_asks_for_format(tmp_path):
    result = run_with(
        tmp_path,
        TWO_SOURCES_YAML.replace("path: shop.csv", "path: shop.dat"),
        {"crm.csv": CRM_CSV, "shop.dat": SHOP_CSV},
    )
    assert result.exit_code == 2
    assert "add `format:`" in error_line(result)


@pytest.mark.parametrize("name", ["Shop", "web-shop", "9shop"])
def test_source_names_must_be_table_safe(tmp_path, name):
    result = run_with(tmp_path, TWO_SOURCES_YAML.replace("  shop:\n", f"  {name}:\n"))
    assert result.exit_code == 2
    assert "lower-case letters" in error_line(result)


def test_missing_project_file_points_to_init(tmp_path):
    result = runner.invoke(app, ["run", "--config", str(tmp_path / "scv.yaml")])
    assert result.exit_code == 2
    assert "scv init" in error_line(result)


def test_errors_carry_no_personal_data(tmp_path):
    result = run_with(tmp_path, TWO_SOURCES_YAML.replace("email: emailaddress1", "email: emailaddress"))
    for value in ("Robert", "Smith", "example.com", "07700"):
        assert value not in result.stderr


def parts_error(tmp_path, old, new) -> str:
    """The error line of a run of the RLdata-like project with `old` in scv.yaml made `new`."""
    result = run_with(tmp_path, PARTS_YAML.replace(old, new), {"people.csv": PARTS_CSV})
    assert result.exit_code == 2
    return error_line(result)


def test_a_column_listed_for_a_field_must_be_in_the_file(tmp_path):
    line = parts_error(tmp_path, "[fname_c1, fname_c2]", "[fname_c1, fname_c3]")
    assert line.startswith("error: sources.people.columns.first_name: column 'fname_c3' is not in people.csv")
    assert "did you mean 'fname_c2'?" in line


def test_a_date_from_parts_takes_year_month_and_day(tmp_path):
    line = parts_error(tmp_path, "[by, bm, bd]", "[by, bm]")
    assert "sources.people.columns: date_of_birth: a date from parts takes three columns" in line
    assert "year, month and day in that order, not 2 (by, bm)" in line


def test_email_and_phone_are_one_column_each(tmp_path):
    line = parts_error(tmp_path, "date_of_birth: [by, bm, bd]", "email: [fname_c1, lname_c1]")
    assert "sources.people.columns: email: give one column, not 2" in line


@pytest.mark.parametrize("threshold", ["1.5", "high"])
def test_a_threshold_that_is_neither_a_probability_nor_auto_is_one_line(tmp_path, threshold):
    result = run_with(tmp_path, TWO_SOURCES_YAML.rstrip(" ") + f"    linkage:\n      threshold: {threshold}\n")
    assert result.exit_code == 2
    line = error_line(result)
    assert "linkage.threshold: give a match probability above 0 and below 1, or auto" in line and threshold in line


@pytest.mark.parametrize("budget", ["0", "many"])
def test_a_blocking_budget_that_is_neither_positive_nor_auto_is_one_line(tmp_path, budget):
    result = run_with(tmp_path, TWO_SOURCES_YAML.rstrip(" ") + f"    linkage:\n      comparisons_per_record: {budget}\n")
    assert result.exit_code == 2
    line = error_line(result)
    assert "linkage.comparisons_per_record: give a number of comparisons per record above 0, or auto" in line


@pytest.mark.parametrize("given", ["1800", "[1800, 1899]", "[1900-01-01, 1800-01-01]", "[1800-01-01, tomorrow]"])
def test_a_date_of_birth_range_takes_two_dates_in_order(tmp_path, given):
    result = run_with(tmp_path, TWO_SOURCES_YAML + f"standardise: {{date_of_birth_range: {given}}}\n")
    assert result.exit_code == 2
    line = error_line(result)
    assert "standardise.date_of_birth_range" in line and ("[1800-01-01, today]" in line or "after the latest" in line)
