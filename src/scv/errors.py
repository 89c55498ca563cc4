"""One base exception; the CLI turns each into a one-line message and an exit code.

Messages name the place (source, column, key) and the fix. They never carry
personal data: only names of sources, columns, keys and counts.
"""

from __future__ import annotations


class ScvError(Exception):
    """Base of every error scv raises on purpose."""

    exit_code = 1


class ConfigError(ScvError):
    """The project file or the sources it names are not usable as written."""

    exit_code = 2


class StageFailed(ScvError):
    """A pipeline stage stopped the run; gold tables are left as they were."""

    def __init__(self, stage: str, run_id: str, cause: BaseException | str):
        self.stage, self.run_id, self.cause = stage, run_id, cause
        super().__init__(f"stage '{stage}' failed in run {run_id}: {cause}")
