"""Cleaning rules, as tables of raw value -> standardised value, run inside the engine."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import date, datetime

import phonenumbers
import pyarrow as pa
import pytest

from scv import birth_dates, lookups
from scv import standardise as std
from scv.config import ProjectConfig, Standardise
from scv.engine import create_engine

FORMATS = Standardise().date_formats
MINIMAL = {"lakehouse": "./lakehouse", "sources": {"a": {"path": "a.csv", "id": "id", "columns": {"city": "city"}}}}


def apply(engine, rule, value):
    engine.read_arrow("v", pa.table({"x": pa.array([value], pa.string())}))
    return engine.rows(f"select {rule(engine.dialect, 'x')} from v")[0][0]


@pytest.mark.parametrize("raw, clean", [
    ("  Robert ", "robert"),
    ("O'Brien", "obrien"),
    ("Smith-Jones", "smith jones"),
    ("ZOË", "zoe"),
    ("Mary   Ann", "mary ann"),
    ("Mary\u00a0Ann", "mary ann"),  # a no-break space pasted from a web page
    ("Mary\u3000Ann", "mary ann"),  # an ideographic space
    ("Łukasz", "łukasz"),
    ("李", "李"),
    ("...", None),
    ("", None),
    (None, None),
])
def test_text(engine, raw, clean):
    assert apply(engine, std.text, raw) == clean


PLAIN_AND_NOT = ["robert", "mary ann", "o2 arena", " robert", "mary  ann", "ROBERT", "o'brien", "zoë",
                 "smith-jones", "a\tb", "mary\u00a0ann", "x.", "123", "", None]


def test_plain_words_skip_the_replacements_with_the_same_result(engine):
    """The quick path of `text` (plain words left as they are) changes no value."""
    assert (apply_all(engine, std.text, PLAIN_AND_NOT)
            == apply_all(engine, lambda d, e: std.text(d, e, quick=False), PLAIN_AND_NOT))


@pytest.mark.parametrize("raw, clean", [
    (" Rob.Smith@Example.COM ", "rob.smith@example.com"),
    ("rob+shop@gmail.com", "rob+shop@gmail.com"),
    ("n/a", None),
    ("no email", None),
    ("a@b", None),
    ("bob..smith@example.com", None),
    ("bob@example.c0m", None),
    ("bob smith@example.com", None),
    ("Bob.Smith+shop@GoogleMail.com", "bob.smith+shop@googlemail.com"),
    ("o'brien@example.ie", "o'brien@example.ie"),
])
def test_email(engine, raw, clean):
    assert apply(engine, std.email, raw) == clean


@pytest.mark.parametrize("address, key", [
    ("bob.smith+shop@googlemail.com", "bobsmith@gmail.com"),
    ("b.o.b.smith@gmail.com", "bobsmith@gmail.com"),
    ("bob.smith+shop@example.com", "bob.smith@example.com"),
    ("+tag@example.com", None),
    ("..+tag@gmail.com", None),
    (None, None),
])
def test_email_key(engine, address, key):
    assert apply(engine, std.email_key, address) == key


@pytest.mark.parametrize("address, role", [
    ("info@example.com", True), ("sales+uk@example.com", True), ("support@example.com", True),
    ("bob.smith@example.com", False), ("information@example.com", False), (None, False),
])
def test_email_role(engine, address, role):
    assert apply(engine, std.email_role, address) is role


@pytest.mark.parametrize("raw, clean, invalid, kept", [
    (" Bob@Example.com", "bob@example.com", False, " Bob@Example.com"),
    ("bob@example.com", "bob@example.com", False, None),
    ("n/a", None, True, "n/a"),
    ("  ", None, False, "  "),
    (None, None, False, None),
])
def test_audit_trail(engine, raw, clean, invalid, kept):
    assert apply(engine, lambda d, e: std.rejected(e, std.email(d, e)), raw) is invalid
    assert apply(engine, lambda d, e: std.raw_if_changed(e, std.email(d, e)), raw) == kept


@pytest.mark.parametrize("raw, clean", [
    ("+44 (0)7700 900123", "+447700900123"),
    ("07700900123", "+447700900123"),
    ("(07700) 900-123", "+447700900123"),
    ("447700900123", "+447700900123"),
    ("001 212 555 0100", "+12125550100"),
    ("+1 (212) 555-0100", "+12125550100"),
    ("020 7946 0018", "+442079460018"),
    ("n/a", None),
    ("unknown", None),
    ("12345", None),
    ("0770090012345678", None),
    ("", None),
    (None, None),
])
def test_e164(raw, clean):
    assert lookups.e164(raw, "GB") == clean


def test_e164_reads_national_numbers_in_the_default_country():
    assert lookups.e164("(212) 555-0100", "US") == "+12125550100"
    assert lookups.e164("0044 7700 900123", "US") is None  # 00 is not the US's international prefix


def written_numbers() -> list[str]:
    """Phone numbers as people write them: national and international forms, separators,
    the UK's (0), vanity letters, extensions, wrong lengths and other countries."""
    rng = random.Random(8)
    national = ["07700 900{:03d}", "020 7946 0{:03d}", "0161 496 0{:03d}", "(212) 555-0{:03d}",
                "030 1234{:03d}", "06 12 34 5{:03d}", "02 9374 4{:03d}", "98765 43{:03d}", "3{:03d}-1234"]
    written = []
    for _ in range(400):
        digits = rng.choice(national).format(rng.randrange(1000))
        cc = rng.choice(["44", "1", "49", "33", "61", "91", "39", "81"])
        written += [digits, f"+{cc} {digits.lstrip('0')}", f"00{cc}{digits}", f"+{cc} (0){digits[1:]}",
                    digits.replace(" ", "-"), digits.replace(" ", "."), digits[:-rng.randrange(1, 4)],
                    digits + str(rng.randrange(10)) * rng.randrange(1, 4), f"{digits} ext {rng.randrange(99)}"]
    return written + ["0800 FLOWERS", "n/a", "+", "++44 7700 900123", "tel:+44-7700-900123",
                      "+44７７００９００１２３", "٠٧٧٠٠٩٠٠١٢٣", "0"]


@pytest.mark.parametrize("country", ["GB", "US", "DE", "FR", "IT", "AU", "IN", "JP"])
def test_phones_read_as_the_phonenumbers_package_reads_them(country):
    """rphonenumbers (Rust) stands in for phonenumbers, libphonenumber's Python port."""
    numbers = written_numbers()
    assert [lookups.e164(n, country) for n in numbers] == [
        lookups.e164(n, country, library=phonenumbers) for n in numbers]


@pytest.mark.parametrize("raw, key", [
    ("07700 900123", "07700900123"),
    (" +44 (0)7700-900.123 ", "+44(0)7700900123"),
    ("n/a", "na"),
    ("  ", None),
])
def test_phone_lookup_key(engine, raw, key):
    assert apply(engine, std.phone_lookup_key, raw) == key


def test_phone_lookup_parses_each_value_once():
    table = lookups.phone_lookup(["07700900123", "07700900123", None, "n/a"], "GB")
    assert table.to_pylist() == [{"raw": "07700900123", "e164": "+447700900123"},
                                 {"raw": "n/a", "e164": None}]


def test_many_phones_are_parsed_on_every_core_with_the_same_result():
    raws = [f"07700 9{i:05d}" for i in range(300)] + ["n/a", "+1 212 555 0100", "0044 (0)20 7946 0000"]
    one_core = lookups.phone_lookup(raws, "GB")
    assert lookups.phone_lookup(raws, "GB", parallel_from=100) == one_core
    assert one_core.column("e164")[0].as_py() == "+447700900000"


def test_a_phone_worker_that_stops_is_reported_not_waited_for(monkeypatch):
    monkeypatch.setattr(lookups, "_WORKER", "import sys; sys.exit(3)")
    raws = [f"07700 9{i:05d}" for i in range(300)]
    with pytest.raises(RuntimeError, match="a phone parsing worker stopped before it answered"):
        lookups.phone_lookup(raws, "GB", parallel_from=100)


def test_a_script_without_a_main_guard_parses_phones_in_parallel_once(tmp_path):
    """The workers never import the calling script, so its top level runs once."""
    script = tmp_path / "unguarded.py"
    script.write_text("from scv import lookups\n"
                      "table = lookups.phone_lookup([f'07700 9{i:05d}' for i in range(300)], 'GB', parallel_from=100)\n"
                      "print('ran', table.num_rows, table.column('e164')[299].as_py())\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split("\n")[:-1] == ["ran 300 +447700900299"]


@pytest.mark.parametrize("nickname, key", [
    ("bob", "robert"), ("bobby", "robert"), ("liz", "elizabeth"), ("beth", "elizabeth"),
    ("tom", "thomas"), ("bill", "william"), ("jim", "james"),
])
def test_nickname_keys(nickname, key):
    assert lookups.nickname_keys()[nickname] == key


def test_formal_names_are_their_own_key():
    assert not {"robert", "elizabeth", "thomas", "william"} & set(lookups.nickname_keys())


@pytest.mark.parametrize("name, clean", [
    ("ｊｏｈｎ", "john"),  # full-width letters from an East Asian keyboard
    ("ﬁona", "fiona"),  # a ligature from a PDF
    ("ｓｍｉｔｈ－ｊｏｎｅｓ", "smith jones"),  # full-width hyphen
    ("mary\u2009ann", "mary ann"),  # thin space
    ("søren", "søren"),  # a letter of its own, not an accented o
    ("李", "李"),
    ("robert", "robert"),
    ("￭", None),  # only a symbol
])
def test_names_in_compatibility_form(name, clean):
    assert lookups.compatible_name(name) == clean


@pytest.mark.parametrize("names, same", [
    (("allen", "alan", "alen"), True),
    (("smith", "smyth"), True),
    (("stephen", "steven"), True),
    (("catherine", "katherine", "kathryn"), True),
    (("jon", "john"), True),
    (("smith", "jones"), False),
    (("robert", "rupert"), False),
])
def test_phonetic_keys_group_names_that_sound_alike(names, same):
    assert (len({lookups.phonetic_key(n) for n in names}) == 1) is same


def test_phonetic_key_is_null_for_a_script_metaphone_cannot_code():
    assert lookups.phonetic_key("李") is None and lookups.phonetic_key(None) is None


def test_name_lookup_gives_each_distinct_name_its_clean_form_and_key():
    table = lookups.name_lookup(["ｊｏｈｎ", "john", "john", None])
    assert table.to_pylist() == [
        {"name": "ｊｏｈｎ", "clean": "john", "phonetic": "JN"},
        {"name": "john", "clean": "john", "phonetic": "JN"},
    ]


def test_full_names_with_any_non_ascii_letter_are_looked_up_in_compatibility_form(engine):
    engine.read_arrow("names", pa.table({
        "first_name": pa.array([None, None], pa.string()), "last_name": pa.array([None, None], pa.string()),
        "full_name": ["john smith", "ｊｏｈｎ smith"]}))
    looked_up = {n for n, in engine.rows(std.distinct_names_sql(engine.dialect, "names"))}
    assert looked_up == {None, "ｊｏｈｎ smith"}


@pytest.mark.parametrize("country, raw, clean", [
    ("GB", "sw1a1aa", "SW1A 1AA"),
    ("GB", " m1  1ae ", "M1 1AE"),
    ("GB", "SW1A-1AA", "SW1A 1AA"),
    ("GB", "ec1a.1bb", "EC1A 1BB"),
    ("GB", "W1A 0AX", "W1A 0AX"),
    ("GB", "gir 0aa", "GIR 0AA"),
    ("GB", "SW1A", None),
    ("GB", "2000", None),
    ("GB", "n/a", None),
    ("GB", "SW1A 1AAA", None),
    ("GB", " ", None),
    ("US", "02139", "02139"),
    ("US", "02139-4307", "02139-4307"),
    ("US", "021394307", "02139-4307"),
    ("US", " 02139 - 4307 ", "02139-4307"),
    ("US", "2139", None),
    ("US", "SW1A 1AA", None),
    ("DE", " 10115 ", "10115"),
    ("CA", "k1a   0b1", "K1A 0B1"),
    ("NL", "1012 jS", "1012 JS"),
    ("IE", "d02 x285", "D02 X285"),
    ("FR", "", None),
])
def test_postcode(engine, country, raw, clean):
    assert apply(engine, lambda d, e: std.postcode(d, e, d.literal(country)), raw) == clean


def test_a_postcode_from_its_key_computed_once_is_the_same(engine):
    """silver_select computes a postcode's key below the rules and hands it to them."""
    raws = ["sw1a1aa", " m1\t1ae", "GIR0AA", "sw1a-1aa", "2000", "é1 1aa", "", None]
    engine.read_arrow("keyed", pa.table({"i": range(len(raws)), "x": pa.array(raws, pa.string())}))
    d = engine.dialect
    for country in ("GB", "US", "FR"):
        with_key = engine.rows(f"select i, {std.postcode(d, 'x', d.literal(country), 'k')} from "
                               f"(select *, {std.postcode_key(d, 'x')} as k from keyed) order by i")
        assert with_key == apply_all(engine, lambda d, e: std.postcode(d, e, d.literal(country)), raws)


@pytest.mark.parametrize("raw, key", [("sw1a 1aa", "SW1A1AA"), ("SW1A-1AA", "SW1A1AA"), ("2000", "2000"), (" ", None)])
def test_postcode_key(engine, raw, key):
    assert apply(engine, std.postcode_key, raw) == key


@pytest.mark.parametrize("raw, code", [
    ("United Kingdom", "GB"), ("UK", "GB"), ("U.K.", "GB"), ("Great Britain", "GB"),
    ("England", "GB"), ("scotland", "GB"), ("GBR", "GB"), ("gb", "GB"),
    ("USA", "US"), ("U.S.A.", "US"), ("United States of America", "US"), ("America", "US"),
    ("Deutschland", "DE"), ("Germany", "DE"), ("IRL", "IE"), ("Ireland", "IE"),
    ("Holland", "NL"), ("the Netherlands", "NL"), ("Côte d'Ivoire", "CI"), ("  france ", "FR"),
    ("Viet Nam", "VN"), ("Vietnam", "VN"),
    ("N/A", None), ("Narnia", None), ("", None), (None, None),
])
def test_country(engine, raw, code):
    engine.read_arrow("country_lookup", lookups.country_table())
    engine.read_arrow("v", pa.table({"x": pa.array([raw], pa.string())}))
    sql = f"select c.alpha2 from v left join country_lookup c on c.key = {std.country_key(engine.dialect, 'x')}"
    assert engine.rows(sql)[0][0] == code


def test_country_keys_are_those_sql_makes():
    for name in ("United Kingdom", "U.S.A.", "Côte d'Ivoire", "Åland Islands", "Guinea-Bissau"):
        assert lookups.country_key(name) in lookups.country_codes()


@pytest.mark.parametrize("raw, clean", [
    ("12a High St", "12a high street"),
    ("12 High St.", "12 high street"),
    ("1 Church St, Leeds", "1 church street leeds"),
    ("Flat 3, 14 Elm Rd", "flat 3 14 elm road"),
    ("St. Albans Road", "st albans road"),
    ("St Mary's Rd.", "st marys road"),
    ("5 PARK AVE", "5 park avenue"),
    ("Drury Ln", "drury lane"),
    ("9 Oak Dr", "9 oak drive"),
    ("2 Kings Ct", "2 kings court"),
    ("Berkeley Sq", "berkeley square"),
    ("4 Moor Pl", "4 moor place"),
    ("Royal Cres.", "royal crescent"),
    ("100 Sunset Blvd", "100 sunset boulevard"),
    ("Strand", "strand"),
    ("Stonecrest Road", "stonecrest road"),
    ("  10   Downing  Street ", "10 downing street"),
    ("", None),
])
def test_address_line(engine, raw, clean):
    assert apply(engine, std.address_line, raw) == clean


@pytest.mark.parametrize("raw, number", [
    ("12a High St", "12a"),
    ("Flat 3, 14 Elm Rd", "14"),
    ("Apartment 5B, 22 Baker St", "22"),
    ("221B Baker Street", "221b"),
    ("12-14 Mill Ln", "12-14"),
    ("Flat 3 High Street", None),
    ("The Old Barn", None),
    ("PO Box 12", None),
    (None, None),
])
def test_house_number(engine, raw, number):
    assert apply(engine, std.house_number, raw) == number


@pytest.mark.parametrize("raw, clean", [
    ("  LONDON ", "london"),
    ("Newcastle-upon-Tyne", "newcastle upon tyne"),
    ("St.  Albans", "st albans"),
    ("King's Lynn", "kings lynn"),
    ("Zürich", "zurich"),
])
def test_city(engine, raw, clean):
    """Cities are case-folded like names: linkage compares them exactly."""
    assert apply(engine, std.field_rules(ProjectConfig.model_validate(MINIMAL))["city"], raw) == clean


@pytest.mark.parametrize("raw, clean", [("Male", "m"), ("F", "f"), ("woman", "f"), ("X", "x"), ("", None)])
def test_gender(engine, raw, clean):
    assert apply(engine, std.gender, raw) == clean


@pytest.mark.parametrize("raw, clean", [
    ("1980-02-01", date(1980, 2, 1)),
    ("01/02/1980", date(1980, 2, 1)),
    ("19800201", date(1980, 2, 1)),
    ("1980-02-01 00:00:00", date(1980, 2, 1)),
    ("31/02/1980", None),
    ("2999-01-01", None),
    ("1850-01-01", None),
    ("unknown", None),
])
def test_birth_date_is_a_real_past_date(engine, raw, clean):
    assert apply(engine, lambda d, e: std.birth_date(d, e, FORMATS), raw) == clean


@pytest.mark.parametrize("raw, clean", [
    ("1843-05-12", date(1843, 5, 12)),
    ("12/05/1843", date(1843, 5, 12)),
    ("1799-12-31", None),
    ("1870-01-01", None),
])
def test_birth_date_keeps_the_range_it_is_given(engine, raw, clean):
    in_range = lambda d, e: std.birth_date(d, e, FORMATS, date(1800, 1, 1), date(1869, 12, 31))  # noqa: E731
    assert apply(engine, in_range, raw) == clean


def years(first: int, last: int, each: int = 1) -> dict[int, int]:
    return {y: each for y in range(first, last + 1)}


@pytest.mark.parametrize("column, earliest", [
    ({}, 1900),  # nothing to go by: the usual range
    (years(1960, 1969, 10) | {1800: 1, 1: 1}, 1900),  # 1800 and 0001 among 1960s dates are outliers
    (years(1935, 2005), 1877),  # modern dates: 1900 to today and a little more, never less
    (years(1985, 2005) | {1924: 1}, 1900),  # a young customer base keeps its centenarians
    (years(1800, 1899), 1720),  # 19th-century dates are all kept
    (years(1870, 1879), 1823),  # one decade keeps 52 years before its middle at least
    (years(1840, 1899, 5) | {1111: 2, 1: 1}, 1792),  # placeholders stay out
    ({1: 1, 1850: 1, 1960: 1, 1975: 1, 1977: 1, 1980: 1, 1985: 2}, 1900),  # a quarter wrong, median holds
])
def test_the_earliest_year_of_birth_follows_the_bulk_of_the_column(column, earliest):
    assert birth_dates.earliest_year(column) == earliest


@pytest.mark.parametrize("raw, clean", [
    ("2021-03-04T10:22:13Z", datetime(2021, 3, 4, 10, 22, 13)),  # UTC as exports write it
    ("2021-03-04 10:22", datetime(2021, 3, 4, 10, 22)),
    ("04/03/2021", datetime(2021, 3, 4)),
    ("2021-03-04T10:22:13+02:00", None),  # an offset is not read rather than dropped
])
def test_a_timestamp_reads_iso_with_a_trailing_z_and_the_date_formats(engine, raw, clean):
    assert apply(engine, lambda d, e: std.timestamp(d, e, FORMATS), raw) == clean


@pytest.mark.parametrize("raw, clean", [
    ("02/01/1980", date(1980, 2, 1)),
    ("12.31.1979", date(1979, 12, 31)),
    ("1980-02-01", date(1980, 2, 1)),
    ("31/12/1979", None),
])
def test_month_first_dates_when_the_project_says_so(engine, raw, clean):
    formats = Standardise(date_order="mdy").date_formats
    assert apply(engine, lambda d, e: std.birth_date(d, e, formats), raw) == clean


@pytest.mark.parametrize("raw, invalid", [("31/02/1980", True), ("01/02/1980", False), ("", False), (None, False)])
def test_an_impossible_date_of_birth_is_flagged(engine, raw, invalid):
    flag = apply(engine, lambda d, e: std.rejected(e, std.birth_date(d, e, FORMATS)), raw)
    assert flag is invalid


def apply_parts(engine, field, rule, parts):
    """`rule` over `field` built from one row's source columns: (clean, flagged, raw text)."""
    columns = {f"p{i}": pa.array([p], pa.string()) for i, p in enumerate(parts)}
    engine.read_arrow("v", pa.table(columns))
    value, raw = std.from_parts(engine.dialect, field, list(columns))
    clean = rule(engine.dialect, value)
    return engine.rows(f"select {clean}, {std.rejected(raw, clean)}, {raw} from v")[0]


@pytest.mark.parametrize("parts, name", [
    (("WOLFGANG", "BERND"), "wolfgang bernd"),
    (("FRANK", None), "frank"),
    (("FRANK", " "), "frank"),
    ((None, "MUELLER"), "mueller"),
    (("CARSTEN", "", "MUELLER-WAGNER"), "carsten mueller wagner"),
    ((None, None), None),
])
def test_a_name_from_parts_joins_them_with_a_space(engine, parts, name):
    assert apply_parts(engine, "first_name", std.text, parts)[0] == name


@pytest.mark.parametrize("parts, clean, invalid, raw", [
    (("1967", "9", "27"), date(1967, 9, 27), False, "1967-9-27"),
    (("1928", "02", "06"), date(1928, 2, 6), False, "1928-02-06"),
    ((" 1967.0", "9.0", "27"), date(1967, 9, 27), False, "1967.0-9.0-27"),  # from float columns
    (("1950", "19", "5"), None, True, "1950-19-5"),
    (("1980", "2", "31"), None, True, "1980-2-31"),
    (("1949", "0", "13"), None, True, "1949-0-13"),
    (("2001", "12", "164"), None, True, "2001-12-164"),
    (("67", "9", "27"), None, True, "67-9-27"),
    (("1967", None, "27"), None, True, "1967--27"),
    ((None, "", None), None, False, None),
])
def test_a_date_from_year_month_and_day(engine, parts, clean, invalid, raw):
    """Impossible dates become null and are flagged, as a single column's would be."""
    birth_date = lambda d, e: std.birth_date(d, e, FORMATS)  # noqa: E731
    assert apply_parts(engine, "date_of_birth", birth_date, parts) == (clean, invalid, raw)


@pytest.mark.parametrize("raw, clean", [
    ("John Smith", "john smith"),
    ("SMITH, John", "john smith"),
    ("Mr John Smith", "john smith"),
    ("Dr. Mary Ann Jones", "mary ann jones"),
    ("DR. JOHN  SMITH JR.", "john smith"),
    ("Smith Jr., John", "john smith"),
    ("Prof Dr Eve Moss PhD", "eve moss"),
    ("O'Brien", "obrien"),
    ("Zoë", "zoe"),
    ("Lord", "lord"),
])
def test_full_name_in_order(engine, raw, clean):
    assert apply(engine, std.full_name_in_order, raw) == clean


@pytest.mark.parametrize("raw, title, suffix", [
    ("DR. JOHN  SMITH JR.", "dr", "jr"),
    ("Prof. Dr. Eve Moss, PhD", "prof dr", "phd"),
    ("Sir Tom Jones III", "sir", "iii"),
    ("Mrs Ann Srinivasan", "mrs", None),
    ("Miss", None, None),
    ("Drew Jrueson", None, None),
])
def test_name_title_and_suffix(engine, raw, title, suffix):
    assert apply(engine, lambda d, e: std.name_title(d, std.text(d, e)), raw) == title
    assert apply(engine, lambda d, e: std.name_suffix(d, std.text(d, e)), raw) == suffix


@pytest.mark.parametrize("full, first, last", [
    ("john smith", "john", "smith"),
    ("mary ann jones", "mary", "jones"),
    ("madonna", None, None),
])
def test_full_name_split(engine, full, first, last):
    assert apply(engine, std.first_token, full) == first
    assert apply(engine, std.last_token, full) == last


ACCENTED_LETTERS = "".join(chr(c) for c in range(0x00C0, 0x0250)) + "ḂḃẞỳỹǅǕṩ"
AWKWARD_DATES = [
    "1/2/1980", "01.02.1980", "1-2-1980", "1980/2/1", "1980-2-1", "1980-02-01T10:11:12",
    "1980-02-01T10:11:12Z", "1980-02-01 10:11:12.5", "1980", "1980-02", "29/02/1981", "29/02/1984", "00/01/1980",
    "1980-02-01+01:00", " 1980-02-01 ", "01/02/80", "19800231", "1980-13-01",
]


@pytest.mark.spark
@pytest.mark.parametrize("rule, values", [
    (std.text, [*ACCENTED_LETTERS, "Ze\u0301\u0308ro", "Anne-Marie  O’Neil", "Ｆｕｌｌ", "tab\there"]),
    (lambda d, e: std.birth_date(d, e, FORMATS), AWKWARD_DATES),
    (lambda d, e: std.timestamp(d, e, FORMATS), AWKWARD_DATES),
    (std.email, ["a@b.co", "a@b.co\n", "a b@c.de", "x@y..z", "É@x.fr", "{a|b}~'@x.io", "a@-x.io"]),
    (std.email_key, ["a.b+c@gmail.com", "a.b+c@googlemail.com", "a.b+c@x.io", "+c@x.io", "a"]),
    (std.email_role, ["info@x.io", "Info@x.io", "no-reply+a@x.io", "x@x.io", None]),
    (std.phone_lookup_key, ["+44 (0)7700 900123", "07700\t900-123", "001.212/555", " ", "n/a"]),
    (std.full_name_in_order, ["Prof. Dr. Eve Moss", "moss,eve", "  ,  ", "Sir", "Jr", "a b jr phd"]),
    (lambda d, e: std.name_title(d, std.text(d, e)), ["Dr. A B", "Mr", "mrs  mr x", "Prof.Eve"]),
    (lambda d, e: std.name_suffix(d, std.text(d, e)), ["A B Jr.", "Jr", "x iii phd", "x-ii"]),
    (lambda d, e: std.postcode(d, e, "'GB'"), ["sw1a1aa", " m1\t1ae", "GIR0AA", "ＳＷ1A 1AA", "2000", "é1 1aa"]),
    (lambda d, e: std.postcode(d, e, "'US'"), ["02139", "02139-4307", "021394307", "0213", "٠٢١٣٩"]),
    (lambda d, e: std.postcode(d, e, "'FR'"), [" 75001 ", "a\tb  c", "", "ß1"]),
    (std.country_key, ["U.S.A.", "Côte d’Ivoire", "Åland", " ", "Ｕｋ"]),
    (std.address_line, ["12a High St", "St. Albans Rd", "Łódź St", "ÉLM RD.", "st,st", "Rue St", "x\tAve"]),
    (std.house_number, ["12a High St", "Flat 3, 14 Elm Rd", "١٢ High St", "12Ａ x", "Unit 4\t5 Mill Ln"]),
], ids=["text", "birth_date", "timestamp", "email", "email_key", "email_role", "phone_key",
        "full_name", "name_title", "name_suffix", "uk_postcode", "us_zip", "generic_postcode",
        "country_key", "address_line", "house_number"])
def test_rules_agree_on_both_engines(spark_engine, rule, values):
    """DuckDB and Spark give the same clean value for every awkward input."""
    duck = create_engine("duckdb")
    try:
        assert apply_all(spark_engine, rule, values) == apply_all(duck, rule, values)
    finally:
        duck.close()


def apply_all(engine, rule, values):
    engine.read_arrow("vs", pa.table({"i": range(len(values)), "x": pa.array(values, pa.string())}))
    return engine.rows(f"select i, {rule(engine.dialect, 'x')} from vs order by i")


@pytest.mark.spark
def test_fields_from_parts_agree_on_both_engines(spark_engine):
    """Names and dates built from several columns, typed as CSV text or as Parquet numbers."""
    parts = pa.table({
        "i": range(6),
        "f1": ["WOLFGANG", "FRANK", None, " ", "Zoë", None],
        "f2": ["BERND", None, "HELMUT", "", "Anne-Marie", None],
        "yy": [1928.0, 1967.0, 1950.0, 1980.0, None, 1001.5],
        "mm": pa.array([2, 9, 19, 2, 5, 1], pa.int64()),
        "dd": ["6", " 27", "5", "31", "1", "0x"],
    })
    duck = create_engine("duckdb")
    try:
        assert from_parts_all(spark_engine, parts) == from_parts_all(duck, parts)
    finally:
        duck.close()


def from_parts_all(engine, parts):
    d = engine.dialect
    engine.read_arrow("ps", parts)
    name, _ = std.from_parts(d, "first_name", ["f1", "f2"])
    born, raw = std.from_parts(d, "date_of_birth", ["yy", "mm", "dd"])
    clean = std.birth_date(d, born, FORMATS)
    return engine.rows(f"select i, {std.text(d, name)}, {clean}, {std.rejected(raw, clean)}, {raw} from ps order by i")
