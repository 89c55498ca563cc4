"""What each stage costs the process: CPU seconds and peak memory, for the run's audit row.

CPU time is the whole process's (DuckDB's threads included); the peak is the resident
set's high-water mark, reset before each stage where Linux allows it, so each stage
shows its own peak rather than the run's so far. A Spark JVM is another process and
is not counted.
"""

from __future__ import annotations

import re
import resource
import sys
import time
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak() -> bool:
    """Start a new high-water mark (Linux: writing 5 to clear_refs); False where it can't."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """The resident set's high-water mark since the last reset (or since the start)."""
    try:
        return int(re.search(r"VmHWM:\s+(\d+) kB", _STATUS.read_text()).group(1)) * 1024
    except (OSError, AttributeError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class StageUsage:
    """Measures one stage: `with StageUsage() as usage: ...`, then `usage.as_dict()`."""

    def __enter__(self) -> StageUsage:
        reset_peak()
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.cpu_seconds = time.process_time() - self._cpu
        self.wall_seconds = time.perf_counter() - self._wall
        self.peak_rss_bytes = peak_rss_bytes()

    def as_dict(self) -> dict[str, float]:
        return {"cpu_seconds": round(self.cpu_seconds, 2), "peak_rss_mb": round(self.peak_rss_bytes / 2**20)}
