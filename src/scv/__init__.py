"""scv: a single customer view from several customer systems, in a Delta lakehouse.

    from scv import Project
    result = Project.load("scv.yaml").run()
"""

from scv.errors import ConfigError, ScvError, StageFailed

__all__ = ["ConfigError", "Project", "ScvError", "StageFailed"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """Project on first use: the whole pipeline (Splink, DuckDB, Delta) takes about a
    second to import, which commands that do not run it (`scv generate`, `--help`) skip."""
    if name == "Project":
        from scv.project import Project

        return Project
    raise AttributeError(f"module 'scv' has no attribute {name!r}")
