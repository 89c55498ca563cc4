"""Cleaning rules, as tables of raw value -> standardised value, run inside the engine."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from scv import standardise as std
from scv.config import Standardise
from scv.engine import create_engine

FORMATS = Standardise().date_formats


def apply(engine, rule, value):
    engine.read_arrow("v", pa.table({"x": pa.array([value], pa.string())}))
    return engine.rows(f"select {rule(engine.dialect, 'x')} from v")[0][0]


@pytest.mark.parametrize("raw, clean", [
    ("  Robert ", "robert"),
    ("O'Brien", "obrien"),
    ("Smith-Jones", "smith jones"),
    ("ZOË", "zoe"),
    ("Mary   Ann", "mary ann"),
    ("Łukasz", "łukasz"),
    ("李", "李"),
    ("...", None),
    ("", None),
    (None, None),
])
def test_text(engine, raw, clean):
    assert apply(engine, std.text, raw) == clean


@pytest.mark.parametrize("raw, clean", [
    (" Rob.Smith@Example.COM ", "rob.smith@example.com"),
    ("rob+shop@gmail.com", "rob+shop@gmail.com"),
    ("n/a", None),
    ("no email", None),
    ("a@b", None),
])
def test_email(engine, raw, clean):
    assert apply(engine, std.email, raw) == clean


@pytest.mark.parametrize("raw, clean", [
    ("+44 7700 900123", "447700900123"),
    ("(07700) 900-123", "07700900123"),
    ("123", None),
    ("unknown", None),
])
def test_phone_digits_only(engine, raw, clean):
    assert apply(engine, std.phone, raw) == clean


@pytest.mark.parametrize("raw, clean", [("sw1a 1aa", "SW1A1AA"), ("SW1A-1AA", "SW1A1AA"), (" ", None)])
def test_postcode(engine, raw, clean):
    assert apply(engine, std.postcode, raw) == clean


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
    ("John Smith", "john smith"),
    ("SMITH, John", "john smith"),
    ("Mr John Smith", "john smith"),
    ("Dr. Mary Ann Jones", "mary ann jones"),
])
def test_full_name_in_order(engine, raw, clean):
    assert apply(engine, std.full_name_in_order, raw) == clean


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
    "1980-02-01 10:11:12.5", "1980", "1980-02", "29/02/1981", "29/02/1984", "00/01/1980",
    "1980-02-01+01:00", " 1980-02-01 ", "01/02/80", "19800231", "1980-13-01",
]


@pytest.mark.spark
@pytest.mark.parametrize("rule, values", [
    (std.text, [*ACCENTED_LETTERS, "Ze\u0301\u0308ro", "Anne-Marie  O’Neil", "Ｆｕｌｌ", "tab\there"]),
    (lambda d, e: std.birth_date(d, e, FORMATS), AWKWARD_DATES),
    (lambda d, e: std.timestamp(d, e, FORMATS), AWKWARD_DATES),
    (std.email, ["a@b.co", "a@b.co\n", "a b@c.de", "x@y..z", "É@x.fr"]),
    (std.full_name_in_order, ["Prof. Dr. Eve Moss", "moss,eve", "  ,  ", "Sir"]),
], ids=["text", "birth_date", "timestamp", "email", "full_name"])
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
