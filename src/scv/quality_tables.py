"""The data quality tables under audit/: what was in each source, and what was checked.

Written by the profile and validate stages, read by the quality report and by users.
Values from personal-data columns never land here: only counts, lengths and patterns.
"""

from __future__ import annotations

import pyarrow as pa

# audit/profiles: one row per run, source and column.
# min/max/mean/median are text so that numbers and dates share one column (ISO dates);
# they are null for personal-data columns. stddev is in the column's unit (days for dates).
# top_values: JSON [{"value": str|null, "count": int}] (value null when masked).
# patterns:   JSON [{"pattern": "Aa+ Aa+", "count": int, "share": float}].
# histogram:  JSON [{"low": float, "high": float, "count": int}] over the values of numbers
#             and dates (dates as days since 1970-01-01), or over string lengths.
PROFILE_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("source", pa.string()), ("column", pa.string()),
    ("data_type", pa.string()), ("personal", pa.bool_()), ("canonical_field", pa.string()),
    ("row_count", pa.int64()), ("non_null", pa.int64()), ("completeness", pa.float64()),
    ("distinct_count", pa.int64()), ("uniqueness", pa.float64()),
    ("min", pa.string()), ("max", pa.string()), ("mean", pa.string()), ("median", pa.string()),
    ("stddev", pa.float64()),
    ("min_length", pa.int64()), ("max_length", pa.int64()), ("mean_length", pa.float64()),
    ("top_values", pa.string()), ("patterns", pa.string()), ("histogram", pa.string()),
])

# audit/validation_results: one row per run, source (or "gold") and expectation.
# kwargs: JSON of the expectation's arguments. observed_value: text, as GX reports it.
# unexpected_sample: JSON list of up to 5 values, masked ("***") for personal-data columns.
# origin: "default" (derived from the mapping), "suite" (a suite file), "inline" (scv.yaml)
# or "output" (the checks on gold before it is published).
VALIDATION_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("source", pa.string()), ("suite", pa.string()),
    ("expectation", pa.string()), ("column", pa.string()), ("kwargs", pa.string()),
    ("severity", pa.string()), ("origin", pa.string()), ("success", pa.bool_()),
    ("observed_value", pa.string()), ("element_count", pa.int64()),
    ("unexpected_count", pa.int64()), ("unexpected_percent", pa.float64()),
    ("unexpected_sample", pa.string()),
])

# Canonical fields whose values identify a person: never shown, only counted and patterned.
PERSONAL_FIELDS = (
    "first_name", "middle_name", "last_name", "full_name", "date_of_birth", "email", "phone",
    "address_line_1", "address_line_2", "postcode",
)


def personal_columns(source) -> set[str]:
    """The source columns mapped to a personal field: shown only as counts and shapes."""
    return {col for field in PERSONAL_FIELDS for col in source.parts(field)}
