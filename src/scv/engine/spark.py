"""Spark: the distributed engine, in local mode here and on a Databricks cluster in production.

Engine tables are Spark temporary views over Parquet written to a work folder inside the
lakehouse, so each stage's result is computed once, as `create table` is in DuckDB.
Delta tables are written natively when the session has Delta (Databricks, delta-spark);
otherwise Spark writes the Parquet files in parallel and delta-rs makes the commit.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import unicodedata
import uuid
from pathlib import Path

import pyarrow as pa

from scv.engine import spark_functions
from scv.engine.splink_sampling import use_engine_neutral_hash
from scv.engine.base import REJECTS_SCHEMA, REJECTS_SUFFIX, Dialect, Engine, sniff_delimiter
from scv.errors import ScvError

CORRUPT = "_corrupt_record"
_STRPTIME_TO_JAVA = {
    "Y": ("yyyy", "yyyy"), "m": ("M", "MM"), "d": ("d", "dd"), "H": ("H", "HH"),
    "M": ("m", "mm"), "S": ("s", "ss"), "y": ("yy", "yy"), "b": ("MMM", "MMM"),
    "B": ("MMMM", "MMMM"), "f": ("SSSSSS", "SSSSSS"), "I": ("h", "hh"), "p": ("a", "a"),
}


def java_datetime_pattern(strptime: str) -> str:
    """A strptime format as a Spark datetime pattern.

    Numbers take one or two digits, as strptime accepts, unless a neighbouring directive
    has no separator between them ('%Y%m%d'): then only fixed widths can be parsed.
    """
    tokens = re.findall(r"%.|[^%]+", strptime)
    out = []
    for i, token in enumerate(tokens):
        if token.startswith("%"):
            if token[1] not in _STRPTIME_TO_JAVA:
                raise ScvError(f"standardise.date_formats: '{token}' is not supported on Spark")
            lenient, fixed = _STRPTIME_TO_JAVA[token[1]]
            adjacent = any(0 <= j < len(tokens) and tokens[j].startswith("%") for j in (i - 1, i + 1))
            out.append(fixed if adjacent else lenient)
        else:
            out.append(re.sub(r"[A-Za-z']+", lambda m: "'" + m.group().replace("'", "''") + "'", token))
    return "".join(out)


def _accent_table() -> tuple[str, str]:
    """Characters whose canonical decomposition is a base letter plus marks -> that letter.

    Spark has no Unicode normalisation; marks are removed by regex and precomposed
    letters by `translate`, which together give DuckDB's strip_accents(nfc_normalize(x)).
    """
    src, dst = [], []
    for code in range(0x00C0, 0x2000):
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
        if len(base) == 1 and base != char:
            src.append(char)
            dst.append(base)
    return "".join(src), "".join(dst)


ACCENTED, UNACCENTED = _accent_table()


class SparkDialect(Dialect):
    timestamp_type = "timestamp_ntz"

    def quote(self, identifier):
        return "`" + identifier.replace("`", "``") + "`"

    def literal(self, value):
        """Spark string literals treat backslash as an escape, unlike standard SQL."""
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    def regex_replace_all(self, expr, pattern, replacement):
        return f"regexp_replace({expr}, {self.literal(pattern)}, {self.literal(replacement)})"

    def regex_matches(self, expr, pattern):
        anchored = "^(?:" + pattern + r")\z"  # Java's $ would also match before a final newline
        return f"({expr} rlike {self.literal(anchored)})"

    def parse_timestamp(self, expr, formats):
        tries = [f"try_to_timestamp({expr}, {self.literal(java_datetime_pattern(f))})" for f in formats]
        iso = f"case when {self.regex_matches(expr, self.ISO_TIMESTAMP)} then try_cast({expr} as timestamp) end"
        return f"cast(coalesce({iso}, {', '.join(tries)}) as timestamp_ntz)"

    def epoch_days(self, expr):
        """Through timestamp_ntz, so a date is midnight whatever the session's time zone."""
        since = f"timestampdiff(MICROSECOND, TIMESTAMP_NTZ '1970-01-01 00:00:00', cast({expr} as timestamp_ntz))"
        return f"(cast({since} as double) / 86400000000)"

    def unicode_normalise(self, expr):
        without_marks = self.regex_replace_all(expr, r"\p{M}", "")
        return f"translate({without_marks}, {self.literal(ACCENTED)}, {self.literal(UNACCENTED)})"

    def jaro_winkler(self, left, right):
        return f"jaro_winkler({left}, {right})"  # DuckDB's, registered with Splink (spark_functions)

    def sorted_set(self, expr):
        return f"array_sort(collect_set({expr}))"

    def one_element_set(self, expr):
        return f"array({expr})"


class SparkEngine(Engine):
    name = "spark"
    dialect = SparkDialect()

    def __init__(self, work_dir: str | Path, master: str = "local[*]", driver_memory: str = "4g",
                 shuffle_partitions: int = 8, conf: dict[str, str] | None = None):
        from scv.engine.spark_session import native_delta, spark_session

        self.spark = spark_session(master, driver_memory, shuffle_partitions, conf or {})
        self.native_delta = native_delta(self.spark)
        self.work_dir = str(work_dir).rstrip("/") + f"/{uuid.uuid4().hex[:12]}"
        self._jsc = getattr(self.spark, "_jsc", None)  # absent on Spark Connect
        if self._jsc is not None:
            self._jsc.sc().setCheckpointDir(spark_path(f"{self.work_dir}/checkpoints"))
        self._versions: dict[str, int] = {}
        self._api = None

    # -- engine tables --------------------------------------------------------------
    def create(self, name, sql):
        with _spark_errors("could not run a stage query"):
            self._materialise(name, self.spark.sql(sql))

    def _materialise(self, name: str, df) -> None:
        """Write once, read back: later stages never recompute the query."""
        version = self._versions.get(name, -1) + 1
        path = spark_path(f"{self.work_dir}/tables/{name}/v{version}")
        df.write.mode("overwrite").parquet(path)
        self.spark.read.parquet(path).createOrReplaceTempView(name)
        self._versions[name] = version
        if version:
            self._remove(f"{self.work_dir}/tables/{name}/v{version - 1}")

    def view(self, name, sql):
        with _spark_errors("could not run a stage query"):
            self.spark.sql(sql).createOrReplaceTempView(name)

    def rows(self, sql):
        with _spark_errors("could not run a stage query"):
            return [tuple(r) for r in self.spark.sql(sql).collect()]

    def columns(self, name):
        return [(c, t) for c, t in self.spark.table(self.dialect.quote(name)).dtypes]

    def to_arrow(self, name) -> pa.RecordBatchReader:
        table = self.spark.table(self.dialect.quote(name)).toArrow()
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())

    def read_arrow(self, name, data):
        table = data.to_table() if hasattr(data, "to_table") else data
        if table.num_rows == 0:
            from pyspark.sql.pandas.types import from_arrow_schema

            df = self.spark.createDataFrame([], from_arrow_schema(table.schema))
        else:
            df = self.spark.createDataFrame(table)
        self._materialise(name, df)

    def drop(self, name):
        self.spark.catalog.dropTempView(name)
        if self._versions.pop(name, None) is not None:
            self._remove(f"{self.work_dir}/tables/{name}")

    # -- sources ----------------------------------------------------------------------
    def read_files(self, name, files, fmt, *, delimiter=None):
        with _spark_errors("could not read the files"):
            if fmt in ("csv", "json"):
                df = (self._read_csv(files, delimiter) if fmt == "csv" else self.spark.read.json(
                    [spark_path(f) for f in files], mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT))
                self._split_rejects(name, df.withColumn("_file", df["_metadata.file_path"]), fmt)
                return
            if fmt == "delta":
                df = self._read_delta(files[0])
            elif fmt == "parquet":
                df = self.spark.read.option("mergeSchema", "true").parquet(*[spark_path(f) for f in files])
            else:
                raise ValueError(f"read_files does not read {fmt}")
            self._materialise(name, df)
            self.read_arrow(f"{name}{REJECTS_SUFFIX}", REJECTS_SCHEMA.empty_table())

    def _read_csv(self, files: list[str], delimiter: str | None):
        """Text columns named by each file's header; malformed lines kept whole aside."""
        from pyspark.sql.types import StringType, StructField, StructType

        frames = []
        by_header: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        for file in files:
            sep = delimiter or sniff_delimiter(file)
            by_header.setdefault((sep, _csv_header(file, sep)), []).append(file)
        for (sep, header), group in by_header.items():
            schema = StructType([StructField(c, StringType()) for c in (*header, CORRUPT)])
            frames.append(self.spark.read.csv(
                [spark_path(f) for f in group], schema=schema, header=True, sep=sep, quote='"',
                escape='"', multiLine=True, mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT,
                enforceSchema=True,
            ))
        df = frames[0]
        for other in frames[1:]:
            df = df.unionByName(other, allowMissingColumns=True)
        return df

    def _split_rejects(self, name: str, df, fmt: str) -> None:
        q = self.dialect.quote
        self._materialise(f"{name}__read", df if CORRUPT in df.columns else df.selectExpr(
            "*", f"cast(null as string) as {CORRUPT}"))
        kept = [q(c) for c, _ in self.columns(f"{name}__read") if c not in (CORRUPT, "_file")]
        self.create(name, f"select {', '.join(kept)} from {q(name + '__read')} where {CORRUPT} is null")
        rejected = self.rows(
            f"select _file, {CORRUPT} from {q(name + '__read')} where {CORRUPT} is not null"
        )
        reason = f"malformed {'CSV' if fmt == 'csv' else 'JSON'} line"
        self.read_arrow(f"{name}{REJECTS_SUFFIX}", pa.Table.from_pylist(
            [{"_file": Path(local).name, "_line": line, "_reason": reason, "_raw_line": raw}
             for local, line, raw in _with_line_numbers(rejected)], REJECTS_SCHEMA))
        self.drop(f"{name}__read")

    # -- lakehouse --------------------------------------------------------------------
    def _read_delta(self, path: str, storage_options: dict[str, str] | None = None):
        if self.native_delta:
            return self.spark.read.format("delta").load(spark_path(path))
        from deltalake import DeltaTable
        from pyspark.sql.pandas.types import from_arrow_schema

        table = DeltaTable(path, storage_options=storage_options)
        files = table.file_uris()
        if not files:
            return self.spark.createDataFrame([], from_arrow_schema(table.schema().to_arrow()))
        return self.spark.read.parquet(*[spark_path(f) for f in files])

    def load(self, name, lakehouse, table, columns=None):
        df = self._read_delta(lakehouse.path(table), lakehouse.storage_options)
        self._materialise(name, df.select(*columns) if columns else df)

    def publish(self, name, lakehouse, table, run_id, mode="overwrite"):
        df = self.spark.table(self.dialect.quote(name))
        target = lakehouse.path(table)
        if self.native_delta:
            (df.write.format("delta").mode(mode).option("overwriteSchema", "true")
               .option("mergeSchema", "true").option("userMetadata", run_id).save(spark_path(target)))
            return
        folder = f"{run_id}-{uuid.uuid4().hex[:8]}"
        df.write.parquet(spark_path(f"{target}/{folder}"))
        written = self.spark.read.parquet(spark_path(f"{target}/{folder}"))
        counts = dict(written.groupBy(written["_metadata.file_name"]).count().collect())
        files = [(f"{folder}/{n}", size, mtime, counts.get(n, 0))
                 for n, size, mtime in self._list_parquet(f"{target}/{folder}")]
        lakehouse.commit_files(table, files, _arrow_schema(df.schema), run_id, mode)

    def _list_parquet(self, folder: str) -> list[tuple[str, int, int]]:
        """(name, size, modification ms) of the data files Spark wrote, on any file system."""
        fs, path = self._hadoop(folder)
        return [
            (s.getPath().getName(), s.getLen(), s.getModificationTime())
            for s in fs.listStatus(path) if s.getPath().getName().endswith(".parquet")
        ]

    def splink_api(self):
        if self._api is None:
            from splink import SparkAPI

            method = None if self.native_delta else "parquet"
            self._api = SparkAPI(spark_session=self.spark, break_lineage_method=method)
            use_engine_neutral_hash(self._api)
            spark_functions.register(self.spark)
        return self._api

    def _remove(self, folder: str) -> None:
        if "://" not in folder:
            shutil.rmtree(folder, ignore_errors=True)
        elif self._jsc is not None:
            fs, path = self._hadoop(folder)
            fs.delete(path, True)

    def _hadoop(self, folder: str):
        """Hadoop's file system and path for a location: the one API every Spark storage has."""
        path = self.spark._jvm.org.apache.hadoop.fs.Path(spark_path(folder))
        return path.getFileSystem(self._jsc.hadoopConfiguration()), path

    def close(self):
        """The work folder holds copies of personal data: it goes with the engine."""
        for name in list(self._versions):
            self.spark.catalog.dropTempView(name)
        self._versions.clear()
        self._remove(self.work_dir)


def spark_path(path: str) -> str:
    """A location as Spark's file systems name it (s3a for s3, a file URI for local paths)."""
    if path.startswith("s3://"):
        return "s3a://" + path[len("s3://"):]
    if "://" in path or path.startswith(("dbfs:", "/Volumes/")):
        return path
    return Path(path).resolve().as_uri()


def _with_line_numbers(rejected: list[tuple[str, str]]) -> list[tuple[str, int | None, str]]:
    """Spark does not say on which line a malformed record was: find it in the file.

    Rejects are few, and sources are files scv can open, so one pass per file suffices.
    """
    by_file: dict[str, list[str]] = {}
    for uri, raw in rejected:
        by_file.setdefault(_local(uri), []).append(raw)
    found = []
    for file, raws in by_file.items():
        waiting: dict[str, list[int]] = {}
        for i, raw in enumerate(raws):
            waiting.setdefault(raw.split("\n")[0].rstrip("\r"), []).append(i)
        lines: list[int | None] = [None] * len(raws)
        try:
            with open(file, encoding="utf-8", errors="replace", newline="") as f:
                for number, text in enumerate(f, start=1):
                    queue = waiting.get(text.rstrip("\r\n"))
                    if queue:
                        lines[queue.pop(0)] = number
        except OSError:
            pass
        found += [(file, line, raw) for line, raw in zip(lines, raws)]
    return sorted(found, key=lambda r: (r[0], r[1] or 0))


def _local(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri).path) if uri.startswith("file:") else uri


def _csv_header(file: str, sep: str) -> tuple[str, ...]:
    import csv

    with open(file, encoding="utf-8", errors="replace", newline="") as f:
        return tuple(next(csv.reader(f, delimiter=sep, quotechar='"'), []))


def _arrow_schema(schema) -> pa.Schema:
    """The Arrow schema of the Parquet Spark wrote, every column nullable."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return pa.schema([f.with_nullable(True) for f in to_arrow_schema(schema, timezone="UTC")])


@contextlib.contextmanager
def _spark_errors(what: str):
    from pyspark.errors import PySparkException

    try:
        yield
    except PySparkException as err:
        raise ScvError(f"Spark {what}: {_spark_error(err)}") from err


def _spark_error(err: BaseException) -> str:
    """The error's class only: Spark's messages may quote row values (ANSI cast errors do)."""
    condition = None
    for getter in ("getCondition", "getErrorClass"):
        if hasattr(err, getter):
            condition = getattr(err, getter)()
            break
    return f"{condition or type(err).__name__} (details withheld as they may quote values; rerun with --debug)"
