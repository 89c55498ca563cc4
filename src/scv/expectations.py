"""Expectations in Great Expectations' vocabulary and file format, evaluated as engine SQL.

A suite is a GX suite file (GX 1.x `type`/`kwargs` or 0.x `expectation_type`), inline
expectations from scv.yaml, and built-in defaults derived from the source's mapping.
Each expectation compiles to SQL: row-level ones to a predicate that is true for an
unexpected row (so failing rows can be quarantined in the same pass), table-level ones
to an aggregate. The same SQL runs on DuckDB and Spark; see docs/decisions.md for why
GX's own engine is not used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from scv.birth_dates import USUAL, BirthRange
from scv.config import SEVERITIES, Source, did_you_mean
from scv.errors import ConfigError

GX_SEVERITY = {"critical": "error", "warning": "warn", "info": "warn"}
ISO_DATE = "%Y-%m-%d"

# Row-level expectations: a SQL predicate over the column `c` (already quoted) that is true
# when a row is unexpected. Nulls are not unexpected except for the null checks, as in GX.
ROW_LEVEL = (
    "expect_column_values_to_not_be_null", "expect_column_values_to_be_null",
    "expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique",
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
    "expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between", "expect_column_value_lengths_to_be_between",
    "expect_column_value_lengths_to_equal", "expect_column_values_to_match_strftime_format",
)
TABLE_LEVEL = (
    "expect_table_row_count_to_be_between", "expect_table_row_count_to_equal",
    "expect_column_to_exist", "expect_table_columns_to_match_set",
    "expect_column_min_to_be_between", "expect_column_max_to_be_between",
    "expect_column_mean_to_be_between", "expect_column_unique_value_count_to_be_between",
    "expect_column_proportion_of_unique_values_to_be_between",
)
SUPPORTED = ROW_LEVEL + TABLE_LEVEL


@dataclass(frozen=True)
class Expectation:
    type: str
    kwargs: dict[str, Any]
    severity: str = "error"
    origin: str = "inline"
    reason: str | None = None  # the quarantine reason; built from type and column if absent
    default: str | None = None  # name of the built-in default it comes from
    key: int = field(default=0, compare=False)  # position in its suite, for SQL names

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")

    @property
    def columns(self) -> list[str]:
        if "column_list" in self.kwargs:
            return list(self.kwargs["column_list"])
        return [self.column] if self.column else []

    @property
    def row_level(self) -> bool:
        return self.type in ROW_LEVEL

    def label(self) -> str:
        return f"{self.type}({', '.join(self.columns)})"

    def why(self) -> str:
        return self.reason or f"failed {self.label()}"


def parse(raw: dict, origin: str, where: str) -> Expectation:
    """One expectation from GX JSON (1.x or 0.x) or scv.yaml, with a one-line error."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: an expectation must be a mapping with `type` and `kwargs`")
    kind = raw.get("type") or raw.get("expectation_type")
    if kind not in SUPPORTED:
        raise ConfigError(
            f"{where}: unsupported expectation '{kind}'{did_you_mean(kind, SUPPORTED)}; "
            f"supported: {', '.join(SUPPORTED)}"
        )
    kwargs = dict(raw.get("kwargs") or {})
    severity = raw.get("severity") or (raw.get("meta") or {}).get("severity") or "error"
    severity = GX_SEVERITY.get(severity, severity)
    if severity not in SEVERITIES:
        raise ConfigError(f"{where}: severity '{severity}' must be one of {', '.join(SEVERITIES)}")
    if severity == "quarantine" and kind not in ROW_LEVEL:
        raise ConfigError(
            f"{where}: {kind} checks the whole table, so it cannot quarantine rows; "
            "use severity error or warn"
        )
    needs_column = kind not in ("expect_table_row_count_to_be_between", "expect_table_row_count_to_equal",
                                "expect_table_columns_to_match_set", "expect_compound_columns_to_be_unique")
    if needs_column and not kwargs.get("column"):
        raise ConfigError(f"{where}: {kind} needs kwargs.column")
    return Expectation(kind, kwargs, severity, origin)


def load_suite_file(path: Path, where: str) -> list[dict]:
    """The expectations of a GX suite file (JSON, as GX writes it)."""
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such suite file {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{where}: {path} is not a JSON suite ({err})") from None
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise ConfigError(f"{where}: {path} has no `expectations` list; is it a GX suite?")
    return suite["expectations"]


def default_expectations(source: Source, birth: BirthRange = USUAL) -> list[Expectation]:
    """Checks every source gets from its mapping; each can be switched off or re-graded.
    A field built from several columns has none: it is checked once combined, in silver
    (an impossible date of birth is `date_of_birth_invalid` there). `birth`: the source's
    range of dates of birth, as silver's rule has it (scv.birth_dates)."""
    if source.kind == "events":
        return event_expectations(source)
    cols = {field: col for field, col in source.columns.items() if isinstance(col, str)}
    found: list[Expectation] = [
        Expectation("expect_column_values_to_not_be_null", {"column": source.id}, "quarantine",
                    reason=f"missing record id (column {source.id})", default="record_id_present"),
        Expectation("expect_column_values_to_be_unique", {"column": source.id}, "quarantine",
                    reason=f"record id not unique (column {source.id})", default="record_id_unique"),
    ]
    if "email" in cols:
        found.append(Expectation(
            "expect_column_values_to_match_regex",
            {"column": cols["email"], "regex": r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"},
            "warn", reason="malformed email", default="email_well_formed"))
    if "date_of_birth" in cols:
        earliest, latest = birth.bounds()
        found.append(Expectation(
            "expect_column_values_to_be_between",
            {"column": cols["date_of_birth"], "min_value": earliest, "max_value": latest},
            "warn", reason=f"date of birth not a real date from {birth.text()}",
            default="date_of_birth_valid"))
    if "phone" in cols:
        found.append(Expectation(
            "expect_column_values_to_match_regex",
            {"column": cols["phone"], "regex": r"^\s*\+?[0-9(][0-9 ()./-]{4,}[0-9]\s*$"},
            "warn", reason="phone number not parseable", default="phone_parseable"))
    for name in ("first_name", "middle_name", "last_name", "full_name"):
        if name in cols:
            found.append(Expectation(
                "expect_column_values_to_match_regex", {"column": cols[name], "regex": r"[\p{L}\p{N}]"},
                "warn", reason=f"{name.replace('_', ' ')} is only punctuation", default="names_not_punctuation"))
    return found


# An event's time must read as a point in time (ISO 8601, or standardise.date_formats):
# one before 1900 is taken for a typo, as a record's created_at is.
EARLIEST_EVENT = "1900-01-01"
AMOUNT = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"


def event_expectations(source: Source) -> list[Expectation]:
    """An events source's checks: an event without its id, its record's id or a readable time
    cannot be counted into a customer's metrics, so each quarantines by default."""
    def check(kind: str, column: str, reason: str, default: str, **kwargs) -> Expectation:
        return Expectation(kind, {"column": column, **kwargs}, "quarantine",
                           reason=f"{reason} (column {column})", default=default)

    found = [
        check("expect_column_values_to_not_be_null", source.id, "missing event id", "record_id_present"),
        check("expect_column_values_to_be_unique", source.id, "event id not unique", "record_id_unique"),
        check("expect_column_values_to_not_be_null", source.record_id, "missing record id of the event",
              "event_record_present"),
        check("expect_column_values_to_not_be_null", source.at, "missing event time", "event_time_valid"),
        check("expect_column_values_to_be_between", source.at, "event time not a timestamp after 1900",
              "event_time_valid", min_value=EARLIEST_EVENT),
    ]
    if source.amount:
        found.append(check("expect_column_values_to_match_regex", source.amount, "amount not a number",
                           "amount_numeric", regex=AMOUNT))
    return found


def source_suite(name: str, source: Source, base_dir: Path, birth: BirthRange | None = None) -> list[Expectation]:
    """Defaults (as configured), then the suite file's expectations, then inline ones."""
    checks = source.validation
    suite = []
    for e in default_expectations(source, birth or USUAL):
        setting = checks.defaults.get(e.default, True)
        if setting is False or setting == "off":
            continue
        suite.append(replace(e, origin="default", severity=e.severity if setting is True else setting))
    if checks.suite:
        path = Path(checks.suite) if Path(checks.suite).is_absolute() else base_dir / checks.suite
        for i, raw in enumerate(load_suite_file(path, f"sources.{name}.validation.suite")):
            suite.append(parse(raw, "suite", f"sources.{name}.validation.suite: expectation {i + 1}"))
    for i, raw in enumerate(checks.expectations):
        suite.append(parse(raw, "inline", f"sources.{name}.validation.expectations[{i}]"))
    return [replace(e, key=i) for i, e in enumerate(suite)]


def check_columns(name: str, suite: list[Expectation], columns: list[str]) -> None:
    """An expectation on a column the source lacks is a mistake in the suite: say so first."""
    for e in suite:
        if e.type == "expect_column_to_exist":
            continue
        for col in e.columns:
            if col not in columns:
                raise ConfigError(
                    f"sources.{name}: {e.type} names column '{col}', which the source does not have"
                    f"{did_you_mean(col, columns)}"
                )


# --- SQL ------------------------------------------------------------------------------


def _search(d, expr: str, regex: str) -> str:
    """GX's match_regex finds the pattern anywhere in the value."""
    return d.regex_contains(expr, regex)


def _is_date_bound(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
        return not isinstance(value, (int, float))
    except ValueError:
        return False


def _value_for_bounds(d, c: str, kwargs: dict, date_formats: list[str]) -> tuple[str, Any]:
    """The column as a number or a date, by the type of the bounds, and a bound literal maker."""
    bounds = [kwargs.get("min_value"), kwargs.get("max_value")]
    if any(_is_date_bound(b) for b in bounds if b is not None):
        formats = [ISO_DATE, *[f for f in date_formats if f != ISO_DATE]]
        return (d.parse_date(f"trim(cast({c} as string))", formats),
                lambda v: f"cast({d.literal(str(v))} as date)")
    return f"try_cast({c} as double)", lambda v: f"cast({float(v)!r} as double)"


def _bounds(value: str, literal, kwargs: dict, prefix: str = "") -> str:
    """`value` out of [min_value, max_value] (strict_min/strict_max as in GX)."""
    out = []
    low, high = kwargs.get(f"{prefix}min_value"), kwargs.get(f"{prefix}max_value")
    if low is not None:
        out.append(f"{value} {'<=' if kwargs.get('strict_min') else '<'} {literal(low)}")
    if high is not None:
        out.append(f"{value} {'>=' if kwargs.get('strict_max') else '>'} {literal(high)}")
    return " or ".join(out) or "false"


def unexpected_sql(e: Expectation, d, date_formats: list[str]) -> str:
    """True for a row that fails a row-level expectation (uses `_dup_<key>` for uniqueness)."""
    k = e.kwargs
    c = d.quote(e.column) if e.column else None
    text = f"cast({c} as string)" if c else None
    if e.type == "expect_column_values_to_not_be_null":
        return f"({c} is null)"
    if e.type == "expect_column_values_to_be_null":
        return f"({c} is not null)"
    if e.type in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        return f"(coalesce(_dup_{e.key}, 0) > 1)"
    if e.type == "expect_column_values_to_match_regex":
        return f"({c} is not null and not {_search(d, text, k['regex'])})"
    if e.type == "expect_column_values_to_not_match_regex":
        return f"({c} is not null and {_search(d, text, k['regex'])})"
    if e.type in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        values = ", ".join(d.literal(_as_text(v)) for v in k.get("value_set") or []) or "null"
        member = f"coalesce({text} in ({values}), false)"
        outside = e.type == "expect_column_values_to_be_in_set"
        return f"({c} is not null and {'not ' if outside else ''}{member})"
    if e.type == "expect_column_values_to_be_between":
        value, literal = _value_for_bounds(d, c, k, date_formats)
        if k.get("min_value") is not None and k.get("max_value") is not None and not (
                k.get("strict_min") or k.get("strict_max")):  # the reading (a date's is long) once
            return (f"({c} is not null and coalesce(not ({value} between {literal(k['min_value'])} "
                    f"and {literal(k['max_value'])}), true))")
        return f"({c} is not null and ({value} is null or {_bounds(value, literal, k)}))"
    if e.type == "expect_column_value_lengths_to_be_between":
        return f"({c} is not null and ({_bounds(f'length({text})', lambda v: str(int(v)), k)}))"
    if e.type == "expect_column_value_lengths_to_equal":
        return f"({c} is not null and length({text}) != {int(k['value'])})"
    if e.type == "expect_column_values_to_match_strftime_format":
        return f"({c} is not null and {d.parse_date(text, [k['strftime_format']])} is null)"
    raise AssertionError(e.type)


def duplicates_sql(e: Expectation, d, rows_sql: str, kept: str = "true") -> tuple[str, str]:
    """(column, join): `_dup_<key>`, how many kept rows share this row's value(s) where
    more than one does (else NULL), from a group-by joined to the rows as `s`: a window
    over the rows would carry every column of the source through its sort."""
    cols = [d.quote(c) for c in e.columns]
    present = " or ".join(f"{c} is not null" for c in cols)
    shared = f"sum(case when {kept} then 1 else 0 end)"
    alias = f"dup_{e.key}"
    on = " and ".join(f"s.{c} is not distinct from {alias}.{c}" for c in cols)
    return (f"{alias}.n as _dup_{e.key}",
            f"left join (select {', '.join(cols)}, {shared} as n from ({rows_sql}) r where {present} "
            f"group by {', '.join(cols)} having {shared} > 1) {alias} on {on}")


def denominator_sql(e: Expectation, d) -> str:
    """The rows GX measures a row-level expectation against: all rows for the null checks,
    otherwise the rows with a value."""
    if e.type in ("expect_column_values_to_not_be_null", "expect_column_values_to_be_null"):
        return "count(*)"
    if e.type == "expect_compound_columns_to_be_unique":
        return f"count(case when {' or '.join(f'{d.quote(c)} is not null' for c in e.columns)} then 1 end)"
    return f"count({d.quote(e.column)})"


def metric_sql(e: Expectation, d, date_formats: list[str], columns: list[str]) -> str | None:
    """The aggregate a table-level expectation observes, or None when it needs no query."""
    k = e.kwargs
    c = d.quote(e.column) if e.column else None
    if e.type in ("expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"):
        return "count(*)"
    if e.type in ("expect_column_to_exist", "expect_table_columns_to_match_set"):
        return None
    if e.type in ("expect_column_min_to_be_between", "expect_column_max_to_be_between"):
        value, _ = _value_for_bounds(d, c, k, date_formats)
        agg = "min" if "_min_" in e.type else "max"
        return f"cast({agg}({value}) as string)"
    if e.type == "expect_column_mean_to_be_between":
        return f"avg(try_cast({c} as double))"
    if e.type == "expect_column_unique_value_count_to_be_between":
        return f"count(distinct {c})"
    if e.type == "expect_column_proportion_of_unique_values_to_be_between":
        return f"cast(count(distinct {c}) as double) / nullif(count({c}), 0)"
    raise AssertionError(e.type)


def table_success(e: Expectation, observed: Any, columns: list[str]) -> tuple[bool, str]:
    """Whether a table-level expectation holds, and the observed value as text."""
    k = e.kwargs
    if e.type == "expect_column_to_exist":
        return e.column in columns, str(e.column in columns).lower()
    if e.type == "expect_table_columns_to_match_set":
        expected, actual = set(k.get("column_set") or []), set(columns)
        ok = actual == expected if k.get("exact_match", True) else expected <= actual
        return ok, json.dumps(sorted(actual))
    if e.type == "expect_table_row_count_to_equal":
        return observed == int(k["value"]), str(observed)
    if observed is None:
        return False, "null"
    dated = e.type in ("expect_column_min_to_be_between", "expect_column_max_to_be_between") and any(
        _is_date_bound(k[b]) for b in ("min_value", "max_value") if k.get(b) is not None)
    as_bound = (lambda v: date.fromisoformat(str(v)[:10])) if dated else float
    value, low, high = as_bound(observed), k.get("min_value"), k.get("max_value")
    ok = (low is None or (value > as_bound(low) if k.get("strict_min") else value >= as_bound(low))) and (
        high is None or (value < as_bound(high) if k.get("strict_max") else value <= as_bound(high)))
    return ok, str(observed)


def _as_text(value: Any) -> str:
    """A set member as the text a column cast to string shows (true, 1, 1.5)."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)

