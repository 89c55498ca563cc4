"""The storage seam: Delta tables under one folder, written through delta-rs.

Tables are named by layer and name (`silver/records`). Every write is one Delta commit
carrying the run id in its commit metadata, so `DESCRIBE HISTORY` ties versions to runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
from deltalake import CommitProperties, DeltaTable, write_deltalake

LAYERS = ("bronze", "silver", "gold", "quarantine", "audit", "vault")
PERSONAL_LAYERS = ("bronze", "quarantine", "silver", "gold", "vault")
RUN_ID_KEY = "scv.run_id"
# Tables of personal data keep min/max statistics for these key columns only: Delta writes
# the statistics of every file into its log, so a name or an email would otherwise stay in
# `_delta_log/*.json` after the row itself is deleted (see `scv.erasure`).
STATS_COLUMNS = {
    "bronze": "_source,_record_id,_batch_id,_ingested_at",
    "quarantine": "_source,_record_id,_run_id",
    "silver/records": "record_key,source,source_record_id,_batch_id",
    "silver/pairs": "record_key_l,record_key_r,match_probability",
    "silver/events": "event_key,source,event_id,record_key,_batch_id",
    "gold/customers": "customer_id",
    "gold/customer_xref": "record_key,customer_id,source,source_record_id",
    "gold/customer_id_history": "run_id,changed_at,old_customer_id,new_customer_id,change",
    "gold/customer_metrics": "customer_id",
    "gold/customers_analytics": "customer_id",
    "gold/customer_lineage": "customer_id,record_key,source,source_record_id",
    "vault/customers": "customer_id",
    "vault/records": "record_key",
}
STATS_KEY = "delta.dataSkippingStatsColumns"
# Reader features that leave a table's rows and columns all in its Parquet files.
PLAIN_READER_FEATURES = {"timestampNtz"}


def table_configuration(table: str) -> dict[str, str] | None:
    """Delta table properties a new table starts with (only applied when it is created)."""
    columns = STATS_COLUMNS.get(table) or STATS_COLUMNS.get(table.split("/")[0])
    if columns is None and table.startswith("gold/customers_"):  # a golden view (golden.views)
        columns = STATS_COLUMNS["gold/customers"]
    return {STATS_KEY: columns} if columns else None


@dataclass(frozen=True)
class TableInfo:
    name: str
    rows: int
    version: int
    last_run: str | None


class Lakehouse:
    """A folder or an object-store URI (s3://, abfss://, gs://, file://) of Delta tables.

    `storage_options` go to delta-rs as they are (credentials, region, endpoint); without
    them delta-rs and pyarrow use the environment (AWS_*, AZURE_*, GOOGLE_*).
    """

    def __init__(self, root: str | Path, storage_options: dict[str, str] | None = None):
        self.root: str | Path = str(root).rstrip("/") if is_uri(root) else Path(root)
        self.storage_options = dict(storage_options or {}) or None

    def path(self, table: str) -> str:
        return f"{self.root}/{table}" if isinstance(self.root, str) else str(self.root / table)

    def local_folder(self, table: str) -> Path | None:
        """The table's folder on this machine's disk; None on an object store."""
        if isinstance(self.root, Path):
            return self.root / table
        return Path(self.root[len("file://"):]) / table if self.root.startswith("file://") else None

    def _table(self, table: str) -> DeltaTable:
        return DeltaTable(self.path(table), storage_options=self.storage_options)

    def exists(self, table: str) -> bool:
        return DeltaTable.is_deltatable(self.path(table), storage_options=self.storage_options)

    def write(self, table: str, data: pa.Table | pa.RecordBatchReader, run_id: str,
              mode: str = "overwrite") -> None:
        """One commit; an overwrite may change the schema (sources gain columns)."""
        write_deltalake(
            self.path(table),
            data,
            mode=mode,
            storage_options=self.storage_options,
            schema_mode="overwrite" if mode == "overwrite" else "merge",
            configuration=None if self.exists(table) else table_configuration(table),
            commit_properties=CommitProperties(custom_metadata={RUN_ID_KEY: run_id}),
        )

    def commit_files(self, table: str, files: list[tuple[str, int, int, int]], schema: pa.Schema,
                     run_id: str, mode: str = "overwrite") -> None:
        """Commit data files another writer (Spark) put in the table's folder as one version.

        `files` are (path relative to the table, size, modification ms, rows).
        """
        from deltalake import Schema
        from deltalake.transaction import AddAction, create_table_with_add_actions

        actions = [
            AddAction(path, size, {}, mtime, True, json.dumps({"numRecords": rows}))
            for path, size, mtime, rows in files
        ]
        commit = CommitProperties(custom_metadata={RUN_ID_KEY: run_id})
        if mode == "append" and self.exists(table):
            self._table(table).create_write_transaction(
                actions, "append", schema, commit_properties=commit
            )
            return
        create_table_with_add_actions(
            self.path(table), Schema.from_arrow(schema), actions,
            mode="overwrite" if self.exists(table) else "error", commit_properties=commit,
            configuration=None if self.exists(table) else table_configuration(table),
            storage_options=self.storage_options,
        )

    def save_model(self, run_id: str, model: dict) -> str:
        """The trained Splink model (settings, m and u; no record values) as models/<run>.json."""
        return self.write_file(f"models/{run_id}.json", json.dumps(model, indent=1).encode("utf-8"),
                               "application/json")

    def write_file(self, name: str, data: bytes, content_type: str | None = None) -> str:
        """A file that is not a table (a model, a report) under the root, local or object store.

        The content type lets a browser show a report straight from the bucket.
        """
        path = self.path(name)
        fs, where = self._filesystem(path)
        fs.create_dir(where.rsplit("/", 1)[0], recursive=True)
        metadata = {"Content-Type": content_type} if content_type else None
        with fs.open_output_stream(where, metadata=metadata) as out:
            out.write(data)
        return path

    def files(self, under: str = "") -> list[str]:
        """Every file below the root (or below `under`), as paths relative to the root."""
        fs, where = self._filesystem(self.path(under) if under else str(self.root))
        base = self._filesystem(str(self.root))[1]
        found = fs.get_file_info(pafs.FileSelector(where, recursive=True, allow_not_found=True))
        return sorted(e.path[len(base):].lstrip("/") for e in found if e.type == pafs.FileType.File)

    def read_file(self, name: str) -> bytes:
        fs, where = self._filesystem(self.path(name))
        with fs.open_input_stream(where) as f:
            return f.read()

    def delete_dir(self, name: str) -> None:
        fs, where = self._filesystem(self.path(name))
        if fs.get_file_info(where).type == pafs.FileType.Directory:
            fs.delete_dir(where)

    def purge_history(self, table: str, run_id: str) -> None:
        """Keep only the current version of a table: its data files and a log that holds nothing else.

        Files of older versions are vacuumed with zero retention, and a checkpoint replaces
        the JSON commits (whose statistics and predicates could hold removed values), which
        are then deleted. The log retention is restored afterwards, so later runs keep
        their history until the next purge. Change data feed is switched off and its files
        removed: vacuum leaves `_change_data/` alone.
        """
        commit = CommitProperties(custom_metadata={RUN_ID_KEY: run_id})
        dt = self._table(table)
        config = dt.metadata().configuration
        retention = config.get("delta.logRetentionDuration", "interval 30 days")
        props = {"delta.logRetentionDuration": "interval 0 days"}
        if config.get("delta.enableChangeDataFeed", "false").lower() == "true":
            props["delta.enableChangeDataFeed"] = "false"
        if table_configuration(table) and STATS_KEY not in config:
            props.update(table_configuration(table))
        dt.alter.set_table_properties(props, commit_properties=commit)
        self.delete_dir(f"{table}/_change_data")
        dt = self._table(table)
        dt.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False, full=True,
                  commit_properties=commit)
        dt.create_checkpoint()
        dt.cleanup_metadata()
        dt.alter.set_table_properties({"delta.logRetentionDuration": retention}, commit_properties=commit)

    def read(self, table: str) -> ds.Dataset:
        return delta_dataset(self._table(table), self.path(table))

    def plain_files(self, table: str) -> list[str] | None:
        """The local paths of the table's current data files when those alone hold its rows
        and columns (no partition values kept in the log, no deletion vectors, no column
        mapping), for an engine that reads Parquet itself; else None."""
        if self.local_folder(table) is None:
            return None
        dt = self._table(table)
        if dt.metadata().partition_columns or set(dt.protocol().reader_features or ()) - PLAIN_READER_FEATURES:
            return None
        return dt.file_uris() or None

    def columns(self, table: str) -> list[str]:
        return self._table(table).schema().to_arrow().names

    def read_table(self, table: str) -> pa.Table:
        return self.read(table).to_table()

    def tables(self) -> list[str]:
        found = []
        for layer in LAYERS:
            fs, where = self._filesystem(self.path(layer))
            entries = fs.get_file_info(pafs.FileSelector(where, allow_not_found=True))
            found += sorted(
                f"{layer}/{e.base_name}" for e in entries
                if e.type == pafs.FileType.Directory and self.exists(f"{layer}/{e.base_name}")
            )
        return found

    def info(self, table: str) -> TableInfo:
        dt = self._table(table)
        last = dt.history(1)[0] if dt.version() >= 0 else {}
        return TableInfo(table, dt.count(), dt.version(), last.get(RUN_ID_KEY))

    def _filesystem(self, path: str) -> tuple[pafs.FileSystem, str]:
        """pyarrow's file system for the non-table files (models, reports) and listings."""
        if not is_uri(path):
            return pafs.LocalFileSystem(), str(Path(path).resolve())
        return pafs.FileSystem.from_uri(path.replace("abfss://", "abfs://", 1))


def delta_dataset(table: DeltaTable, location: str | Path) -> ds.Dataset:
    """A Delta table's current files as a pyarrow dataset. On local disk they are read
    through pyarrow's own file system: delta-rs's default is a Python one, whose file
    handles an Arrow I/O thread may still be releasing when the interpreter exits, and
    taking the GIL then aborts the process ("terminate called without an active
    exception", exit code 134, after a successful run)."""
    if is_uri(location):
        return table.to_pyarrow_dataset()
    return table.to_pyarrow_dataset(filesystem=pafs.SubTreeFileSystem(str(Path(location).resolve()), pafs.LocalFileSystem()))


def is_uri(location: str | Path) -> bool:
    return isinstance(location, str) and "://" in location
