"""Standardise: map each source to the canonical schema and clean every field.

The cleaning rules are pure functions from a SQL expression to a SQL expression, so
they run inside the engine and are written once for every engine through its dialect.
Phone numbers and nicknames need Python libraries: their distinct values are mapped
once in Python and joined back as lookup tables (scv.lookups).

Silver keeps an audit trail next to the standardised fields: the raw phone and email
where they differ from the standardised value, and a flag for each rule that fired.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from scv import lookups
from scv.config import CANONICAL_FIELDS, ProjectConfig
from scv.engine.base import Dialect

if TYPE_CHECKING:
    from scv.pipeline import Run

SILVER_KEYS = ("record_key", "source", "source_record_id")
NAME_PARTS = ("name_title", "name_suffix")  # golden fields, split off the names
MATCH_KEYS = ("first_name_key", "email_key")  # for linkage only
AUDIT_COLUMNS = ("email_role", "email_invalid", "email_raw", "phone_invalid", "phone_raw")
DERIVED_COLUMNS = (*NAME_PARTS, *MATCH_KEYS, *AUDIT_COLUMNS)
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


def text(d: Dialect, e: str) -> str:
    """Unicode-normalised, case-folded text with punctuation and repeated spaces removed."""
    e = f"lower({d.unicode_normalise(f'cast({e} as string)')})"
    e = d.regex_replace_all(e, r"['’`]", "")
    e = d.regex_replace_all(e, r"[\p{P}\p{S}]", " ")
    e = d.regex_replace_all(e, r"\s+", " ")
    return f"nullif(trim({e}), '')"


def email(d: Dialect, e: str) -> str:
    """Trimmed, lower-cased address; NULL unless it is well formed (placeholders never are)."""
    e = f"lower(trim(cast({e} as string)))"
    return f"case when {d.regex_matches(e, _EMAIL)} then {e} end"


def _local_part(d: Dialect, e: str) -> str:
    """The local part of a standardised address without its +tag ('bob+shop' -> 'bob')."""
    return d.regex_replace_all(d.regex_extract(e, r"^(.*)@"), r"\+.*$", "")


def email_key(d: Dialect, e: str) -> str:
    """A standardised address as its mailbox: +tags dropped, and the dots too where the
    provider ignores them ('Bob.Smith+shop@googlemail.com' -> 'bobsmith@gmail.com')."""
    local, domain = _local_part(d, e), d.regex_extract(e, r"@(.*)$")
    dotless = f"{domain} in ({', '.join(d.literal(x) for x in DOTLESS_DOMAINS)})"
    local = f"case when {dotless} then replace({local}, '.', '') else {local} end"
    domain = f"case when {dotless} then {d.literal(DOTLESS_DOMAINS[0])} else {domain} end"
    return f"case when {e} is not null and {local} <> '' then concat({local}, '@', {domain}) end"


def email_role(d: Dialect, e: str) -> str:
    """True for a standardised address of a role rather than a person (info@, sales@)."""
    roles = ", ".join(d.literal(r) for r in ROLE_LOCAL_PARTS)
    return f"coalesce({_local_part(d, e)} in ({roles}), false)"


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


def field_rules(config: ProjectConfig) -> dict[str, Callable[[Dialect, str], str]]:
    """Rule per canonical field for a source's raw column. Phones are looked up instead
    (phone_lookup), and names lose their titles and suffixes in `silver_names_and_keys`."""
    formats = config.standardise.date_formats
    rules: dict[str, Callable[[Dialect, str], str]] = {f: text for f in CANONICAL_FIELDS}
    rules.update(
        email=email,
        postcode=postcode,
        gender=gender,
        full_name=name_in_order,
        date_of_birth=lambda d, e: birth_date(d, e, formats),
        created_at=lambda d, e: timestamp(d, e, formats),
        updated_at=lambda d, e: timestamp(d, e, formats),
    )
    return rules


def silver_select(run: Run, name: str, attributes: list[str]) -> str:
    """One source's valid rows in the canonical schema, each field cleaned on its own,
    with the raw email and phone alongside for the audit trail."""
    d, source = run.engine.dialect, run.config.sources[name]
    q = d.quote
    mapping = dict(source.columns)
    if source.updated_at:
        mapping.setdefault("updated_at", source.updated_at)
    rules = field_rules(run.config)
    col = {f: f"v.{q(c)}" for f, c in mapping.items()}
    cleaned = {f: (rules[f](d, col[f]) if f in col else "null") for f in CANONICAL_FIELDS}
    joins = ""
    if "phone" in col:
        cleaned["phone"] = "p.e164"
        joins = f"left join phone_lookup p on p.raw = {phone_lookup_key(d, col['phone'])}"
    typed = {"date_of_birth": "date", "created_at": d.timestamp_type, "updated_at": d.timestamp_type}
    fields = [f"cast({cleaned[f]} as {typed.get(f, 'string')}) as {q(f)}" for f in CANONICAL_FIELDS]
    raws = [f"cast({col.get(f, 'null')} as string) as {q(f + '_raw')}" for f in ("email", "phone")]
    attrs = [
        f"cast({f'v.{q(a)}' if a in source.attributes else 'null'} as string) as {q(a)}"
        for a in attributes
    ]
    return f"""select concat({d.literal(name + ':')}, v._record_id) as record_key,
                      {d.literal(name)} as source, v._record_id as source_record_id,
                      {', '.join(fields + raws + attrs)}, v._batch_id
               from {q(f'valid_{name}')} v {joins}"""


def silver_names_and_keys(d: Dialect, union: str, attributes: list[str]) -> str:
    """Titles and suffixes split off the names, match keys and audit flags, over `union`."""
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
    }
    columns = [*SILVER_KEYS, *CANONICAL_FIELDS, *DERIVED_COLUMNS, *attributes, "_batch_id"]
    inner = ", ".join(f"{derived.get(c, f's.{q(c)}')} as {q(c)}" for c in columns if c != "first_name_key")
    outer = ", ".join(
        "coalesce(k.name_key, n.first_name) as first_name_key" if c == "first_name_key" else f"n.{q(c)}"
        for c in columns
    )
    return f"""select {outer}
               from (select {inner} from ({union}) s) n
               left join nickname_keys k on k.name = n.first_name"""


def push_lookups(run: Run) -> None:
    """Engine tables phone_lookup (each distinct raw phone parsed once) and nickname_keys."""
    d, q = run.engine.dialect, run.engine.dialect.quote
    distinct = [
        f"select distinct {phone_lookup_key(d, q(s.columns['phone']))} from {q(f'valid_{name}')}"
        for name, s in run.config.sources.items() if "phone" in s.columns
    ]
    raws = [r for r, in run.engine.rows(" union ".join(distinct))] if distinct else []
    run.engine.read_arrow(
        "phone_lookup", lookups.phone_lookup(raws, run.config.standardise.default_country)
    )
    run.engine.read_arrow("nickname_keys", lookups.nickname_table())


def standardise(run: Run) -> None:
    attributes = list(dict.fromkeys(a for s in run.config.sources.values() for a in s.attributes))
    push_lookups(run)
    union = " union all ".join(silver_select(run, name, attributes) for name in run.config.sources)
    run.engine.create("silver_records", silver_names_and_keys(run.engine.dialect, union, attributes))
    for lookup in ("phone_lookup", "nickname_keys"):
        run.engine.drop(lookup)
    run.engine.publish("silver_records", run.lakehouse, "silver/records", run.run_id)
    for name, n in run.engine.rows(
        "select source, count(*) from silver_records group by source"
    ):
        run.count(name, "silver", n)
