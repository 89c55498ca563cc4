"""A run: the stages in order, the ledger of what happened to every row, and the audit row.

Each stage reads and writes engine tables by name and lands its own layer in the
lakehouse. Gold is published last, so a failed run leaves the previous gold in place.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from scv.birth_dates import BirthRange
from scv.config import ProjectConfig
from scv.engine import Engine
from scv.events import cleanse_events
from scv.errors import ScvError, StageFailed
from scv.golden import golden, publish_gold
from scv.increment import Previous, plan
from scv.ingest import ingest
from scv.lakehouse import Lakehouse
from scv.link import link
from scv.profile import profile
from scv.pseudonymise import pseudonymisation_key, pseudonymise, publish_pseudonymised
from scv.report import write_report
from scv.retention import purge_expired
from scv.standardise import standardise
from scv.usage import StageUsage
from scv.validate import validate

log = logging.getLogger(__name__)


def publish(run: Run) -> None:
    """Gold, then its pseudonymised copy and the vault (when switched on)."""
    publish_gold(run)
    publish_pseudonymised(run)


def standardise_sources(run: Run) -> None:
    """Customer records to silver/records, events to silver/events."""
    standardise(run)
    cleanse_events(run)


STAGES: list[tuple[str, Callable]] = [
    ("ingest", ingest),
    ("profile", profile),
    ("validate", validate),
    ("standardise", standardise_sources),
    ("link", link),
    ("golden", golden),
    ("pseudonymise", pseudonymise),
    ("publish", publish),
]
CHECK_STAGES = STAGES[:3]  # `scv validate`
# Engine tables no later stage reads, dropped as a stage ends so that the next has the
# engine's memory: at 1M records golden otherwise ran with 3.4 GB of them held, spilling.
SPENT_AFTER = {
    "validate": ("bronze_{source}", "raw_{source}__rejects", "quarantine_{source}"),
    "standardise": ("valid_{source}", "seen_{source}"),
    "link": ("link_inputs", "linked_by_rule"),
}
Progress = Callable[[str, str], None]  # (stage, "start" | "done")


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@dataclass
class Run:
    config: ProjectConfig
    base_dir: Path
    lakehouse: Lakehouse
    engine: Engine
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    run_id: str = ""
    per_source: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    totals: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_usage: dict[str, dict[str, float]] = field(default_factory=dict)  # CPU s, peak RSS MB
    warnings: list[str] = field(default_factory=list)
    # What linkage found, for the report's linkage section (scv.report_linkage.LinkageFacts):
    # {"blocking_rules": [{"rule", "comparisons"}], "budget_per_record", "estimated_blocking_recall"}
    linkage_facts: dict = field(default_factory=dict)
    # Each customer source's range of dates of birth, decided as validation starts
    # (scv.birth_dates): its built-in check and silver's cleaning rule use the same one.
    birth_ranges: dict[str, BirthRange] = field(default_factory=dict)
    pseudonymisation_key: bytes | None = field(default=None, repr=False)  # never logged
    full: bool = False  # asked for a full run (`scv run --full`)
    previous: Previous | None = None  # the run this one continues; None in a full run
    mode_reason: str = ""  # why the run is full or incremental

    def __post_init__(self):
        self.run_id = self.run_id or new_run_id(self.started_at)

    def count(self, source: str | None, what: str, n: int) -> None:
        if source is None:
            self.totals[what] = n
        else:
            self.per_source[source][what] = n

    def total(self, what: str) -> int:
        return sum(c.get(what, 0) for c in self.per_source.values())

    def records_total(self, what: str) -> int:
        """Of the customer sources only: the run's record counts leave events out."""
        return sum(c.get(what, 0) for s, c in self.per_source.items() if s in self.config.record_sources)

    def warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)


@dataclass(frozen=True)
class RunResult:
    run_id: str
    status: str
    engine: str
    lakehouse: Path
    seconds: float
    stage_seconds: dict[str, float]
    per_source: dict[str, dict[str, int]]
    ingested: int
    quarantined: int
    silver: int
    pairs: int
    customers: int
    warnings: list[str]
    mode: str = "full"  # or incremental
    stage_usage: dict[str, dict[str, float]] = field(default_factory=dict)  # stage: cpu_seconds, peak_rss_mb
    event_sources: tuple[str, ...] = ()  # their rows are in per_source, not in the record totals


def execute(run: Run, progress: Progress | None = None, stages=None) -> RunResult:
    """Run the stages; on failure record the run as failed and raise StageFailed.
    Either way the run's quality report is written."""
    clock = time.perf_counter()
    stage = ""
    stages = stages or STAGES
    if run.config.compliance.pseudonymise and any(name == "pseudonymise" for name, _ in stages):
        # before anything is written: a missing key stops the run with no trace of it
        run.pseudonymisation_key = pseudonymisation_key(run.config, run.base_dir, run.lakehouse)
    try:
        if any(name == "link" for name, _ in stages):
            stage = "plan"
            plan(run, run.full)
        for stage, step in stages:
            if progress:
                progress(stage, "start")
            with StageUsage() as usage:
                step(run)
                _drop_spent(run, stage)
            run.stage_seconds[stage] = round(usage.wall_seconds, 3)
            run.stage_usage[stage] = usage.as_dict()
            if stage == "standardise":
                _check_ledger(run)
            if progress:
                progress(stage, "done")
        stage = "retention"
        purge_expired(run)  # after publishing: only now is every table rid of expired records
    except Exception as err:
        _record(run, "failed", time.perf_counter() - clock, stage, err)
        _report(run)
        if isinstance(err, ScvError) and err.exit_code == 2:
            raise
        raise StageFailed(stage, run.run_id, _safe_cause(err)) from err
    result = _record(run, "succeeded", time.perf_counter() - clock)
    _report(run)
    return result


def _report(run: Run) -> None:
    """The quality report is a view of the audit tables; failing to draw it fails no run."""
    try:
        write_report(run.lakehouse, run.run_id)
    except Exception as err:  # noqa: BLE001 - the run's outcome is already recorded
        log.warning("quality report not written (%s)", type(err).__name__)


def _drop_spent(run: Run, stage: str) -> None:
    spent = {table.format(source=source) for table in SPENT_AFTER.get(stage, ()) for source in run.config.sources}
    for table in sorted(spent):
        run.engine.drop(table)


def _check_ledger(run: Run) -> None:
    """Every ingested row is in silver, in quarantine or suppressed (a forgotten person's):
    nothing is lost silently."""
    for source, c in run.per_source.items():
        if c.get("ingested", 0) != c.get("silver", 0) + c.get("quarantined", 0) + c.get("suppressed", 0):
            raise ScvError(
                f"source {source}: {c.get('ingested', 0)} rows ingested but "
                f"{c.get('silver', 0)} in silver, {c.get('quarantined', 0)} in quarantine and "
                f"{c.get('suppressed', 0)} suppressed"
            )


def _safe_cause(err: BaseException) -> str:
    """Our own errors are written without personal data; a library's may quote values."""
    if isinstance(err, ScvError):
        return str(err)
    return f"{type(err).__name__} (details withheld: they may quote source values; rerun with --debug)"


def _record(run: Run, status: str, seconds: float, stage: str = "", err=None) -> RunResult:
    result = RunResult(
        run_id=run.run_id,
        status=status,
        engine=run.engine.name,
        lakehouse=run.lakehouse.root,
        seconds=round(seconds, 3),
        stage_seconds=dict(run.stage_seconds),
        per_source={k: dict(v) for k, v in run.per_source.items()},
        ingested=run.records_total("ingested"),
        quarantined=run.records_total("quarantined"),
        silver=run.records_total("silver"),
        pairs=run.totals.get("pairs", 0),
        customers=run.totals.get("customers", 0),
        warnings=list(run.warnings),
        mode="incremental" if run.previous is not None else "full",
        event_sources=tuple(run.config.event_sources),
        stage_usage={k: dict(v) for k, v in run.stage_usage.items()},
    )
    row = {
        "run_id": run.run_id,
        "started_at": run.started_at,
        "finished_at": datetime.now(timezone.utc),
        "status": status,
        "failed_stage": stage or None,
        "error": _safe_cause(err) if err is not None else None,
        "engine": run.engine.name,
        "config_hash": run.config.hash(),
        "records_ingested": result.ingested,
        "records_quarantined": result.quarantined,
        "records_silver": result.silver,
        "pairs_scored": result.pairs,
        "customers": result.customers,
        "seconds": result.seconds,
        "per_source": json.dumps(result.per_source, sort_keys=True),
        "stage_seconds": json.dumps(result.stage_seconds),
        "warnings": json.dumps(result.warnings),
        "linkage": json.dumps(run.linkage_facts),
    }
    schema = pa.schema([
        ("run_id", pa.string()), ("started_at", pa.timestamp("us", "UTC")),
        ("finished_at", pa.timestamp("us", "UTC")), ("status", pa.string()),
        ("failed_stage", pa.string()), ("error", pa.string()), ("engine", pa.string()),
        ("config_hash", pa.string()), ("records_ingested", pa.int64()),
        ("records_quarantined", pa.int64()), ("records_silver", pa.int64()),
        ("pairs_scored", pa.int64()), ("customers", pa.int64()), ("seconds", pa.float64()),
        ("per_source", pa.string()), ("stage_seconds", pa.string()), ("warnings", pa.string()),
        ("linkage", pa.string()),
    ])
    row["mode"] = result.mode
    row["mode_reason"] = run.mode_reason
    row["stage_usage"] = json.dumps(result.stage_usage)
    for name in ("mode", "mode_reason", "stage_usage"):
        schema = schema.append(pa.field(name, pa.string()))
    run.lakehouse.write("audit/runs", pa.Table.from_pylist([row], schema), run.run_id, mode="append")
    return result
