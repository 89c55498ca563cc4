"""Rules that need a Python library, run once per distinct value and joined back in SQL.

Phone numbers need libphonenumber's numbering plans, first names a nickname table and
names their Metaphone keys and Unicode compatibility forms: none is expressible as
engine SQL on both engines. The stage pulls the distinct raw values out
(`engine.rows`), these pure functions map them, and the result goes back to the engine
as a small lookup table (`engine.read_arrow`), so DuckDB and Spark join the same table.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

import jellyfish
import pyarrow as pa
import rphonenumbers  # libphonenumber in Rust, with phonenumbers' API: see e164

PHONE_LOOKUP_SCHEMA = pa.schema([("raw", pa.string()), ("e164", pa.string())])
NICKNAME_SCHEMA = pa.schema([("name", pa.string()), ("name_key", pa.string())])


def e164(raw: str | None, default_country: str = "GB", library=rphonenumbers) -> str | None:
    """A phone number in E.164 ('+447700900123'), or None when it is not one.

    Numbers without a country code are read as `default_country`'s; international
    prefixes ('00', '011') and the UK's '(0)' are understood. A number must have a
    length its country's numbering plan allows (libphonenumber's "possible number"):
    wrong lengths, letters and placeholders ('n/a') give None, never a guess. Whether
    a range is allocated is not checked: that changes with every metadata release and
    would reject the drama ranges (07700 900xxx) test data uses.

    `library` is a module with phonenumbers' API. rphonenumbers gives the answers of the
    phonenumbers package (libphonenumber's Python port, which the tests compare it with)
    six times as fast: 3 µs a number against 18.
    """
    if raw is None or not any(c.isdigit() for c in raw):
        return None
    try:
        number = library.parse(raw, default_country)
    except library.NumberParseException:
        return None
    if library.is_possible_number_with_reason(number) != library.ValidationResult.IS_POSSIBLE:
        return None
    return library.format_number(number, library.PhoneNumberFormat.E164)


PARALLEL_FROM = 500_000  # distinct numbers; below this, starting workers costs more than it saves
_WORKER = "import sys; from scv.lookups import parse_phones_piped; parse_phones_piped(sys.argv[1])"


def phone_lookup(raws: Iterable[str | None], default_country: str, parallel_from: int = PARALLEL_FROM) -> pa.Table:
    """raw -> e164 for each distinct raw value (None where it is not a phone number).

    At 3 µs a number, 600,000 take 2.0 s on one core and 1.9 s on two; six million,
    18 s and 14 s. From PARALLEL_FROM numbers on, each core parses a share in a Python
    process of its own."""
    raws = [r for r in dict.fromkeys(raws) if r is not None]
    workers = os.cpu_count() or 1
    if workers < 2 or len(raws) < parallel_from:
        parsed = [e164(r, default_country) for r in raws]
    else:
        parsed = _parse_in_processes(raws, default_country, workers)
    return pa.table({"raw": raws, "e164": parsed}, schema=PHONE_LOOKUP_SCHEMA)


def _parse_in_processes(raws: list[str], default_country: str, workers: int) -> list[str | None]:
    """Plain worker processes rather than multiprocessing's: those fork a process whose
    engine runs threads (which can deadlock) or, spawned, import the caller's script
    again, which reruns a script that calls `Project.run()` without a main guard."""
    size = -(-len(raws) // workers)
    shares = [raws[i:i + size] for i in range(0, len(raws), size)]
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, default_country], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for _ in shares]
    parsed: list[str | None] = []
    try:
        for proc, share in zip(procs, shares):
            pickle.dump(share, proc.stdin)
            proc.stdin.close()
        for proc in procs:
            parsed += pickle.load(proc.stdout)
    except (OSError, EOFError, pickle.UnpicklingError):
        raise RuntimeError("a phone parsing worker stopped before it answered") from None
    finally:
        for proc in procs:
            if proc.poll() is None and len(parsed) < len(raws):
                proc.kill()
            proc.wait()
    return parsed


def parse_phones_piped(default_country: str) -> None:
    """A worker of `_parse_in_processes`: raw numbers in from stdin, E.164 out to stdout."""
    raws = pickle.load(sys.stdin.buffer)
    pickle.dump([e164(r, default_country) for r in raws], sys.stdout.buffer)


@lru_cache(maxsize=1)
def nickname_keys() -> dict[str, str]:
    """Lower-case first name -> its canonical form, from the `nicknames` package
    (Carlton Northern's hand-curated English names and nicknames, Apache-2.0).

    A name's key is the longest of itself and the names it is a nickname of, ties to
    the alphabetically first: the formal form, as the table has no frequencies to pick
    the commonest. So bob, bobby -> robert, liz, beth, betty -> elizabeth, tom ->
    thomas; robert stays robert. Ambiguous short forms get one of their formal names
    (ron -> veronica, not ronald): the key is match evidence, never shown as a name.
    Only names whose key differs are listed.
    """
    from nicknames import name_triplets

    nicknames_of: dict[str, set[str]] = defaultdict(set)
    formal_of: dict[str, set[str]] = defaultdict(set)
    for formal, _, nick in name_triplets():
        nicknames_of[formal].add(nick)
        formal_of[nick].add(formal)
    keys = {}
    for name in set(nicknames_of) | set(formal_of):
        candidates = {name} | formal_of.get(name, set())
        key = min(candidates, key=lambda c: (-len(c), c))
        if key != name:
            keys[name] = key
    return keys


def nickname_table() -> pa.Table:
    keys = nickname_keys()
    names = sorted(keys)
    return pa.table({"name": names, "name_key": [keys[n] for n in names]}, schema=NICKNAME_SCHEMA)


NAME_LOOKUP_SCHEMA = pa.schema([("name", pa.string()), ("clean", pa.string()), ("phonetic", pa.string())])
_APOSTROPHES = "'’`"


def compatible_name(name: str) -> str | None:
    """A cleaned name in Unicode compatibility form (NFKC), case-folded: the engines'
    cleaning composes (NFC) and strips accents but leaves full-width letters, ligatures
    and the like, which NFKC maps to plain ones ('ｊｏｈｎ' -> 'john', 'ﬁona' -> 'fiona').
    Then as `scv.standardise.text`: accents, apostrophes, punctuation and symbols go."""
    if name.isascii():
        return name
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name).casefold())
    kept = "".join(
        " " if unicodedata.category(c)[0] in "PSZ" else c
        for c in decomposed if not unicodedata.combining(c) and c not in _APOSTROPHES
    )
    return " ".join(unicodedata.normalize("NFC", kept).split()) or None


def phonetic_key(name: str | None) -> str | None:
    """The Metaphone code of a cleaned name ('allen', 'alan' -> 'ALN'; 'smyth' -> 'SM0'),
    for blocking and a sounds-alike level; None for a name in a script it cannot code."""
    return (jellyfish.metaphone(name) or None) if name else None


def name_lookup(names: Iterable[str | None]) -> pa.Table:
    """name -> its compatible form and that form's phonetic key, for each distinct name."""
    names = [n for n in dict.fromkeys(names) if n is not None]
    clean = [compatible_name(n) for n in names]
    return pa.table(
        {"name": names, "clean": clean, "phonetic": [phonetic_key(c) for c in clean]},
        schema=NAME_LOOKUP_SCHEMA,
    )


COUNTRY_SCHEMA = pa.schema([("key", pa.string()), ("alpha2", pa.string())])
# Names people write that ISO 3166 does not list: constituent countries, old and local names.
COUNTRY_ALIASES = {
    "UK": "GB", "U.K.": "GB", "Great Britain": "GB", "Britain": "GB", "England": "GB",
    "Scotland": "GB", "Wales": "GB", "Northern Ireland": "GB",
    "USA": "US", "U.S.A.": "US", "America": "US", "United States": "US",
    "Holland": "NL", "The Netherlands": "NL", "Deutschland": "DE", "Eire": "IE",
    "Republic of Ireland": "IE", "España": "ES", "Italia": "IT", "Schweiz": "CH",
    "Österreich": "AT", "South Korea": "KR", "North Korea": "KP", "Russia": "RU",
}
COUNTRY_PLACEHOLDERS = ("na",)  # 'N/A' far more often than Namibia, which can be written out


def country_key(value: str) -> str:
    """What `scv.standardise.country_key` makes of a value in SQL: lower-case, accents,
    apostrophes, punctuation, symbols and spaces gone ('U.S.A.' -> 'usa')."""
    decomposed = unicodedata.normalize("NFKD", value.lower())
    return "".join(
        c for c in decomposed
        if not unicodedata.combining(c) and not c.isspace() and unicodedata.category(c)[0] not in "PS"
    )


@lru_cache(maxsize=1)
def country_codes() -> dict[str, str]:
    """country_key of every ISO 3166-1 code, name, official and common name (from the
    `pycountry` package, which tracks the ISO tables) and of COUNTRY_ALIASES -> alpha-2.

    A key two countries share is left out: an ambiguous name is no evidence of either;
    so are placeholders that happen to spell a code.
    """
    import pycountry

    candidates: dict[str, set[str]] = defaultdict(set)
    for country in pycountry.countries:
        for attribute in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            if value := getattr(country, attribute, None):
                candidates[country_key(value)].add(country.alpha_2)
    for alias, code in COUNTRY_ALIASES.items():
        candidates[country_key(alias)] = {code}
    return {
        k: next(iter(v)) for k, v in candidates.items()
        if k and len(v) == 1 and k not in COUNTRY_PLACEHOLDERS
    }


def country_table() -> pa.Table:
    codes = country_codes()
    keys = sorted(codes)
    return pa.table({"key": keys, "alpha2": [codes[k] for k in keys]}, schema=COUNTRY_SCHEMA)
