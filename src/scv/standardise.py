"""Standardise: map each source to the canonical schema and clean every field.

The cleaning rules are pure functions from a SQL expression to a SQL expression, so
they run inside the engine and are written once for every engine through its dialect.
Phone numbers, nicknames and country names need Python libraries: their distinct
values, or the library's table, are joined in as lookup tables (scv.lookups).

Silver keeps an audit trail next to the standardised fields: the raw phone, email,
postcode and country where they differ from the standardised value, and a flag for
each rule that fired.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from scv import increment, lookups
from scv.config import CANONICAL_FIELDS, DATE_FIELDS, ProjectConfig
from scv.engine.base import Dialect
from scv.increment import LINEAGE_COLUMNS

if TYPE_CHECKING:
    from scv.birth_dates import BirthRange
    from scv.pipeline import Run

SILVER_KEYS = ("record_key", "source", "source_record_id")
NAME_PARTS = ("name_title", "name_suffix")  # golden fields, split off the names
ADDRESS_PARTS = ("house_number",)  # golden field, read from the address lines
# for linkage only: nickname-resolved first name, Metaphone codes of the names
MATCH_KEYS = ("first_name_key", "first_name_phonetic", "last_name_phonetic", "email_key", "postcode_key")
NAME_KEYS = ("first_name_key", "first_name_phonetic", "last_name_phonetic")  # from scv.lookups.name_lookup
AUDIT_COLUMNS = (
    "email_role", "email_invalid", "email_raw", "phone_invalid", "phone_raw",
    "postcode_invalid", "postcode_raw", "country_invalid", "country_raw",
    "date_of_birth_invalid", "date_of_birth_raw",
)
DERIVED_COLUMNS = (*NAME_PARTS, *ADDRESS_PARTS, *MATCH_KEYS, *AUDIT_COLUMNS)
EARLIEST_BIRTH_DATE = "1900-01-01"
TITLES = ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "lord", "lady")
SUFFIXES = ("jr", "jnr", "sr", "snr", "ii", "iii", "iv", "phd", "md", "esq")
# RFC 5322's dot-atom local part and a dotted host name with a letters-only top level.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_{|}~-]+"
_EMAIL = rf"{_ATOM}(\.{_ATOM})*@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{{2,}}"
DOTLESS_DOMAINS = ("gmail.com", "googlemail.com")  # providers that ignore dots in the local part
ROLE_LOCAL_PARTS = (
    "info", "sales", "admin", "administrator", "support", "help", "contact", "enquiries",
    "enquiry", "office", "hello", "mail", "marketing", "accounts", "billing", "noreply",
    "no-reply", "webmaster", "postmaster", "hostmaster", "abuse", "team", "hr", "jobs",
    "careers", "service", "customerservice", "newsletter", "privacy", "reception", "orders",
)


PLAIN_WORDS = "[a-z0-9]+( [a-z0-9]+)*"  # what `text` leaves as it is


def text(d: Dialect, e: str, quick: bool = True) -> str:
    """Unicode-normalised, case-folded text with punctuation and repeated spaces removed.

    `quick`: plain words (most names and towns) skip the two replacements, about half
    the rule's cost on names; not for an `e` that is itself costly, which the CASE
    computes again."""
    e = f"lower({d.unicode_normalise(f'cast({e} as string)')})"
    folded = d.regex_replace_all(e, r"['’`]", "")
    # a run of punctuation, symbols and spaces is one space (RE2's \s is ASCII only: \p{Z} too)
    folded = d.regex_replace_all(folded, r"[\p{P}\p{S}\s\p{Z}]+", " ")
    if quick:
        folded = f"case when {d.regex_matches(e, PLAIN_WORDS)} then {e} else {folded} end"
    return f"nullif(trim({folded}), '')"


def email(d: Dialect, e: str) -> str:
    """Trimmed, lower-cased address; NULL unless it is well formed (placeholders never are)."""
    e = f"lower(trim(cast({e} as string)))"
    return f"case when {d.regex_matches(e, _EMAIL)} then {e} end"


def _local_part(e: str) -> str:
    """The local part of a standardised address without its +tag ('bob+shop' -> 'bob').
    A standardised address has one '@' (`email`): splitting is exact, and regex-free."""
    return f"split_part(split_part({e}, '@', 1), '+', 1)"


def email_key(d: Dialect, e: str) -> str:
    """A standardised address as its mailbox: +tags dropped, and the dots too where the
    provider ignores them ('Bob.Smith+shop@googlemail.com' -> 'bobsmith@gmail.com');
    NULL when nothing is left of the local part. `||` is NULL when a part is."""
    local, domain = _local_part(e), f"split_part({e}, '@', 2)"
    dotless = f"{domain} in ({', '.join(d.literal(x) for x in DOTLESS_DOMAINS)})"
    return (f"case when {dotless} then nullif(replace({local}, '.', ''), '') || {d.literal('@' + DOTLESS_DOMAINS[0])} "
            f"else nullif({local}, '') || '@' || {domain} end")


def email_role(d: Dialect, e: str) -> str:
    """True for a standardised address of a role rather than a person (info@, sales@)."""
    roles = ", ".join(d.literal(r) for r in ROLE_LOCAL_PARTS)
    return f"coalesce({_local_part(e)} in ({roles}), false)"


def phone_lookup_key(d: Dialect, e: str) -> str:
    """The raw phone without spaces, dots, dashes and slashes: the value parsed once in
    Python (scv.lookups.e164), so '07700 900123' and '07700-900123' are one parse."""
    compact = d.regex_replace_all(f"trim(cast({e} as string))", r"[\s./-]+", "")
    return f"nullif({compact}, '')"


def rejected(raw: str, clean: str) -> str:
    """True where the raw value held something and the rule made it NULL."""
    return f"(nullif(trim(cast({raw} as string)), '') is not null and {clean} is null)"


def raw_if_changed(raw: str, clean: str) -> str:
    """The raw value where standardising changed it, for the audit trail; else NULL."""
    raw = f"cast({raw} as string)"
    return f"case when {raw} is distinct from {clean} then {raw} end"


# Outward code (area, district, sub-district) and inward code (sector, unit); GIR 0AA is Girobank's.
_UK_POSTCODE = r"^([A-Z]{1,2}[0-9][0-9A-Z]?|GIR)([0-9][A-Z]{2})$"
_US_ZIP = r"^([0-9]{5})(-?([0-9]{4}))?$"  # ZIP or ZIP+4
POSTCODE_RULES = ("GB", "US")  # countries with a shape rule; others get the generic one


def postcode_key(d: Dialect, e: str) -> str:
    """Upper-case letters and digits only ('sw1a-1aa' -> 'SW1A1AA'): the raw postcode as
    linkage compares it, valid for its country or not, so a wrong country costs no match."""
    e = d.regex_replace_all(f"cast({e} as string)", r"[^0-9A-Za-z]", "")
    return f"nullif(upper({e}), '')"


def uk_postcode(d: Dialect, e: str, key: str | None = None) -> str:
    """'sw1a1aa' -> 'SW1A 1AA'; NULL unless it has a UK postcode's shape. `key`: the
    value's `postcode_key` where the query already has it."""
    c = key or postcode_key(d, e)
    outward, inward = d.regex_extract(c, _UK_POSTCODE, 1), d.regex_extract(c, _UK_POSTCODE, 2)
    return f"case when {d.regex_matches(c, _UK_POSTCODE)} then concat({outward}, ' ', {inward}) end"


def us_zip(d: Dialect, e: str) -> str:
    """'02139', '02139-4307' ('021394307' and ' 02139 - 4307' too); NULL unless a ZIP or ZIP+4."""
    c = d.regex_replace_all(f"cast({e} as string)", r"\s+", "")
    zip5, plus4 = d.regex_extract(c, _US_ZIP, 1), d.regex_extract(c, _US_ZIP, 3)
    return (
        f"case when {d.regex_matches(c, _US_ZIP)} then "
        f"case when {plus4} = '' then {zip5} else concat({zip5}, '-', {plus4}) end end"
    )


def generic_postcode(d: Dialect, e: str) -> str:
    """Upper-case, trimmed, inner whitespace collapsed: no shape is assumed. Accents go
    and ß is SS first, as the engines upper-case those differently."""
    e = f"upper(replace({d.unicode_normalise(f'trim(cast({e} as string))')}, 'ß', 'SS'))"
    e = d.regex_replace_all(e, r"\s+", " ")
    return f"nullif({e}, '')"


def postcode(d: Dialect, e: str, country: str, key: str | None = None) -> str:
    """The postcode in its country's form: `country` is an SQL expression for the
    record's ISO alpha-2 country (scv falls back to `standardise.default_country`);
    `key` the value's `postcode_key`, if the query has it."""
    return (
        f"case {country} when 'GB' then {uk_postcode(d, e, key)} when 'US' then {us_zip(d, e)} "
        f"else {generic_postcode(d, e)} end"
    )


def country_key(d: Dialect, e: str) -> str:
    """`text` without spaces ('U.S.A.' -> 'usa'), the key of scv.lookups.country_table."""
    return f"nullif(replace({text(d, e)}, ' ', ''), '')"


# Street types written short; St only at the end of the line or before a comma, as
# 'St. Albans Road' and 'St Mary's Lane' are Saint. Matched between non-alphanumerics.
STREET_TYPES = {
    "rd": "road", "ave": "avenue", "av": "avenue", "ln": "lane", "dr": "drive", "ct": "court",
    "pl": "place", "sq": "square", "cres": "crescent", "blvd": "boulevard",
}
_EDGE = "[^a-z0-9]"
_UNITS = r"^(flat|apartment|apt|unit|suite|room)\.? *[0-9a-z]+ *,?"  # 'Flat 3,': not the house
_HOUSE_NUMBER = r"(^|[\s,])([0-9]+[a-z]?(-[0-9]+[a-z]?)?)[\s,]+[a-z]"


def address_line(d: Dialect, e: str) -> str:
    """As `text`, with street types written out: '12a High St.' -> '12a high street',
    'Flat 3, 14 Elm Rd' -> 'flat 3 14 elm road', 'St. Albans Rd' -> 'st albans road'."""
    e = f"lower({d.unicode_normalise(f'cast({e} as string)')})"
    written_out = d.regex_replace_all(e, rf"(^|{_EDGE})st\.?\s*(,|$)", " street ,")
    for short, full in STREET_TYPES.items():
        written_out = d.regex_replace_all(written_out, rf"(^|{_EDGE}){short}\.?({_EDGE}|$)", f" {full} ")
    # one search first: most lines have no short form, and the replacements cost a pass each
    short = rf"(^|{_EDGE})({'|'.join(['st', *STREET_TYPES])})\.?({_EDGE}|$)"
    return text(d, f"case when {d.regex_contains(e, short)} then {written_out} else {e} end", quick=False)


def house_number(d: Dialect, e: str) -> str:
    """The number of the building: the first number followed by a word, after any flat
    or unit ('12a High St' -> '12a', 'Flat 3, 14 Elm Rd' -> '14', '12-14 Mill Ln' -> '12-14')."""
    e = f"trim(lower({d.unicode_normalise(f'cast({e} as string)')}))"
    e = d.regex_replace_all(e, _UNITS, "")
    return f"nullif({d.regex_extract(e, _HOUSE_NUMBER, 2)}, '')"


def gender(d: Dialect, e: str) -> str:
    t = text(d, e)
    return (
        f"case when {t} in ('m', 'male', 'man') then 'm' "
        f"when {t} in ('f', 'female', 'woman') then 'f' else {t} end"
    )


def parsed_date(d: Dialect, e: str, formats) -> str:
    """The text of `e` read as a date with `formats`; NULL when none fits."""
    return d.parse_date(f"trim(cast({e} as string))", formats)


def birth_date(d: Dialect, e: str, formats, earliest: date | None = None, latest: date | None = None) -> str:
    """A real date of birth: unparseable or outside `earliest` to `latest` becomes NULL.
    Defaults 1900-01-01 to today; a run passes each source's range (scv.birth_dates)."""
    parsed = parsed_date(d, e, formats)
    low = d.literal(earliest.isoformat() if earliest else EARLIEST_BIRTH_DATE)
    high = f"cast({d.literal(latest.isoformat())} as date)" if latest else "current_date"
    return f"case when {parsed} between cast({low} as date) and {high} then {parsed} end"


def timestamp(d: Dialect, e: str, formats) -> str:
    """A point in time; before 1900 is taken for a typo ('01/02/80' read as year 80)."""
    parsed = d.parse_timestamp(f"trim(cast({e} as string))", formats)
    return f"case when {parsed} >= cast('{EARLIEST_BIRTH_DATE}' as {d.timestamp_type}) then {parsed} end"


_TITLES = rf"^((({'|'.join(TITLES)}) )+)"  # only before another word: 'Lord' alone is a name
_SUFFIXES = rf"(( ({'|'.join(SUFFIXES)}))+)$"


def name_in_order(d: Dialect, e: str) -> str:
    """'SMITH, John' -> 'john smith', as `text`; titles and suffixes are kept."""
    raw = f"cast({e} as string)"
    reordered = (
        f"case when {raw} like '%,%' then concat(substr({raw}, instr({raw}, ',') + 1), ' ', "
        f"substr({raw}, 1, instr({raw}, ',') - 1)) else {raw} end"
    )
    return text(d, reordered)


def name_title(d: Dialect, t: str) -> str:
    """The leading titles of a cleaned name ('dr john smith' -> 'dr'), else NULL."""
    return f"nullif(trim({d.regex_extract(t, _TITLES)}), '')"


def name_suffix(d: Dialect, t: str) -> str:
    """The trailing suffixes of a cleaned name ('john smith jr' -> 'jr'), else NULL."""
    return f"nullif(trim({d.regex_extract(t, _SUFFIXES)}), '')"


def without_title(d: Dialect, t: str) -> str:
    return f"nullif({d.regex_replace_all(t, _TITLES, '')}, '')"


def without_suffix(d: Dialect, t: str) -> str:
    return f"nullif({d.regex_replace_all(t, _SUFFIXES, '')}, '')"


def full_name_in_order(d: Dialect, e: str) -> str:
    """'SMITH, John' -> 'john smith'; 'DR. JOHN  SMITH JR.' -> 'john smith'."""
    return without_suffix(d, without_title(d, name_in_order(d, e)))


def first_token(d: Dialect, e: str) -> str:
    return "nullif(" + d.regex_extract(e, r"^(\S+) ") + ", '')"


def last_token(d: Dialect, e: str) -> str:
    return "nullif(" + d.regex_extract(e, r" (\S+)$") + ", '')"


def from_parts(d: Dialect, field: str, columns: list[str]) -> tuple[str, str]:
    """A field's value from its source columns (SQL expressions), and its raw text for the
    audit trail. One column is itself. Text parts are joined with a space, null and empty
    ones skipped ('Hans', NULL, 'Peter' -> 'Hans Peter'). A date's three parts are year,
    month and day, numbers as text or as numbers (1980, 2, 1 -> '1980-02-01', which the
    date rule reads); its raw text is the parts joined with '-' (1980, 2, 31 -> '1980-2-31')."""
    if len(columns) == 1:
        return columns[0], columns[0]
    texts = [f"nullif(trim(cast({c} as string)), '')" for c in columns]
    if field not in DATE_FIELDS:
        joined = f"nullif(concat_ws(' ', {', '.join(texts)}), '')"
        return joined, joined
    shown = ", ".join(f"coalesce({t}, '')" for t in texts)
    raw = f"case when coalesce({', '.join(texts)}) is not null then concat_ws('-', {shown}) end"
    year, month, day = (d.regex_replace_all(t, r"\.0*$", "") for t in texts)  # 2.0 from a float column
    numbers = " and ".join(d.regex_matches(n, width) for n, width in
                           ((year, "[0-9]{4}"), (month, "[0-9]{1,2}"), (day, "[0-9]{1,2}")))
    iso = f"case when {numbers} then concat({year}, '-', lpad({month}, 2, '0'), '-', lpad({day}, 2, '0')) end"
    return iso, raw


def field_rules(config: ProjectConfig, birth: BirthRange | None = None) -> dict[str, Callable[[Dialect, str], str]]:
    """Rule per canonical field for a source's raw column. Phones and countries are looked
    up instead (phone_lookup, country_lookup), postcodes follow the country, and names
    lose their titles and suffixes in `silver_names_and_keys`. `birth`: the source's range
    of dates of birth (1900 to today when absent)."""
    formats = config.standardise.date_formats
    earliest, latest = (birth.earliest, birth.latest) if birth else (None, None)
    rules: dict[str, Callable[[Dialect, str], str]] = {f: text for f in CANONICAL_FIELDS}
    rules.update(
        email=email,
        address_line_1=address_line,
        address_line_2=address_line,
        gender=gender,
        full_name=name_in_order,
        date_of_birth=lambda d, e: birth_date(d, e, formats, earliest, latest),
        created_at=lambda d, e: timestamp(d, e, formats),
        updated_at=lambda d, e: timestamp(d, e, formats),
    )
    return rules


def silver_select(run: Run, name: str, attributes: list[str]) -> str:
    """One source's valid rows in the canonical schema, each field cleaned on its own
    (a postcode by its country's rule), with the raw values of rules that can reject
    alongside for the audit trail."""
    d, source = run.engine.dialect, run.config.sources[name]
    q = d.quote
    mapping = {f: source.parts(f) for f in source.columns}
    if source.updated_at:
        mapping.setdefault("updated_at", [source.updated_at])
    rules = field_rules(run.config, run.birth_ranges.get(name))  # decided by validation
    combined = {f: from_parts(d, f, [f"v.{q(c)}" for c in cs]) for f, cs in mapping.items()}
    col = {f: value for f, (value, _) in combined.items()}
    cleaned = {f: (rules[f](d, col[f]) if f in col else "null") for f in CANONICAL_FIELDS}
    joins = ""
    if "phone" in col:
        cleaned["phone"] = "p.e164"
        joins += f" left join phone_lookup p on p.raw = cast({col['phone']} as string)"
    country = d.literal(run.config.standardise.default_country)
    if "country" in col:
        cleaned["country"] = "c.alpha2"
        country = f"coalesce(c.alpha2, {country})"
        joins += f" left join country_lookup c on c.raw = cast({col['country']} as string)"
    valid, key = f"{q(f'valid_{name}')} v", "null"
    if "postcode" in col:
        # its key is computed once, below the rules: DuckDB shares no expression within a CASE
        valid = f"(select v.*, {postcode_key(d, col['postcode'])} as _postcode_key from {valid}) v"
        key = "v._postcode_key"
        cleaned["postcode"] = postcode(d, col["postcode"], country, key)
    lines = [house_number(d, col[f]) for f in ("address_line_1", "address_line_2") if f in col]
    house = f"coalesce({', '.join(lines)})" if lines else "null"
    typed = {"date_of_birth": "date", "created_at": d.timestamp_type, "updated_at": d.timestamp_type}
    fields = [f"cast({cleaned[f]} as {typed.get(f, 'string')}) as {q(f)}" for f in CANONICAL_FIELDS]
    raws = [
        f"cast({combined[f][1] if f in combined else 'null'} as string) as {q(f + '_raw')}"
        for f in ("email", "phone", "postcode", "country", "date_of_birth")
    ]
    attrs = [
        f"cast({f'v.{q(a)}' if a in source.attributes else 'null'} as string) as {q(a)}"
        for a in attributes
    ]
    return f"""select concat({d.literal(name + ':')}, v._record_id) as record_key,
                      {d.literal(name)} as source, v._record_id as source_record_id,
                      {', '.join(fields + raws + attrs)}, cast({key} as string) as _postcode_key,
                      cast({house} as string) as house_number, v._batch_id, v._row_hash, true as active,
                      cast(null as string) as last_customer_id
               from {valid} {joins}"""


def silver_names_and_keys(d: Dialect, union: str, attributes: list[str]) -> str:
    """Titles and suffixes split off the names, match keys and audit flags, over `union`.
    The name keys come after, from the cleaned names (`with_name_keys`)."""
    q = d.quote
    full = without_suffix(d, without_title(d, "s.full_name"))
    derived = {
        "first_name": f"coalesce({without_title(d, 's.first_name')}, {first_token(d, full)})",
        "last_name": f"coalesce({without_suffix(d, 's.last_name')}, {last_token(d, full)})",
        "full_name": full,
        "name_title": f"coalesce({name_title(d, 's.first_name')}, {name_title(d, 's.full_name')})",
        "name_suffix": f"coalesce({name_suffix(d, 's.last_name')}, {name_suffix(d, 's.full_name')})",
        "email_key": email_key(d, "s.email"),
        "email_role": email_role(d, "s.email"),
        "email_invalid": rejected("s.email_raw", "s.email"),
        "email_raw": raw_if_changed("s.email_raw", "s.email"),
        "phone_invalid": rejected("s.phone_raw", "s.phone"),
        "phone_raw": raw_if_changed("s.phone_raw", "s.phone"),
        "postcode_key": "s._postcode_key",
        "postcode_invalid": rejected("s.postcode_raw", "s.postcode"),
        "postcode_raw": raw_if_changed("s.postcode_raw", "s.postcode"),
        "country_invalid": rejected("s.country_raw", "s.country"),
        "country_raw": raw_if_changed("s.country_raw", "s.country"),
        # a date rewritten in ISO form is no loss; only a rejected one keeps its raw text
        "date_of_birth_invalid": rejected("s.date_of_birth_raw", "s.date_of_birth"),
        "date_of_birth_raw": f"case when {rejected('s.date_of_birth_raw', 's.date_of_birth')} "
                             "then s.date_of_birth_raw end",
    }
    columns = [c for c in silver_columns(attributes) if c not in NAME_KEYS]
    selected = ", ".join(f"{derived.get(c, f's.{q(c)}')} as {q(c)}" for c in columns)
    return f"select {selected} from ({union}) s"


def silver_columns(attributes: list[str]) -> list[str]:
    return [*SILVER_KEYS, *CANONICAL_FIELDS, *DERIVED_COLUMNS, *attributes, *LINEAGE_COLUMNS]


NON_ASCII = r"[^\x00-\x7f]"


def distinct_names_sql(d: Dialect, table: str) -> str:
    """The names `with_name_keys` looks up: every first and last name, and the full
    names that NFKC may change."""
    return f"""select first_name from {table} union select last_name from {table}
               union select full_name from {table} where {d.regex_contains('full_name', NON_ASCII)}"""


def with_name_keys(d: Dialect, table: str, attributes: list[str]) -> str:
    """`table` with names in compatibility form (NFKC) and their keys from `name_lookup`:
    first_name_key is the nickname-resolved first name, the phonetic keys Metaphone codes."""
    q = d.quote
    replaced = {
        "first_name": "f.clean",
        "last_name": "l.clean",
        "full_name": "case when u.name is null then n.full_name else u.clean end",
        "first_name_key": "coalesce(k.name_key, f.clean)",
        "first_name_phonetic": "f.phonetic",
        "last_name_phonetic": "l.phonetic",
    }
    columns = ", ".join(f"{replaced.get(c, f'n.{q(c)}')} as {q(c)}" for c in silver_columns(attributes))
    return f"""select {columns} from {table} n
               left join name_lookup f on f.name = n.first_name
               left join name_lookup l on l.name = n.last_name
               left join name_lookup u on u.name = n.full_name
               left join nickname_keys k on k.name = f.clean"""


def distinct_raw_values(run: Run, field: str) -> str | None:
    """SQL: the distinct raw values, as text, of `field` in every record source's valid
    rows; None when no source maps it."""
    d, q = run.engine.dialect, run.engine.dialect.quote
    values = [
        f"select cast({from_parts(d, field, [f'v.{q(c)}' for c in s.parts(field)])[0]} as string) as raw "
        f"from {q(f'valid_{name}')} v"
        for name, s in run.config.record_sources.items() if s.parts(field)
    ]
    return f"select distinct raw from ({' union all '.join(values)}) r where raw is not null" if values else None


def push_lookups(run: Run) -> None:
    """Engine tables from each distinct raw phone and country to its standard form
    (phone_lookup, country_lookup), and nickname_keys. Keyed by the raw value, the
    record joins need no rule per row; the phones are parsed once per compact form."""
    d = run.engine.dialect
    phones = distinct_raw_values(run, "phone")
    if phones:
        run.engine.create("phone_raws", f"select raw, {phone_lookup_key(d, 'raw')} as number from ({phones}) r")
        numbers = [n for n, in run.engine.rows("select distinct number from phone_raws where number is not null")]
        run.engine.read_arrow("phone_numbers", lookups.phone_lookup(numbers, run.config.standardise.default_country))
        run.engine.create("phone_lookup", "select r.raw, n.e164 from phone_raws r join phone_numbers n on n.raw = r.number")
    countries = distinct_raw_values(run, "country")
    if countries:
        run.engine.read_arrow("country_codes", lookups.country_table())
        run.engine.create("country_lookup", f"select r.raw, c.alpha2 from ({countries}) r "
                                            f"join country_codes c on c.key = {country_key(d, 'r.raw')}")
    run.engine.read_arrow("nickname_keys", lookups.nickname_table())


def standardise(run: Run) -> None:
    """Silver records from the valid rows; in an incremental run only the new and changed
    ones are standardised, the rest carried from the last run's silver (`scv.increment`)."""
    d = run.engine.dialect
    attributes = list(dict.fromkeys(a for s in run.config.record_sources.values() for a in s.attributes))
    carried = increment.load_previous_silver(run)
    if carried and run.previous is not None:
        increment.keep_unchanged(run)
    else:
        run.previous = None
    push_lookups(run)
    union = " union all ".join(silver_select(run, name, attributes) for name in run.config.record_sources)
    run.engine.create("silver_names", silver_names_and_keys(d, union, attributes))
    names = [n for n, in run.engine.rows(distinct_names_sql(d, "silver_names"))]
    run.engine.read_arrow("name_lookup", lookups.name_lookup(names))
    run.engine.create("silver_records", with_name_keys(d, "silver_names", attributes))
    for table in ("phone_raws", "phone_numbers", "phone_lookup", "country_codes", "country_lookup",
                  "nickname_keys", "name_lookup", "silver_names"):
        run.engine.drop(table)
    if carried:
        increment.carry_forward(run, silver_columns(attributes))
        run.engine.create("silver_all", "select * from silver_records union all select * from inactive_records")
        run.engine.publish("silver_all", run.lakehouse, "silver/records", run.run_id)
        for table in ("silver_all", "previous_silver", "seen_records"):
            run.engine.drop(table)
    else:
        run.engine.create("changed_records", "select record_key from silver_records")
        run.engine.create("inactive_records", "select * from silver_records where false")
        run.engine.publish("silver_records", run.lakehouse, "silver/records", run.run_id)
    counts = {"silver": "silver_records s", "inactive": "inactive_records s"}
    if run.previous is not None:  # what an incremental run standardised
        counts["changed"] = "silver_records s join changed_records c on s.record_key = c.record_key"
    for what, table in counts.items():
        for name, n in run.engine.rows(f"select s.source, count(*) from {table} group by s.source"):
            run.count(name, what, n)
