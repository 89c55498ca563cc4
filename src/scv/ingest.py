"""Ingest: read each source as it is, check its mapping, and land it in bronze.

CSV is read as text so that phone numbers and postcodes keep their leading zeros;
Parquet, JSON lines and Delta keep the types they carry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scv.config import CANONICAL_FIELDS, Source, did_you_mean, resolve_source
from scv.errors import ConfigError, ScvError

if TYPE_CHECKING:
    from scv.pipeline import Run

SYSTEM_COLUMNS = ("_source", "_record_id", "_batch_id", "_ingested_at", "_row_hash")
SILVER_KEYS = ("record_key", "source", "source_record_id")


def ingest(run: Run) -> None:
    q, lit = run.engine.dialect.quote, run.engine.dialect.literal
    for name, source in run.config.sources.items():
        files, fmt = resolve_source(name, source, run.base_dir)
        raw = f"raw_{name}"
        try:
            if fmt == "delta":
                from deltalake import DeltaTable

                run.engine.read_arrow(raw, DeltaTable(files[0]).to_pyarrow_dataset())
            else:
                run.engine.read_files(raw, files, fmt, delimiter=source.delimiter)
        except ScvError as err:
            raise ScvError(
                f"sources.{name}: cannot read {source.path} as {fmt}: {err}; "
                "check the file or set `format:`/`delimiter:`"
            ) from None
        columns = [c for c, _ in run.engine.columns(raw)]
        check_mapping(name, source, columns)
        row_text = ", ".join(f"coalesce(cast({q(c)} as string), '\\N')" for c in columns)
        run.engine.create(
            f"bronze_{name}",
            f"""select *, {lit(name)} as _source,
                   nullif(trim(cast({q(source.id)} as string)), '') as _record_id,
                   {lit(run.run_id)} as _batch_id,
                   cast({lit(run.started_at.isoformat(sep=' '))} as timestamp) as _ingested_at,
                   md5(concat_ws(chr(31), {row_text})) as _row_hash
                from {q(raw)}""",
        )
        run.engine.drop(raw)
        run.engine.publish(f"bronze_{name}", run.lakehouse, f"bronze/{name}", run.run_id)
        run.count(name, "ingested", run.engine.count(f"bronze_{name}"))


def check_mapping(name: str, source: Source, columns: list[str]) -> None:
    """Every column the mapping names must be in the data: say which one and what is there."""
    mapped = [("id", source.id)]
    if source.updated_at:
        mapped.append(("updated_at", source.updated_at))
    mapped += [(f"columns.{field}", col) for field, col in source.columns.items()]
    mapped += [("attributes", col) for col in source.attributes]
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
