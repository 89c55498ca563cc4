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
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, table: str) -> str:
        return str(self.root / table)

    def exists(self, table: str) -> bool:
        return DeltaTable.is_deltatable(self.path(table))

    def write(self, table: str, data: pa.Table | pa.RecordBatchReader, run_id: str,
              mode: str = "overwrite") -> None:
        """One commit; an overwrite may change the schema (sources gain columns)."""
        write_deltalake(
            self.path(table),
            data,
            mode=mode,
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
            DeltaTable(self.path(table)).create_write_transaction(
                actions, "append", schema, commit_properties=commit
            )
            return
        create_table_with_add_actions(
            self.path(table), Schema.from_arrow(schema), actions,
            mode="overwrite" if self.exists(table) else "error", commit_properties=commit,
        )

    def save_model(self, run_id: str, model: dict) -> Path:
        """The trained Splink model (settings, m and u; no record values) as models/<run>.json."""
        path = self.root / "models" / f"{run_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(model, indent=1), encoding="utf-8")
        return path

    def read(self, table: str) -> ds.Dataset:
        return DeltaTable(self.path(table)).to_pyarrow_dataset()

    def read_table(self, table: str) -> pa.Table:
        return DeltaTable(self.path(table)).to_pyarrow_table()

    def tables(self) -> list[str]:
        found = []
        for layer in LAYERS:
            folder = self.root / layer
            if folder.is_dir():
                found += sorted(
                    f"{layer}/{p.name}" for p in folder.iterdir() if (p / "_delta_log").is_dir()
                )
        return found

    def info(self, table: str) -> TableInfo:
        dt = DeltaTable(self.path(table))
        last = dt.history(1)[0] if dt.version() >= 0 else {}
        return TableInfo(table, dt.count(), dt.version(), last.get(RUN_ID_KEY))
