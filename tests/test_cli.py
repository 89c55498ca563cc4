"""The commands, run as a user would, checked through the Python API."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from scv import Project
from scv.cli import app

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output + (result.stderr or "")
    return result


def test_every_command_has_help_text():
    commands = get_command(app).commands
    assert set(commands) == {"init", "run", "validate", "quarantine", "generate", "demo", "evaluate", "explain", "lineage", "status",
                             "forget"}
    for name, command in commands.items():
        assert command.help and len(command.help) > 20, name


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    folder = tmp_path_factory.mktemp("starter") / "my-scv"
    invoke("init", folder)
    invoke("run", "--config", folder / "scv.yaml")
    return folder


def test_init_creates_a_runnable_commented_project(started):
    text = (started / "scv.yaml").read_text()
    assert "#" in text and "sources:" in text
    assert (started / "data" / "truth.csv").exists()


def test_init_refuses_to_overwrite_a_project(started):
    result = runner.invoke(app, ["init", str(started)])
    assert result.exit_code == 1
    assert "already exists" in result.stderr


def test_run_publishes_customers(started):
    project = Project.load(started / "scv.yaml")
    customers = project.lakehouse.read_table("gold/customers")
    xref = project.lakehouse.read_table("gold/customer_xref")
    assert 0 < customers.num_rows < xref.num_rows


def test_status_lists_tables_and_last_run(started):
    out = invoke("status", "--config", started / "scv.yaml").stdout
    assert "gold/customers" in out and "succeeded" in out


def test_evaluate_scores_against_the_generated_truth(started):
    out = invoke("evaluate", "--config", started / "scv.yaml", "--truth", started / "data" / "truth.csv", "--json").stdout
    scores = json.loads(out)
    assert scores["records"] == Project.load(started / "scv.yaml").lakehouse.read_table("gold/customer_xref").num_rows
    assert scores["f1"] >= 0.85


def test_evaluate_without_truth_says_how_to_give_it(started):
    result = runner.invoke(app, ["evaluate", "--config", str(started / "scv.yaml")])
    assert result.exit_code == 2
    assert "--truth FILE" in result.stderr


def test_generate_writes_sources_and_truth(tmp_path):
    out = invoke("generate", "--people", 200, "--out", tmp_path / "gen", "--seed", 7).stdout
    assert "records of 200 people" in out
    assert {p.name for p in (tmp_path / "gen").iterdir()} >= {
        "crm_contacts.csv", "shop_customers.parquet", "newsletter_signups.jsonl", "shop_orders.csv", "truth.csv"}


def test_generate_by_records_makes_about_that_many(tmp_path):
    out = invoke("generate", "--records", 3000, "--out", tmp_path / "gen").stdout
    made = int(out.split(" records of")[0].replace(",", ""))
    assert 2700 <= made <= 3300


def test_demo_runs_end_to_end_in_its_own_process_and_reports_f1(tmp_path):
    """As the README's quick start runs it: a process of its own, which must also exit
    cleanly (pyarrow once aborted it at exit, after the run had succeeded)."""
    done = subprocess.run(
        [sys.executable, "-c", "from scv.cli import app; app()", "demo", "--dir", str(tmp_path / "demo"),
         "--people", "1500"], capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "pairwise F1" in out
    f1 = float(out.split("pairwise F1 ")[1].split(";")[0])
    assert f1 >= 0.85
