"""Retention: records inactive past the keep-for period leave every run, and every version."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CRM_CSV, SHOP_CSV, TWO_SOURCES_YAML, write_project
from scv import Project
from scv.config import period_days
from scv.errors import ConfigError

# c1 (Robert Smith) was last active in 2010; everyone else in 2024.
OLD_CRM = CRM_CSV.replace("SW1A 1AA,2024-01-01", "SW1A 1AA,2010-01-01")


def project(tmp_path, rules: str, crm: str = OLD_CRM) -> Project:
    return Project.load(write_project(tmp_path, TWO_SOURCES_YAML.rstrip(" ") + rules, {"crm.csv": crm, "shop.csv": SHOP_CSV}))


RULE = """\
    compliance:
      retention:
        - {source: crm, keep_for: 6 years}
    """


def test_records_inactive_past_the_period_leave_and_are_counted(tmp_path):
    result = project(tmp_path, RULE).run()
    crm = result.per_source["crm"]
    assert (crm["ingested"], crm["expired"], crm["suppressed"], crm["silver"]) == (3, 1, 1, 2)
    assert "expired" not in result.per_source["shop"]  # no rule applies to the shop


def test_no_version_of_any_table_keeps_an_expired_record(tmp_path):
    def holding(p: Project) -> list[str]:
        root = Path(p.lakehouse.root)
        return sorted({str(f.relative_to(root)).split("/")[0] for f in root.rglob("*")
                       if f.is_file() and b"Rob.Smith@Example.com" in f.read_bytes()})

    first = project(tmp_path, "")  # a run before the rule existed wrote Robert everywhere
    first.run()
    assert "bronze" in holding(first)
    with_rule = project(tmp_path, RULE)
    with_rule.run()
    assert holding(with_rule) == []
    assert "crm:c1" not in with_rule.lakehouse.read_table("silver/records")["record_key"].to_pylist()


def test_a_record_without_a_readable_date_is_kept(tmp_path):
    crm = OLD_CRM.replace("SW1A 1AA,2010-01-01", "SW1A 1AA,not a date")
    result = project(tmp_path, RULE, crm).run()
    assert result.per_source["crm"]["expired"] == 0


def test_a_rule_for_a_source_without_a_date_column_says_what_to_add(tmp_path):
    config = write_project(tmp_path, """\
        sources:
          crm: {path: crm.csv, id: contactid, columns: {first_name: firstname}}
        compliance:
          retention: [{keep_for: 6 years}]
        """, {"crm.csv": CRM_CSV})
    with pytest.raises(ConfigError, match="has no updated_at; give the rule a `column:`"):
        Project.load(config).run()


@pytest.mark.parametrize("text, days", [("6 years", 6 * 365.25), ("18 months", 18 * 30.4375),
                                        ("90 days", 90), ("1 week", 7)])
def test_periods_read_as_days(text, days):
    assert period_days(text) == pytest.approx(days)


def test_a_period_that_is_not_one_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="'six years' is not a period"):
        project(tmp_path, RULE.replace("6 years", "six years"))
