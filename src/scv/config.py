"""The project file (`scv.yaml`) as typed models, with one-line errors that name the fix.

Paths in the file are relative to the file's folder, so a project can be moved or
run from anywhere.
"""

from __future__ import annotations

import difflib
import glob
import hashlib
import math
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scv.errors import ConfigError
from scv.linkage_settings import check_override, read_model

NAME_FIELDS = ("first_name", "middle_name", "last_name", "full_name")
CANONICAL_FIELDS = (
    *NAME_FIELDS,
    "date_of_birth",
    "gender",
    "email",
    "phone",
    "address_line_1",
    "address_line_2",
    "city",
    "region",
    "postcode",
    "country",
    "created_at",
    "updated_at",
)
DATE_FIELDS = ("date_of_birth", "created_at", "updated_at")  # from parts: year, month, day
ONE_COLUMN_FIELDS = ("email", "phone")  # erasure matches them as the source holds them
FORMATS = ("csv", "parquet", "json", "delta")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}
_SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SEVERITIES = ("error", "warn", "quarantine")
DEFAULT_CHECKS = (
    "record_id_present", "record_id_unique", "email_well_formed", "date_of_birth_valid",
    "phone_parseable", "names_not_punctuation",
    # of an events source (kind: events): its record's id, its time and its amount
    "event_record_present", "event_time_valid", "amount_numeric",
)
EVENT_KEYS = ("record_of", "record_id", "at", "amount")  # only an events source has them


class Validation(_Strict):
    """Expectations for one source, in Great Expectations' vocabulary."""

    suite: str | None = Field(None, description="A GX expectation suite file (JSON), relative to scv.yaml.")
    expectations: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Inline expectations: {type, kwargs, severity: error|warn|quarantine}.",
    )
    defaults: dict[str, bool | str] = Field(
        default_factory=dict,
        description=f"Built-in checks to switch off (false) or re-grade: {', '.join(DEFAULT_CHECKS)}.",
    )

    @field_validator("defaults")
    @classmethod
    def _known_defaults(cls, defaults: dict[str, bool | str]) -> dict[str, bool | str]:
        for name, setting in defaults.items():
            if name not in DEFAULT_CHECKS:
                raise ValueError(
                    f"'{name}' is not a built-in check{did_you_mean(name, DEFAULT_CHECKS)}; "
                    f"use one of: {', '.join(DEFAULT_CHECKS)}"
                )
            if setting not in (True, False, "off", *SEVERITIES):
                raise ValueError(f"'{name}': use true, false or a severity ({', '.join(SEVERITIES)})")
        return defaults


class Source(_Strict):
    """One system that holds customer records, or events of them (`kind: events`)."""

    kind: Literal["records", "events"] = Field(
        "records", description="records: customer records, standardised and linked; events: events of "
        "another source's records (orders, visits), counted into gold/customer_metrics.",
    )
    path: str = Field(description="File, glob or Delta table folder, relative to scv.yaml.")
    format: Literal["csv", "parquet", "json", "delta"] | None = Field(
        None, description="Read format; inferred from the file extension when absent."
    )
    id: str = Field(description="Column holding the source's own record id.")
    updated_at: str | None = Field(None, description="Column giving the record's recency.")
    columns: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="Canonical field -> source column, or a list of columns it is built from: "
        "text parts joined with a space, a date's year, month and day.",
    )
    attributes: list[str] = Field(
        default_factory=list, description="Other columns carried through to silver and gold."
    )
    delimiter: str | None = Field(None, description="CSV delimiter; sniffed when absent.")
    deduplicated: bool | None = Field(
        None,
        description="The source holds each person at most once: no customer gets two of its records. "
        "Unset: found from the data (its records link to other sources' far more readily than to each "
        "other's; the run reports which sources it linked one-to-one); false: never taken as such.",
    )
    validation: Validation = Field(default_factory=Validation)
    record_of: str | None = Field(
        None, description="kind events: the customer source (kind records) whose records the events belong to."
    )
    record_id: str | None = Field(
        None, description="kind events: column holding the id of that source's record (its `id`)."
    )
    at: str | None = Field(None, description="kind events: column holding the event's time.")
    amount: str | None = Field(None, description="kind events: optional column holding the event's amount.")

    @model_validator(mode="after")
    def _kind_keys(self) -> Source:
        """An events source says whose records its rows belong to and nothing a customer record has."""
        if self.kind == "records":
            given = [k for k in EVENT_KEYS if getattr(self, k) is not None]
            if given:
                raise ValueError(f"{given[0]} is only for an events source; add `kind: events` or remove it")
            return self
        missing = [k for k in ("record_of", "record_id", "at") if getattr(self, k) is None]
        if missing:
            raise ValueError(
                f"kind events needs {', '.join(missing)}: record_of (the customer source), record_id "
                "(the column holding its record id) and at (the column holding the event's time)")
        mapped = [k for k in ("columns", "attributes", "updated_at", "deduplicated") if getattr(self, k)]
        if mapped:
            raise ValueError(
                f"{mapped[0]}: an events source maps no customer fields (its rows are not customer "
                "records); map them on a kind records source, or remove the key")
        return self

    @field_validator("columns", mode="before")
    @classmethod
    def _canonical_keys(cls, columns: Any) -> Any:
        if not isinstance(columns, dict):
            return columns  # pydantic says what it expected
        for field, parts in columns.items():
            if field not in CANONICAL_FIELDS:
                raise ValueError(
                    f"'{field}' is not a canonical field{did_you_mean(field, CANONICAL_FIELDS)}; "
                    f"use one of: {', '.join(CANONICAL_FIELDS)}, or list the column under attributes"
                )
            _check_parts(field, [parts] if isinstance(parts, str) else parts)
        return {f: c[0] if isinstance(c, list) and len(c) == 1 else c for f, c in columns.items()}

    def parts(self, field: str) -> list[str]:
        """The source columns a canonical field is built from; none when it is not mapped."""
        parts = self.columns.get(field, [])
        return [parts] if isinstance(parts, str) else list(parts)


def _check_parts(field: str, parts: Any) -> None:
    """A field built from several columns: dates from year, month, day; email and phone from one."""
    if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
        raise ValueError(f"{field}: give a column name or a list of them (quote a name YAML reads as a number)")
    if not parts:
        raise ValueError(f"{field}: the list names no column; give a column or a list of them")
    if len(parts) == 1:
        return
    if field in ONE_COLUMN_FIELDS:
        raise ValueError(
            f"{field}: give one column, not {len(parts)} (erasure matches {field} as the source "
            "holds it); combine the parts in the source"
        )
    if field in DATE_FIELDS and len(parts) != 3:
        raise ValueError(
            f"{field}: a date from parts takes three columns, year, month and day in that order, "
            f"not {len(parts)} ({', '.join(parts)}); or give one column holding the whole date"
        )


def auto_or_number(value: Any, valid: Callable[[float], bool], wanted: str) -> Any:
    """'auto', or a number `valid` accepts: one message for every wrong value, rather
    than one per member of the union."""
    if value == "auto":
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not valid(number):
        raise ValueError(f"give {wanted}, or auto; not {value!r}")
    return number


class Linkage(_Strict):
    @field_validator("threshold", mode="before")
    @classmethod
    def _probability(cls, threshold: Any) -> Any:
        return auto_or_number(threshold, lambda p: 0 < p < 1, "a match probability above 0 and below 1")

    @field_validator("comparisons_per_record", mode="before")
    @classmethod
    def _budget(cls, budget: Any) -> Any:
        return auto_or_number(budget, lambda n: n > 0, "a number of comparisons per record above 0")

    threshold: float | Literal["auto"] = Field(
        "auto", description="Match probability (above 0, below 1) at which records are clustered, or "
        "auto: the one with the highest expected F1 over this run's calibrated scores, never below 0.5.",
    )
    seed: int = Field(42, description="Seed for Splink's random sampling, for repeatable models.")
    comparisons_per_record: float | Literal["auto"] = Field(
        "auto", description="Budget for blocking: candidate rules are taken, strongest first, "
        "while the pairs they generate stay under this many per record. auto: 10 per record, "
        "but never under 5 million pairs in all (they score in seconds), no one rule more than a third.",
    )
    max_pairs_for_u: float = Field(
        1e6, gt=0, description="Random pairs sampled to estimate u probabilities (Splink's default: "
        "twice as many took a second longer at 1M records for the same F1 on the accuracy data sets).",
    )
    model: str | None = Field(
        None, description="A trained Splink model JSON (as scv saves it in models/), relative to scv.yaml: "
        "pairs are scored with it as it is, nothing is trained.",
    )
    splink: dict[str, Any] = Field(
        default_factory=dict,
        description="Splink settings, in Splink's own format, that replace scv's derived ones "
        "(comparisons, blocking_rules_to_generate_predictions, link_type, ...).",
    )

    @field_validator("splink")
    @classmethod
    def _splink_keys(cls, splink: dict[str, Any]) -> dict[str, Any]:
        if splink:
            check_override(splink)
        return splink

    @model_validator(mode="after")
    def _model_or_comparisons(self) -> Linkage:
        if self.model and "comparisons" in self.splink:
            raise ValueError(
                "give model or splink.comparisons, not both: a reused model brings its own trained "
                "comparisons (other splink settings, such as blocking rules, may go with a model)"
            )
        return self


DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d")
_MONTH_FIRST = {"%d/%m/%Y": "%m/%d/%Y", "%d.%m.%Y": "%m.%d.%Y", "%d-%m-%Y": "%m-%d-%Y",
                "%d/%m/%y": "%m/%d/%y", "%d-%m-%y": "%m-%d-%y", "%d.%m.%y": "%m.%d.%y"}


class Standardise(_Strict):
    date_formats: list[str] = Field(
        default_factory=lambda: list(DEFAULT_DATE_FORMATS),
        description="strptime formats tried in order for dates held as text.",
    )
    date_order: Literal["dmy", "mdy"] = Field(
        "dmy",
        description="How 01/02/1980 reads: dmy (1 February, as in Europe) or mdy (2 January, as "
        "in the US); mdy turns the day-first formats of date_formats month-first.",
    )
    default_country: str = Field(
        "GB",
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166 country code for phone numbers written without a +country code, "
        "and whose postcode rule applies to records without a recognised country.",
    )
    date_of_birth_range: tuple[date, date | Literal["today"]] | None = Field(
        None,
        description="The earliest and latest date of birth kept, e.g. [1800-01-01, today]; one outside is "
        "null in silver (date_of_birth_invalid) and fails date_of_birth_valid. Unset: each source's from "
        "its own dates, 1900 to today, reaching earlier where its dates do, with outliers far below the "
        "rest left out (scv.birth_dates).",
    )

    @field_validator("date_of_birth_range", mode="before")
    @classmethod
    def _birth_range(cls, value: Any) -> Any:
        """One message for every wrong shape, rather than one per member of the union."""
        wanted = "give the earliest and the latest date of birth, e.g. [1800-01-01, today]"
        if value is None:
            return value
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError(f"{wanted}; not {value}")
        try:
            earliest = date.fromisoformat(str(value[0]))
            latest = "today" if value[1] == "today" else date.fromisoformat(str(value[1]))
        except ValueError:
            raise ValueError(f"{wanted} (dates as YYYY-MM-DD); not [{value[0]}, {value[1]}]") from None
        if earliest > (date.today() if latest == "today" else latest):
            raise ValueError(f"the earliest date of birth is after the latest: [{value[0]}, {value[1]}]")
        return earliest, latest


    @model_validator(mode="before")
    @classmethod
    def _month_first(cls, data: Any) -> Any:
        """One place decides the order, so validation, retention and silver read dates alike."""
        if isinstance(data, dict) and data.get("date_order") == "mdy":
            formats = data.get("date_formats") or list(DEFAULT_DATE_FORMATS)
            data = {**data, "date_formats": [_MONTH_FIRST.get(f, f) for f in formats]}
        return data


class Evaluation(_Strict):
    truth_column: str | None = Field(
        None, description="A source column holding the true person id, for `scv evaluate`."
    )


class DuckDBOptions(_Strict):
    memory_limit: str | None = Field(
        None, description="e.g. '8GB'; two fifths of the machine's memory when absent (DuckDB spills the rest).")
    threads: int | None = Field(None, gt=0)
    temp_directory: str | None = Field(
        None, description="Spill folder; scv-spill in the system's temporary folder when absent.")


class SparkOptions(_Strict):
    """Used when scv starts its own session; an active session (Databricks) is used as it is."""

    master: str = Field("local[*]", description="Spark master for a session scv starts.")
    driver_memory: str = Field("4g", description="Driver memory for a session scv starts.")
    shuffle_partitions: int = Field(8, gt=0, description="spark.sql.shuffle.partitions.")
    conf: dict[str, str] = Field(default_factory=dict, description="Any other Spark settings.")


PERIOD_UNITS = {"day": 1.0, "week": 7.0, "month": 30.4375, "year": 365.25}


def period_days(text: str) -> float:
    """'6 years', '18 months', '90 days' as days; ValueError naming the accepted forms."""
    parts = str(text).split()
    unit = parts[1].lower().rstrip("s") if len(parts) == 2 else ""
    try:
        amount = float(parts[0])
    except (ValueError, IndexError):
        amount = -1
    if unit not in PERIOD_UNITS or amount <= 0:
        raise ValueError(f"'{text}' is not a period; write a number and days, weeks, months or years, e.g. '6 years'")
    return amount * PERIOD_UNITS[unit]


class RetentionRule(_Strict):
    """Records whose last activity is older than `keep_for` leave on every run."""

    source: str = Field("*", description="A source name, or * for every source.")
    keep_for: str = Field(description="e.g. '6 years', '18 months', '90 days'.")
    column: str | None = Field(
        None, description="Source column holding the last activity; default the source's updated_at."
    )

    @field_validator("keep_for")
    @classmethod
    def _period(cls, keep_for: str) -> str:
        period_days(keep_for)
        return keep_for


class Compliance(_Strict):
    """Right to be forgotten (`scv forget`) and pseudonymisation: where their keys come from."""

    erasure_key_env: str = Field(
        "SCV_ERASURE_KEY", description="Environment variable holding the HMAC key of audit/erasure_register."
    )
    erasure_key_file: str | None = Field(
        None,
        description="Key file (relative to scv.yaml, outside the lakehouse) used when the variable is "
        "unset; the first `scv forget` creates it.",
    )
    pseudonymise: bool = Field(
        False,
        description="Also write gold/customers_analytics (personal fields as keyed tokens) and the "
        "restricted vault/customers and vault/records (the values behind them).",
    )
    pseudonymisation_key_env: str = Field(
        "SCV_PSEUDONYMISATION_KEY", description="Environment variable holding the HMAC key of the tokens."
    )
    pseudonymisation_key_file: str | None = Field(
        None,
        description="Key file (relative to scv.yaml, outside the lakehouse) used when the variable is "
        "unset; never created by scv: a lost key changes every token.",
    )
    retention: list[RetentionRule] = Field(
        default_factory=list, description="Retention rules, applied on every run; expired records are purged."
    )


# Golden records (scv.golden, scv.survivorship): the vocabulary of survivorship rules.
RANKING_RULES = ("most_complete", "most_recent", "latest_non_null", "most_frequent", "longest", "earliest")
AGGREGATE_RULES = ("min", "max", "sum", "count", "list_distinct")
RULES_WITH_VALUE = ("source_priority", "sql")
RULE_NAMES = (*RANKING_RULES, *AGGREGATE_RULES, *RULES_WITH_VALUE)
DERIVED_GOLDEN_FIELDS = ("name_title", "name_suffix", "house_number")  # derived by standardise
ADDRESS_FIELDS = ("address_line_1", "address_line_2", "house_number", "city", "region", "postcode", "country")
ADDRESS = "address"  # golden.rules key for the address fields surviving together
WHOLE_RECORD_RULES = ("most_complete", "most_recent", "latest_non_null", "earliest", "source_priority")
CUSTOMER_COLUMNS = ("customer_id", "record_count", "sources", "first_seen", "last_updated",
                    "needs_review", "review_reason")
XREF_COLUMNS = ("source", "source_record_id", "record_key", "customer_id", "golden_record",
                "most_complete", "most_recent", "duplicate")
RESERVED_VIEWS = ("analytics",)  # gold/customers_analytics is the pseudonymised copy
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

Rule = Any  # a name, {source_priority: [...]} or {sql: ...}: checked by check_rule


class GoldenView(_Strict):
    """Another set of golden records over the same customers: its own records and rules."""

    filter: str | None = Field(
        None, description="SQL condition over a silver record's columns: only the records meeting it "
        "take part (a customer with none is not in the view).",
    )
    rules: dict[str, Rule] = Field(
        default_factory=dict, description="Survivorship rules of this view; a field not named takes "
        "golden.rules, then the default.",
    )


class Golden(_Strict):
    """How golden records are built: survivorship rules, flags and further views."""

    rules: dict[str, Rule] = Field(
        default_factory=dict,
        description="Golden field (or `address`: the address fields together) -> rule: "
        f"{', '.join(RANKING_RULES + AGGREGATE_RULES)}, {{source_priority: [source, ...]}} or "
        "{sql: an aggregate over the cluster's records, e.g. 'max(amount)'}.",
    )
    suppressed_when: str | None = Field(
        None, description="SQL condition over a silver record's columns: its email is not chosen "
        "while another record's is available (default: a true donotemail, bounced or unsubscribed "
        "attribute).",
    )
    flags: dict[str, str] = Field(
        default_factory=dict, description="Flag name -> SQL condition over a silver record's columns: "
        "a boolean column of gold/customer_xref, and of gold/customers (true when any record's is).",
    )
    views: dict[str, GoldenView] = Field(
        default_factory=dict, description="View name -> filter and rules: gold/customers_<view>.",
    )


def check_rule(where: str, rule: Any, sources: list[str]) -> None:
    """A rule as written in scv.yaml: a name, {source_priority: [...]} or {sql: ...}."""
    plain = ", ".join(RANKING_RULES + AGGREGATE_RULES)
    if isinstance(rule, str):
        if rule in RULES_WITH_VALUE:
            raise ValueError(f"{where}: {rule} takes a value; write {{{rule}: ...}}")
        if rule not in RULE_NAMES:
            raise ValueError(f"{where}: '{rule}' is not a rule{did_you_mean(rule, RULE_NAMES)}; use one of: "
                             f"{plain}, {{source_priority: [source, ...]}}, {{sql: ...}}")
        return
    if not isinstance(rule, dict) or len(rule) != 1:
        raise ValueError(f"{where}: give a rule name ({plain}) or one of {{source_priority: [...]}}, {{sql: ...}}")
    [(kind, value)] = rule.items()
    if kind == "sql":
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: sql takes an aggregate over the cluster's records, e.g. 'max(amount)'")
    elif kind == "source_priority":
        if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
            raise ValueError(f"{where}: source_priority takes a list of source names, e.g. [crm, shop]")
        for s in value:
            if s not in sources:
                raise ValueError(f"{where}: '{s}' is not a source{did_you_mean(s, sources)}; "
                                 f"sources: {', '.join(sources)}")
    else:
        raise ValueError(f"{where}: '{kind}' is not a rule{did_you_mean(kind, RULE_NAMES)}; "
                         f"use {{source_priority: [...]}} or {{sql: ...}}")


def check_golden(golden: Golden, sources: dict[str, Source]) -> None:
    """Field, rule, flag and view names of `golden:`, against the fields the sources carry."""
    attributes = [a for s in sources.values() for a in s.attributes]
    fields = list(dict.fromkeys((*CANONICAL_FIELDS, *DERIVED_GOLDEN_FIELDS, *attributes)))
    layers = [("golden.rules", golden.rules)]
    layers += [(f"golden.views.{v}.rules", view.rules) for v, view in golden.views.items()]
    for where, rules in layers:
        for field, rule in rules.items():
            if field not in (*fields, ADDRESS):
                raise ValueError(f"{where}.{field}: '{field}' is not a golden field"
                                 f"{did_you_mean(field, [*fields, ADDRESS])}; use a canonical field, "
                                 "an attribute of a source, or address")
            check_rule(f"{where}.{field}", rule, list(sources))
            if field == ADDRESS and (rule if isinstance(rule, str) else next(iter(rule))) not in WHOLE_RECORD_RULES:
                raise ValueError(f"{where}.{field}: the address survives from one record; use one of: "
                                 f"{', '.join(WHOLE_RECORD_RULES)}")
    taken = {*fields, *CUSTOMER_COLUMNS, *XREF_COLUMNS}
    for name, condition in golden.flags.items():
        if not _IDENTIFIER.match(name):
            raise ValueError(f"golden.flags.{name}: a flag name is lower-case letters, digits and _, "
                             "starting with a letter (it names a column)")
        if name in taken:
            raise ValueError(f"golden.flags.{name}: '{name}' is already a column of gold/customers or "
                             "gold/customer_xref; choose another name")
        if not condition.strip():
            raise ValueError(f"golden.flags.{name}: give a SQL condition, e.g. \"email is not null\"")
    for name, view in golden.views.items():
        if not _IDENTIFIER.match(name) or name in RESERVED_VIEWS:
            raise ValueError(f"golden.views.{name}: a view name is lower-case letters, digits and _, "
                             f"starting with a letter, and not {', '.join(RESERVED_VIEWS)} "
                             "(it names the table gold/customers_<view>)")
        if view.filter is not None and not view.filter.strip():
            raise ValueError(f"golden.views.{name}.filter: give a SQL condition or leave filter out")


class ProjectConfig(_Strict):
    lakehouse: str = Field(
        "./lakehouse", description="Folder or URI (s3://, abfss://, gs://) of the Delta tables."
    )
    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description="delta-rs storage options for an object-store lakehouse; ${VAR} reads the environment.",
    )
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb", description="duckdb (embedded) or spark (local or an active cluster session)."
    )
    sources: dict[str, Source]
    linkage: Linkage = Field(default_factory=Linkage)
    standardise: Standardise = Field(default_factory=Standardise)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    duckdb: DuckDBOptions = Field(default_factory=DuckDBOptions)
    spark: SparkOptions = Field(default_factory=SparkOptions)
    compliance: Compliance = Field(default_factory=Compliance)
    golden: Golden = Field(default_factory=Golden)

    @field_validator("sources")
    @classmethod
    def _source_names(cls, sources: dict[str, Source]) -> dict[str, Source]:
        if not sources:
            raise ValueError("no sources: name at least one under `sources:`")
        for name in sources:
            if not _SOURCE_NAME.match(name):
                raise ValueError(
                    f"source name '{name}' must be lower-case letters, digits and _ "
                    "(it names tables and record keys)"
                )
        return sources

    @model_validator(mode="after")
    def _golden_names(self) -> ProjectConfig:
        check_golden(self.golden, self.sources)
        return self

    @model_validator(mode="after")
    def _events_belong_to_records(self) -> ProjectConfig:
        """An events source's record_of names a customer source (ConfigError: it knows its place)."""
        for name, source in self.event_sources.items():
            owner = self.sources.get(source.record_of)
            where = f"sources.{name}.record_of"
            if owner is None:
                raise ConfigError(
                    f"{where}: '{source.record_of}' is not a source{did_you_mean(source.record_of, self.record_sources)}; "
                    f"name the customer source the events belong to: {', '.join(self.record_sources)}")
            if owner.kind == "events":
                raise ConfigError(
                    f"{where}: '{source.record_of}' is an events source; events belong to the records "
                    f"of a customer source: {', '.join(self.record_sources) or 'add one with kind records'}")
        if not self.record_sources:
            raise ConfigError("sources: every source is kind events; add a customer source (kind records)")
        return self

    @property
    def record_sources(self) -> dict[str, Source]:
        """The customer sources: standardised into silver/records and linked."""
        return {n: s for n, s in self.sources.items() if s.kind == "records"}

    @property
    def event_sources(self) -> dict[str, Source]:
        """The events sources: cleansed into silver/events and counted into customer metrics."""
        return {n: s for n, s in self.sources.items() if s.kind == "events"}

    def hash(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML loader that refuses a key given twice (plain YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(
                    f"line {key_node.start_mark.line + 1}: '{key}' is given twice "
                    f"(first on line {seen[key]}); rename or remove one"
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _format_validation_error(err: ValidationError, file: str) -> str:
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"]]
    where = ".".join(loc) or "(top level)"
    kind = first["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        allowed = list(parent.model_fields) if parent else []
        return (
            f"{file}: {where}: unknown key '{loc[-1]}'{did_you_mean(loc[-1], allowed)}; "
            f"allowed here: {', '.join(allowed)}"
        )
    if kind == "missing":
        parent = _model_at(loc[:-1])
        doc = parent.model_fields[loc[-1]].description if parent else None
        return f"{file}: {where}: required{f' ({doc})' if doc else ''}; add it"
    msg = first["msg"].removeprefix("Value error, ")
    return f"{file}: {where}: {msg}" if loc else f"{file}: {msg}"  # top level: the message names the key


def _model_at(loc: list[str]) -> type[BaseModel] | None:
    """The model class found by walking `loc` from the project root."""
    model: type[BaseModel] = ProjectConfig
    i = 0
    while i < len(loc):
        field = model.model_fields.get(loc[i])
        if field is None:
            return None
        if loc[i] in ("sources", "views"):  # name -> model
            if i + 1 >= len(loc):
                return None
            model, i = Source if loc[i] == "sources" else GoldenView, i + 2
            continue
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model, i = ann, i + 1
        else:
            return None
    return model


def load_config(path: str | Path) -> tuple[ProjectConfig, Path]:
    """Parse and validate a project file; return it with the folder paths are relative to."""
    path = Path(path)
    if not path.is_file():
        hint = " (run `scv init DIR` to create a starter project)" if path.name == "scv.yaml" else ""
        raise ConfigError(f"{path}: no such project file{hint}")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{line}: not valid YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with `lakehouse`, `sources`, ...")
    try:
        config = ProjectConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, str(path))) from None
    base = path.resolve().parent
    for name, source in config.sources.items():
        resolve_source(name, source, base)
    if config.linkage.model:
        read_model(config.linkage.model, base)
    return config, base


def resolve_source(name: str, source: Source, base: Path) -> tuple[list[str], str]:
    """The files a source names and their format; a one-line error when there are none."""
    pattern = source.path if Path(source.path).is_absolute() else str(base / source.path)
    where = f"sources.{name}.path"
    if (Path(pattern) / "_delta_log").is_dir():
        if source.format not in (None, "delta"):
            raise ConfigError(f"{where}: '{source.path}' is a Delta table but format is '{source.format}'")
        return [pattern], "delta"
    files = sorted(p for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    if not files:
        raise ConfigError(
            f"{where}: no file matches '{source.path}' (relative to {base}); check the path or glob"
        )
    if source.format:
        return files, source.format
    formats = {_EXTENSIONS.get(Path(f).suffix.lower()) for f in files}
    if None in formats or len(formats) > 1:
        raise ConfigError(
            f"{where}: cannot tell the format of '{source.path}' from its extension; "
            f"add `format:` with one of {', '.join(FORMATS)}"
        )
    return files, formats.pop()

