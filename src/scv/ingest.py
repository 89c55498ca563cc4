"""Ingest: read each source as it is, check its mapping, and land it in bronze.

Lines a reader cannot parse are kept aside (`rejects_table(source)`) for quarantine and
counted as ingested, so the ledger still adds up.

CSV is read as text so that phone numbers and postcodes keep their leading zeros;
Parquet, JSON lines and Delta keep the types they carry.
"""

from __future__ import annotations

from datetime import timezone
from typing import TYPE_CHECKING

from scv.config import CANONICAL_FIELDS, Source, did_you_mean, resolve_source
from scv.engine.base import REJECTS_SUFFIX
from scv.errors import ConfigError, ScvError
from scv.retention import expire
from scv.standardise import SILVER_KEYS

if TYPE_CHECKING:
    from scv.erasure import Tombstones
    from scv.pipeline import Run



def ingest(run: Run) -> None:
    """Read every source and check every mapping first, so a mistake writes nothing.

    Records of people who have been forgotten (audit/erasure_register) and records past
    their retention period are dropped before bronze is written and counted as `suppressed`."""
    from scv.erasure import Tombstones  # here: scv.erasure imports scv.validate, which imports this module

    for name, source in run.config.sources.items():
        read_source(run, name, source)
    tombstones = Tombstones.load(run.lakehouse, run.config, run.base_dir)
    for name, source in run.config.sources.items():
        land_in_bronze(run, name, source, tombstones)


def read_source(run: Run, name: str, source: Source) -> None:
    files, fmt = resolve_source(name, source, run.base_dir)
    try:
        run.engine.read_files(f"raw_{name}", files, fmt, delimiter=source.delimiter)
    except ScvError as err:
        raise ScvError(
            f"sources.{name}: cannot read {source.path} as {fmt}: {err}; "
            "check the file or set `format:`/`delimiter:`"
        ) from None
    check_mapping(name, source, [c for c, _ in run.engine.columns(f"raw_{name}")])


def land_in_bronze(run: Run, name: str, source: Source, tombstones: Tombstones | None = None) -> None:
    q, lit = run.engine.dialect.quote, run.engine.dialect.literal
    raw = f"raw_{name}"
    ingested_at = run.started_at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    row_text = ", ".join(
        f"coalesce(cast({q(c)} as string), {lit(chr(92) + 'N')})" for c, _ in run.engine.columns(raw)
    )
    landed = f"landed_{name}" if tombstones else f"bronze_{name}"
    run.engine.create(
        landed,
        f"""select *, {lit(name)} as _source,
               nullif(trim(cast({q(source.id)} as string)), '') as _record_id,
               {lit(run.run_id)} as _batch_id,
               cast({lit(ingested_at)} as {run.engine.dialect.timestamp_type}) as _ingested_at,
               md5(concat_ws(chr(31), {row_text})) as _row_hash
            from {q(raw)}""",
    )
    run.engine.drop(raw)
    # every record read, erased and expired ones too: a record not read is one a source dropped
    run.engine.create(f"seen_{name}", f"select distinct _record_id from {q(landed)} where _record_id is not null")
    suppressed = 0
    if tombstones:
        owner = (source.record_id, source.record_of) if source.kind == "events" else None
        suppressed = tombstones.suppress(run.engine, name, source.columns.get("email"),
                                         source.columns.get("phone"), landed, f"bronze_{name}", owner=owner)
        run.engine.drop(landed)
    expired = expire(run, name, source, f"bronze_{name}")
    run.engine.publish(f"bronze_{name}", run.lakehouse, f"bronze/{name}", run.run_id)
    run.count(name, "ingested", run.engine.count(f"bronze_{name}") + run.engine.count(rejects_table(name))
              + suppressed + (expired or 0))
    if expired is not None:  # counted only where a retention rule applies
        run.count(name, "expired", expired)
    if tombstones or expired is not None:  # counted only where someone has been forgotten or expired
        run.count(name, "suppressed", suppressed + (expired or 0))


def rejects_table(name: str) -> str:
    """The engine table of a source's lines that could not be parsed."""
    return f"raw_{name}{REJECTS_SUFFIX}"


def check_mapping(name: str, source: Source, columns: list[str]) -> None:
    """Every column the mapping names must be in the data: say which one and what is there."""
    mapped = [("id", source.id)]
    if source.updated_at:
        mapped.append(("updated_at", source.updated_at))
    mapped += [(f"columns.{field}", col) for field in source.columns for col in source.parts(field)]
    mapped += [("attributes", col) for col in source.attributes]
    mapped += [(key, getattr(source, key)) for key in ("record_id", "at", "amount") if getattr(source, key)]
    for key, col in mapped:
        if col not in columns:
            raise ConfigError(
                f"sources.{name}.{key}: column '{col}' is not in {source.path}"
                f"{did_you_mean(col, columns)}; its columns are: {', '.join(columns)}"
            )
    for col in source.attributes:
        if col in CANONICAL_FIELDS or col in SILVER_KEYS or col.startswith("_"):
            raise ConfigError(
                f"sources.{name}.attributes: '{col}' clashes with a silver column name; "
                "map it under columns instead, or rename it in the source"
            )
