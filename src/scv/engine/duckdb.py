"""DuckDB: the embedded default engine."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from scv.engine.base import REJECTS_SCHEMA, REJECTS_SUFFIX, Dialect, Engine, sniff_delimiter
from scv.errors import ScvError


class DuckDBDialect(Dialect):
    def record_number(self, key):
        return f"row_number() over (order by {key})"

    def regex_replace_all(self, expr, pattern, replacement):
        return f"regexp_replace({expr}, {self.literal(pattern)}, {self.literal(replacement)}, 'g')"

    def regex_matches(self, expr, pattern):
        return f"regexp_full_match({expr}, {self.literal(pattern)})"

    def parse_timestamp(self, expr, formats):
        fmts = ", ".join(self.literal(f) for f in formats)
        iso = f"case when {self.regex_matches(expr, self.ISO_TIMESTAMP)} then try_cast({expr} as timestamp) end"
        return f"coalesce({iso}, try_strptime({expr}, [{fmts}]))"

    def epoch_days(self, expr):
        return f"(cast(epoch_us(cast({expr} as timestamp)) as double) / 86400000000)"

    def unicode_normalise(self, expr):
        return f"strip_accents(nfc_normalize({expr}))"

    def jaro_winkler(self, left, right):
        return f"jaro_winkler_similarity({left}, {right})"

    def sorted_set(self, expr):
        return f"list_sort(list_distinct(list({expr})))"

    def one_element_set(self, expr):
        return f"list_value({expr})"


MEMORY_SHARE = 0.4  # of the machine's memory, for DuckDB when the project sets no limit


def default_memory_limit() -> str | None:
    """Two fifths of physical memory (9 GB on 24 GB). DuckDB's own default, 80%, leaves
    too little for Python, Arrow and the Delta writes; a smaller share makes DuckDB spill
    the tables a run keeps: 10M records, 10 GB against 4 GB, ran 17.7 min against 19.9
    (spilling up to 14 GB) and peaked at 13.5 GB against 9.1; 1M records peaked at 2.5 GB
    either way."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: leave it to DuckDB
        return None
    return f"{max(1, round(total * MEMORY_SHARE / 2**30))}GB"


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = DuckDBDialect()

    def __init__(self, memory_limit: str | None = None, threads: int | None = None,
                 temp_directory: str | Path | None = None):
        self.con = duckdb.connect(":memory:")
        memory_limit = memory_limit or default_memory_limit()
        if memory_limit:
            self.con.execute("set memory_limit = ?", [memory_limit])
        if threads:
            self.con.execute(f"set threads = {int(threads)}")
        self._spill = None
        if temp_directory:
            # a folder of its own: DuckDB names its spill files alike in every process and
            # clears the folder's files on starting, so two runs sharing one folder (two
            # projects on one machine) broke each other's spill: an IOException or a crash
            Path(temp_directory).mkdir(parents=True, exist_ok=True)
            self._spill = tempfile.mkdtemp(prefix="run-", dir=temp_directory)
            self.con.execute("set temp_directory = ?", [self._spill])
        self._api = None

    def read_files(self, name, files, fmt, *, delimiter=None):
        try:
            if fmt == "csv":
                self._read_csv(name, files, delimiter)
                return
            if fmt == "delta":
                from deltalake import DeltaTable

                from scv.lakehouse import delta_dataset

                rel = self.con.from_arrow(delta_dataset(DeltaTable(files[0]), files[0]))
            elif fmt == "parquet":
                rel = self.con.read_parquet(files, union_by_name=True)
            elif fmt == "json":
                rel = self.con.read_json(files, format="newline_delimited")
            else:
                raise ValueError(f"read_files does not read {fmt}")
            self.drop(name)
            rel.to_table(name)
            self.read_arrow(f"{name}{REJECTS_SUFFIX}", REJECTS_SCHEMA.empty_table())
        except duckdb.Error as err:
            raise ScvError(_without_row_content(str(err))) from None

    def _read_csv(self, name, files, delimiter):
        """File by file with a fixed dialect: DuckDB's sniffer may otherwise take a wide
        row for the header and skip the lines above it. Malformed lines are kept aside."""
        parts, rejects = [], []
        for i, file in enumerate(files):
            part = f"{name}__part{i}"
            self.drop(part)
            for kept_from_last_read in ("reject_errors", "reject_scans"):  # else they accumulate
                self.drop(kept_from_last_read)
            self.con.read_csv(
                file, header=True, all_varchar=True, skiprows=0,
                sep=delimiter or sniff_delimiter(file), quotechar='"', escapechar='"',
                store_rejects=True, ignore_errors=True,
            ).to_table(part)
            rejects += [
                {"_file": Path(file).name, "_line": line, "_reason": f"malformed CSV line: {kinds}",
                 "_raw_line": raw}
                for line, kinds, raw in self.con.execute(
                    """select line, string_agg(distinct lower(cast(error_type as varchar)), ', '),
                              any_value(csv_line)
                       from reject_errors group by line order by line"""
                ).fetchall()
            ]
            parts.append(part)
        union = " union all by name ".join(f"select * from {self.dialect.quote(p)}" for p in parts)
        self.create(name, union)
        for part in parts:
            self.drop(part)
        self.read_arrow(f"{name}{REJECTS_SUFFIX}", pa.Table.from_pylist(rejects, REJECTS_SCHEMA))

    def read_arrow(self, name, data):
        self.con.register(f"{name}__arrow", data)
        self.create(name, f"select * from {self.dialect.quote(name + '__arrow')}")
        self.con.unregister(f"{name}__arrow")

    def create(self, name, sql):
        self.con.execute(f"create or replace table {self.dialect.quote(name)} as {sql}")

    def view(self, name, sql):
        self.con.execute(f"create or replace view {self.dialect.quote(name)} as {sql}")

    def rows(self, sql):
        return self.con.execute(sql).fetchall()

    def columns(self, name):
        return [(r[0], r[1]) for r in self.con.execute(f"describe {self.dialect.quote(name)}").fetchall()]

    def to_arrow(self, name) -> pa.RecordBatchReader:
        return self.con.sql(f"select * from {self.dialect.quote(name)}").to_arrow_reader(100_000)

    def publish(self, name, lakehouse, table, run_id, mode="overwrite"):
        """An overwrite of a table on a local disk: DuckDB writes the Parquet file itself,
        on every thread, and delta-rs commits it. Handing the rows over as Arrow costs more
        than writing them (gold/customer_lineage at 1M records: 13 million rows)."""
        folder = lakehouse.local_folder(table)
        if folder is None or mode != "overwrite":
            return super().publish(name, lakehouse, table, run_id, mode)
        file = f"{run_id}-{uuid.uuid4().hex[:8]}.parquet"
        folder.mkdir(parents=True, exist_ok=True)
        self.con.execute("set preserve_insertion_order = false")  # a table's rows have no order
        try:
            rows = self.con.execute(f"copy (select * from {self.dialect.quote(name)}) to "
                                    f"{self.dialect.literal(str(folder / file))} (format parquet)").fetchone()[0]
        finally:
            self.con.execute("reset preserve_insertion_order")
        stat = (folder / file).stat()
        lakehouse.commit_files(table, [(file, stat.st_size, int(stat.st_mtime * 1000), rows)],
                               pq.read_schema(folder / file), run_id, mode)

    def load(self, name, lakehouse, table, columns=None):
        """A local table's files read by DuckDB's own Parquet reader, on every thread: silver
        at 1M records in 0.4 s against 0.8 s handed over as Arrow. A table whose files
        alone do not hold it (`Lakehouse.plain_files`), or lack a column its schema has
        (added after they were written), goes through Arrow."""
        files = lakehouse.plain_files(table)
        if files:
            wanted = columns or lakehouse.columns(table)
            scan = f"read_parquet([{', '.join(self.dialect.literal(f) for f in files)}], union_by_name = true)"
            if set(wanted) <= {r[0] for r in self.con.execute(f"describe select * from {scan}").fetchall()}:
                self.create(name, f"select {', '.join(self.dialect.quote(c) for c in wanted)} from {scan}")
                return
        super().load(name, lakehouse, table, columns)

    def memory_limit_bytes(self):
        [(setting,)] = self.con.execute("select current_setting('memory_limit')").fetchall()  # '8.3 GiB'
        number, unit = setting.split()
        return int(float(number) * 1024 ** ("bytes KiB MiB GiB TiB PiB".split().index(unit)))

    def drop(self, name):
        views = self.con.execute("select 1 from duckdb_views() where view_name = ?", [name]).fetchall()
        self.con.execute(f"drop {'view' if views else 'table'} if exists {self.dialect.quote(name)}")

    def splink_api(self):
        if self._api is None:
            from splink import DuckDBAPI

            from scv.engine.splink_sampling import use_engine_neutral_hash

            self._api = DuckDBAPI(self.con)
            use_engine_neutral_hash(self._api)
        return self._api

    def close(self):
        self.con.close()
        if self._spill:
            shutil.rmtree(self._spill, ignore_errors=True)


def _without_row_content(message: str) -> str:
    """DuckDB's reader errors quote the offending line; that line may be personal data."""
    kept = []
    for line in message.splitlines():
        if re.match(r"\s*(Original Line|Line:|Possible fixes|\*)", line) or not line.strip():
            break
        kept.append(line.strip())
    return " ".join(kept)[:500]
