"""Quarantine for data stewards: what was held back, why, and releasing rows back in.

A release is a steward's decision that a row is acceptable as it is (for example a
foreign phone number a default check does not know). It is recorded by row hash in
audit/quarantine_releases, so it applies to that exact version of the row: on the next
run the row enters silver although it still fails its quarantine-severity checks, and a
row changed since is validated afresh. Lines that could not be parsed and exact copies
of another row cannot be released: fix the file instead.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc

from scv.config import ProjectConfig
from scv.errors import ConfigError, ScvError
from scv.lakehouse import Lakehouse
from scv.quality_tables import personal_columns
from scv.validate import RELEASES, mask

RELEASE_SCHEMA = pa.schema([
    ("source", pa.string()), ("record_id", pa.string()), ("row_hash", pa.string()),
    ("quarantined_in_run", pa.string()), ("released_at", pa.timestamp("us", "UTC")),
])


def _table(lake: Lakehouse, config: ProjectConfig, source: str) -> pa.Table:
    if source not in config.sources:
        raise ConfigError(f"no source '{source}' in the project; sources: {', '.join(config.sources)}")
    if not lake.exists(f"quarantine/{source}"):
        raise ScvError(f"no quarantine for source '{source}' yet: run `scv run` or `scv validate` first")
    return lake.read_table(f"quarantine/{source}")


def summary(lake: Lakehouse, config: ProjectConfig) -> list[tuple[str, str, int]]:
    """(source, reason, rows) for the last run's quarantine, most rows first."""
    found = []
    for source in config.sources:
        if lake.exists(f"quarantine/{source}"):
            reasons = Counter(lake.read_table(f"quarantine/{source}")["_reason"].to_pylist())
            found += [(source, reason, n) for reason, n in reasons.most_common()]
    return found


def show(lake: Lakehouse, config: ProjectConfig, source: str, limit: int = 20,
         reveal: bool = False) -> pa.Table:
    """Quarantined rows of one source; personal columns shown as their shape unless `reveal`."""
    table = _table(lake, config, source).slice(0, limit)
    if reveal:
        return table
    for col in personal_columns(config.sources[source]) & set(table.column_names):
        masked = [None if v is None else mask(str(v)) for v in table[col].to_pylist()]
        table = table.set_column(table.column_names.index(col), col, pa.array(masked, pa.string()))
    raw = table.column_names.index("_raw_line")
    return table.set_column(raw, "_raw_line", pa.array(
        [None if v is None else "(hidden: may hold personal data; --reveal)" for v in table["_raw_line"].to_pylist()],
        pa.string()))


def release(lake: Lakehouse, config: ProjectConfig, source: str, record_ids: list[str] | None = None,
            every: bool = False) -> int:
    """Release quarantined rows of `source` (by record id, or all that can be); returns how many."""
    if not record_ids and not every:
        raise ConfigError("say which rows to release: --id RECORD_ID (repeatable) or --all")
    table = _table(lake, config, source)
    failed_checks = pc.is_valid(table["_failed_expectations"])
    if record_ids:
        wanted = pc.is_in(table["_record_id"], pa.array(record_ids, pa.string()))
        unknown = set(record_ids) - set(table.filter(wanted)["_record_id"].to_pylist())
        if unknown:
            raise ScvError(f"source {source}: {len(unknown)} record id(s) are not in quarantine: "
                           f"{', '.join(sorted(unknown)[:5])}")
        stuck = table.filter(pc.and_(wanted, pc.invert(failed_checks)))
        if stuck.num_rows:
            raise ScvError(
                f"source {source}: {stuck.num_rows} of these rows cannot be released "
                f"({'; '.join(sorted(set(stuck['_reason'].to_pylist())))}); fix the source file instead")
        chosen = table.filter(wanted)
    else:
        chosen = table.filter(failed_checks)
    if not chosen.num_rows:
        return 0
    now = datetime.now(timezone.utc)
    releases = pa.table({
        "source": pa.array([source] * chosen.num_rows, pa.string()),
        "record_id": chosen["_record_id"].cast(pa.string()),
        "row_hash": chosen["_row_hash"].cast(pa.string()),
        "quarantined_in_run": chosen["_run_id"].cast(pa.string()),
        "released_at": pa.array([now] * chosen.num_rows, pa.timestamp("us", "UTC")),
    }, schema=RELEASE_SCHEMA)
    lake.write(RELEASES, releases, f"release-{now:%Y%m%dT%H%M%SZ}", mode="append")
    return chosen.num_rows
