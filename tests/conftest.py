"""Fixtures that build small projects and lakehouses in a temporary folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]
SPARK_TEST_OPTIONS = {"master": "local[2]", "shuffle_partitions": 4, "driver_memory": "2g"}

CRM_CSV = """\
contactid,firstname,lastname,emailaddress1,mobilephone,birthdate,address1_postalcode,modifiedon,donotemail
c1,Robert,Smith,Rob.Smith@Example.com,07700 900123,1980-02-01,SW1A 1AA,2024-01-01,false
c2,Elizabeth,Jones,liz.jones@example.com,+44 7700 900456,1975-12-24,M1 1AE,2024-02-01,true
c3,Ann,Brown,,07700900789,1990-07-07,LS1 4AP,2024-03-01,false
"""
SHOP_CSV = """\
customer_id,first_name,last_name,email,phone,post_code,updated_at
101,ROBERT,SMITH,rob.smith@example.com,+447700900123,sw1a1aa,2024-05-01
102,Elizabeth,Jones,LIZ.JONES@EXAMPLE.COM,07700900456,M1 1AE,2024-06-01
103,Zoë,Clark,zoe@example.com,07700900999,E1 6AN,2024-06-02
"""

# Real rows of RLdata10000 (R package RecordLinkage): names in two parts, birth date as
# year, month and day; 272 has month 19, 1736 and 3204 are one person.
PARTS_CSV = """\
rec_id,ent_id,fname_c1,fname_c2,lname_c1,lname_c2,by,bm,bd
1,3606,FRANK,,MUELLER,,1967,9,27
23,4352,CARSTEN,,MUELLER,WAGNER,1957,5,27
272,3597,GUENTHER,HELMUT,BRAUN,,1950,19,5
1736,1004,WOLFGANG,BERND,MAIER,,1928,2,6
3204,1004,WOLFGASNG,BERND,MAIER,,1928,2,6
"""
PARTS_YAML = """\
    lakehouse: ./lakehouse
    sources:
      people:
        path: people.csv
        id: rec_id
        columns:
          first_name: [fname_c1, fname_c2]
          last_name: [lname_c1, lname_c2]
          date_of_birth: [by, bm, bd]
    """

# A census and a parish register of people born before 1900, each person once in each;
# c1 and c9 (p1 and p9) are a father and son of the same name and town.
CENSUS_CSV = """\
id,forename,surname,born,birthplace
c1,John,Smith,1843-05-12,Leeds
c2,Mary,Smith,1845-11-02,Leeds
c3,William,Brown,1851-07-23,York
c4,Elizabeth,Taylor,1838-01-30,Hull
c5,James,Wilson,1860-03-14,Bradford
c6,Sarah,Wilson,1862-09-09,Bradford
c7,Thomas,Walker,1829-12-01,Wakefield
c8,Ann,Wright,1855-04-17,Halifax
c9,John,Smith,1871-08-19,Leeds
"""
PARISH_CSV = """\
id,forename,surname,born,birthplace
p1,Jno,Smith,12/05/1843,Leeds
p2,Mary,Smyth,02/11/1845,Leeds
p3,William,Browne,23/07/1851,York
p4,Eliza,Taylor,30/01/1838,Hull
p5,James,Willson,14/03/1860,Bradford
p6,Sarah,Wilson,09/09/1862,
p7,Thos,Walker,01/12/1829,Wakefield
p8,Anne,Wright,17/04/1855,Halifax
p9,John,Smith,19/08/1871,Leeds
"""
HISTORICAL_YAML = """\
    sources:
      census:
        path: census.csv
        id: id
        columns: {first_name: forename, last_name: surname, date_of_birth: born, city: birthplace}
      parish:
        path: parish.csv
        id: id
        columns: {first_name: forename, last_name: surname, date_of_birth: born, city: birthplace}
    """


@pytest.fixture(scope="session")
def spark_engine(tmp_path_factory):
    """One local Spark session for the whole test run: starting one takes seconds."""
    from scv.engine import create_engine

    engine = create_engine("spark", work_dir=tmp_path_factory.mktemp("spark"), **SPARK_TEST_OPTIONS)
    yield engine
    engine.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(request):
    """Each engine in turn, for tests that check a rule on both: the same input, the same result."""
    if request.param == "spark":
        yield request.getfixturevalue("spark_engine")
        return
    from scv.engine import create_engine

    e = create_engine("duckdb")
    yield e
    e.close()


def one_line_error(config: Path) -> str:
    """`scv run` on a project that must be refused: exit code 2 and exactly one error line."""
    from typer.testing import CliRunner

    from scv.cli import app

    result = CliRunner().invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def write_project(folder: Path, yaml_text: str, files: dict[str, str]) -> Path:
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
    config = folder / "scv.yaml"
    config.write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    return config


TWO_SOURCES_YAML = """\
    lakehouse: ./lakehouse
    sources:
      crm:
        path: crm.csv
        id: contactid
        updated_at: modifiedon
        columns:
          first_name: firstname
          last_name: lastname
          email: emailaddress1
          phone: mobilephone
          date_of_birth: birthdate
          postcode: address1_postalcode
        attributes: [donotemail]
      shop:
        path: shop.csv
        id: customer_id
        updated_at: updated_at
        columns:
          first_name: first_name
          last_name: last_name
          email: email
          phone: phone
          postcode: post_code
    """

# Events of the two sources' records: Robert (crm:c1 = shop:101) has orders in the shop and a
# payment in the CRM; Elizabeth (crm:c2 = shop:102) one of each; 999 is no shop customer;
# o5 to o7 are no valid events (a time that is no time, an amount that is no number, no customer).
ORDERS_CSV = """\
order_id,customer_id,ordered_at,amount
o1,101,2024-05-01T10:00:00Z,10.50
o2,101,2024-06-01,20
o3,102,2024-06-02 09:00,5.25
o4,999,2024-06-03,7
o5,103,not a date,3
o6,103,2024-06-04,abc
o7,,2024-06-04,1
"""
PAYMENTS_CSV = """\
payment_id,contactid,paid_on,value
p1,c1,2024-01-01,100
p2,c2,2024-02-01,1
"""
EVENTS_YAML = TWO_SOURCES_YAML.rstrip(" ") + """\
      orders:
        kind: events
        path: orders.csv
        id: order_id
        record_of: shop
        record_id: customer_id
        at: ordered_at
        amount: amount
      payments:
        kind: events
        path: payments.csv
        id: payment_id
        record_of: crm
        record_id: contactid
        at: paid_on
        amount: value
    """
EVENTS_FILES = {"crm.csv": CRM_CSV, "shop.csv": SHOP_CSV, "orders.csv": ORDERS_CSV, "payments.csv": PAYMENTS_CSV}


@pytest.fixture
def two_sources(tmp_path) -> Path:
    """A CRM and a web shop sharing two customers: the scv.yaml path."""
    return write_project(tmp_path, TWO_SOURCES_YAML, {"crm.csv": CRM_CSV, "shop.csv": SHOP_CSV})


def fake_1000_yaml(path: str | Path, extra: str = "") -> str:
    """A one-source project over fake_1000's columns at `path`; `extra` is more top-level YAML."""
    return f"""\
lakehouse: ./lakehouse
sources:
  people:
    path: {path}
    id: unique_id
    columns:
      first_name: first_name
      last_name: surname
      date_of_birth: dob
      city: city
      email: email
{extra}"""


@pytest.fixture
def fake_1000(tmp_path) -> Path:
    """Splink's fake_1000 as a one-source project with its truth column."""
    data = SHARED_DATA / "fake_1000.csv"
    if not data.exists():
        pytest.skip(f"shared data not found at {data}")
    return write_project(tmp_path, fake_1000_yaml(data, "evaluation:\n  truth_column: cluster\n"), {})
