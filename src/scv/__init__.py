"""scv: a single customer view from several customer systems, in a Delta lakehouse.

    from scv import Project
    result = Project.load("scv.yaml").run()
"""

from scv.errors import ConfigError, ScvError, StageFailed
from scv.project import Project

__all__ = ["ConfigError", "Project", "ScvError", "StageFailed"]
__version__ = "0.1.0"
