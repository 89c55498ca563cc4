"""What every engine offers the stages. Tables are referred to by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import pyarrow as pa

REJECTS_SUFFIX = "__rejects"
REJECTS_SCHEMA = pa.schema(
    [("_file", pa.string()), ("_line", pa.int64()), ("_reason", pa.string()), ("_raw_line", pa.string())]
)

DELIMITERS = (",", ";", "\t", "|")


def sniff_delimiter(file: str) -> str:
    """The delimiter the header line uses most, of the common ones."""
    with open(file, encoding="utf-8", errors="replace") as f:
        header = f.readline()
    return max(DELIMITERS, key=header.count) if any(d in header for d in DELIMITERS) else ","


class Dialect:
    """SQL spellings that differ between engines; everything else is shared SQL."""

    timestamp_type = "timestamp"  # a timestamp without time zone
    # ISO 8601, with a trailing Z (UTC) as exports write it (2021-03-04T10:22:13Z); other
    # offsets are not read, as the engines would drop them rather than convert
    ISO_TIMESTAMP = r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?Z?)?"

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def literal(self, value: str) -> str:
        """A string literal, for values scv itself controls (run ids, source names)."""
        return "'" + str(value).replace("'", "''") + "'"

    def record_number(self, key: str) -> str | None:
        """A number for each record in `key` order, for Splink to join a full run's records
        on where the engine numbers rows cheaply (DuckDB, on one machine): numbers join
        faster than text. None: the engine joins on the key itself (Spark, where numbering
        in order takes a global sort)."""
        return None

    def regex_replace_all(self, expr: str, pattern: str, replacement: str) -> str:
        raise NotImplementedError

    def regex_matches(self, expr: str, pattern: str) -> str:
        raise NotImplementedError

    def regex_contains(self, expr: str, pattern: str) -> str:
        """True where the pattern matches anywhere in the value (regex_matches is anchored)."""
        return self.regex_matches(expr, "(?s).*?(?:" + pattern + ").*")

    def regex_extract(self, expr: str, pattern: str, group: int = 1) -> str:
        """The group's text of the first match; '' when there is none."""
        return f"regexp_extract({expr}, {self.literal(pattern)}, {group})"

    def parse_date(self, expr: str, formats: Sequence[str]) -> str:
        """A DATE from text in any of `formats` (strptime style), NULL when none fits."""
        return f"cast({self.parse_timestamp(expr, formats)} as date)"

    def parse_timestamp(self, expr: str, formats: Sequence[str]) -> str:
        raise NotImplementedError

    def epoch_days(self, expr: str) -> str:
        """Days since 1970-01-01 of a date or timestamp, as a double: dates on a number line."""
        raise NotImplementedError

    def unicode_normalise(self, expr: str) -> str:
        """Canonical composition and accents stripped, so 'Zoë' and 'Zoe' compare equal."""
        raise NotImplementedError

    def jaro_winkler(self, left: str, right: str) -> str:
        """Jaro-Winkler similarity of two texts, as Splink's comparison levels compute it."""
        raise NotImplementedError

    def sorted_set(self, expr: str) -> str:
        """Aggregate: the distinct values of `expr` as a sorted array."""
        raise NotImplementedError

    def one_element_set(self, expr: str) -> str:
        """What `sorted_set` gives over one row whose `expr` is not null."""
        raise NotImplementedError


class Engine(ABC):
    name: str
    dialect: Dialect

    @abstractmethod
    def read_files(self, name: str, files: list[str], fmt: str, *, delimiter: str | None = None) -> None:
        """Register the rows of source files (or a Delta table folder) as table `name`.

        CSV is read as text, never inferred.

        Lines that cannot be parsed go to table `name + REJECTS_SUFFIX` (REJECTS_SCHEMA)
        instead of failing the read or vanishing.
        """

    @abstractmethod
    def read_arrow(self, name: str, data: pa.Table | pa.dataset.Dataset) -> None:
        """Register Arrow data (e.g. a Delta table's dataset) as table `name`."""

    @abstractmethod
    def create(self, name: str, sql: str) -> None:
        """Materialise a query as table `name`, replacing any table of that name."""

    @abstractmethod
    def view(self, name: str, sql: str) -> None:
        """Name a query without running it: it runs where it is read. For a large table
        read once (only to be published), which need not be materialised first."""

    @abstractmethod
    def rows(self, sql: str) -> list[tuple]:
        """Run a query with a small result and return its rows."""

    @abstractmethod
    def columns(self, name: str) -> list[tuple[str, str]]:
        """(column, type) of table `name`."""

    @abstractmethod
    def to_arrow(self, name: str) -> pa.RecordBatchReader:
        """Stream a table out as Arrow record batches (for Delta writes)."""

    @abstractmethod
    def drop(self, name: str) -> None: ...

    @abstractmethod
    def splink_api(self):
        """Splink's database API bound to this engine's session."""

    def publish(self, name: str, lakehouse, table: str, run_id: str, mode: str = "overwrite") -> None:
        """Write engine table `name` to the lakehouse as one Delta commit."""
        lakehouse.write(table, self.to_arrow(name), run_id, mode=mode)

    def load(self, name: str, lakehouse, table: str, columns: list[str] | None = None) -> None:
        """Register a lakehouse Delta table (or these of its columns) as engine table `name`."""
        data = lakehouse.read(table)
        self.read_arrow(name, data.to_table(columns=columns) if columns else data)

    def count(self, name: str) -> int:
        return self.rows(f"select count(*) from {self.dialect.quote(name)}")[0][0]

    def memory_limit_bytes(self) -> int | None:
        """What a query may hold before the engine spills, for work it must cut into parts
        itself; None for an engine that spills whatever a query holds (Spark)."""
        return None

    def close(self) -> None:
        pass
