"""Standardise: map each source to the canonical schema and clean every field.

The cleaning rules are pure functions from a SQL expression to a SQL expression, so
they run inside the engine (no row ever passes through Python) and are written once
for every engine through its dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from scv.config import CANONICAL_FIELDS, ProjectConfig
from scv.engine.base import Dialect

if TYPE_CHECKING:
    from scv.pipeline import Run

SILVER_KEYS = ("record_key", "source", "source_record_id")
EARLIEST_BIRTH_DATE = "1900-01-01"
TITLES = ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev")
_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s.]+"


def text(d: Dialect, e: str) -> str:
    """Unicode-normalised, case-folded text with punctuation and repeated spaces removed."""
    e = f"lower({d.unicode_normalise(f'cast({e} as string)')})"
    e = d.regex_replace_all(e, r"['’`]", "")
    e = d.regex_replace_all(e, r"[\p{P}\p{S}]", " ")
    e = d.regex_replace_all(e, r"\s+", " ")
    return f"nullif(trim({e}), '')"


def email(d: Dialect, e: str) -> str:
    """Lower-cased address, NULL unless it looks like one (placeholders never match)."""
    e = f"lower(trim(cast({e} as string)))"
    return f"case when {d.regex_matches(e, _EMAIL)} then {e} end"


def phone(d: Dialect, e: str) -> str:
    """Digits only; too short or too long to be a phone number becomes NULL."""
    e = d.regex_replace_all(f"cast({e} as string)", r"[^0-9]", "")
    return f"case when length({e}) between 7 and 15 then {e} end"


def postcode(d: Dialect, e: str) -> str:
    e = d.regex_replace_all(f"upper(cast({e} as string))", r"[^0-9A-Z]", "")
    return f"nullif({e}, '')"


def gender(d: Dialect, e: str) -> str:
    t = text(d, e)
    return (
        f"case when {t} in ('m', 'male', 'man') then 'm' "
        f"when {t} in ('f', 'female', 'woman') then 'f' else {t} end"
    )


def birth_date(d: Dialect, e: str, formats) -> str:
    """A real date of birth: unparseable, future or before 1900 becomes NULL."""
    parsed = d.parse_date(f"trim(cast({e} as string))", formats)
    return (
        f"case when {parsed} between date '{EARLIEST_BIRTH_DATE}' and current_date "
        f"then {parsed} end"
    )


def timestamp(d: Dialect, e: str, formats) -> str:
    """A point in time; before 1900 is taken for a typo ('01/02/80' read as year 80)."""
    parsed = d.parse_timestamp(f"trim(cast({e} as string))", formats)
    return f"case when {parsed} >= cast('{EARLIEST_BIRTH_DATE}' as {d.timestamp_type}) then {parsed} end"


def full_name_in_order(d: Dialect, e: str) -> str:
    """'SMITH, John' -> 'john smith'; leading titles dropped."""
    raw = f"cast({e} as string)"
    reordered = (
        f"case when {raw} like '%,%' then concat(substr({raw}, instr({raw}, ',') + 1), ' ', "
        f"substr({raw}, 1, instr({raw}, ',') - 1)) else {raw} end"
    )
    titles = "|".join(TITLES)
    return f"nullif(trim({d.regex_replace_all(text(d, reordered), f'^(({titles}) )+', '')}), '')"


def first_token(d: Dialect, e: str) -> str:
    return "nullif(" + d.regex_extract(e, r"^(\S+) ") + ", '')"


def last_token(d: Dialect, e: str) -> str:
    return "nullif(" + d.regex_extract(e, r" (\S+)$") + ", '')"


def field_rules(config: ProjectConfig) -> dict[str, Callable[[Dialect, str], str]]:
    formats = config.standardise.date_formats
    rules: dict[str, Callable[[Dialect, str], str]] = {f: text for f in CANONICAL_FIELDS}
    rules.update(
        email=email,
        phone=phone,
        postcode=postcode,
        gender=gender,
        full_name=full_name_in_order,
        date_of_birth=lambda d, e: birth_date(d, e, formats),
        created_at=lambda d, e: timestamp(d, e, formats),
        updated_at=lambda d, e: timestamp(d, e, formats),
    )
    return rules


def silver_select(run: Run, name: str, attributes: list[str]) -> str:
    """One source's valid rows in the canonical schema, cleaned."""
    d, source = run.engine.dialect, run.config.sources[name]
    q = d.quote
    mapping = dict(source.columns)
    if source.updated_at:
        mapping.setdefault("updated_at", source.updated_at)
    rules = field_rules(run.config)
    cleaned = {
        f: (rules[f](d, q(mapping[f])) if f in mapping else "null") for f in CANONICAL_FIELDS
    }
    if "full_name" in mapping:  # split a full name when the parts are not given
        full = cleaned["full_name"]
        cleaned["first_name"] = f"coalesce({cleaned['first_name']}, {first_token(d, full)})"
        cleaned["last_name"] = f"coalesce({cleaned['last_name']}, {last_token(d, full)})"
    typed = {"date_of_birth": "date", "created_at": d.timestamp_type, "updated_at": d.timestamp_type}
    fields = [f"cast({cleaned[f]} as {typed.get(f, 'string')}) as {q(f)}" for f in CANONICAL_FIELDS]
    attrs = [
        f"cast({q(a) if a in source.attributes else 'null'} as string) as {q(a)}" for a in attributes
    ]
    return f"""select concat({d.literal(name + ':')}, _record_id) as record_key,
                      {d.literal(name)} as source, _record_id as source_record_id,
                      {', '.join(fields + attrs)}, _batch_id
               from {q(f'valid_{name}')}"""


def standardise(run: Run) -> None:
    attributes = list(dict.fromkeys(a for s in run.config.sources.values() for a in s.attributes))
    union = " union all ".join(silver_select(run, name, attributes) for name in run.config.sources)
    run.engine.create("silver_records", union)
    run.engine.publish("silver_records", run.lakehouse, "silver/records", run.run_id)
    for name, n in run.engine.rows(
        "select source, count(*) from silver_records group by source"
    ):
        run.count(name, "silver", n)
