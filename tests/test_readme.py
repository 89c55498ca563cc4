"""The README's quick start is what CI runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = ".venv/bin/python -m pytest -q"
    assert f"```bash\n{test_command}\n```" in readme
    assert ci.rstrip().splitlines()[-1] == test_command


def test_quick_start_installs_and_runs_the_demo():
    readme = (ROOT / "README.md").read_text()
    assert '.venv/bin/pip install -e ".[test]" && .venv/bin/scv demo' in readme
