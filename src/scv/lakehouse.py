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

LAYERS = ("bronze", "silver", "gold", "quarantine", "audit")
RUN_ID_KEY = "scv.run_id"


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

    def read(self, table: str) -> ds.Dataset:
        return self._table(table).to_pyarrow_dataset()

    def read_table(self, table: str) -> pa.Table:
        return self._table(table).to_pyarrow_table()

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


def is_uri(location: str | Path) -> bool:
    return isinstance(location, str) and "://" in location
