"""Starter and demo projects: generated sources plus a project file that maps them."""

from __future__ import annotations

from pathlib import Path

from scv.errors import ScvError
from scv.generate import GeneratedData, demo_project_yaml, generate

DATA_DIR = "data"


def write_project(directory: str | Path, people: int, seed: int = 42,
                  overwrite: bool = False) -> tuple[Path, GeneratedData]:
    """Generate sources into DIR/data and write DIR/scv.yaml; return the file and the data."""
    directory = Path(directory)
    config = directory / "scv.yaml"
    if config.exists() and not overwrite:
        raise ScvError(f"{config} already exists; choose another folder or pass --force")
    data = generate(directory / DATA_DIR, people=people, seed=seed)
    config.write_text(demo_project_yaml(DATA_DIR, "lakehouse"), encoding="utf-8")
    return config, data
