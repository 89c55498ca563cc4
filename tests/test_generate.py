"""The demo data generator: files, ground truth, determinism, realism and the demo project file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from scv.generate import NICKNAMES, GeneratedData, demo_project_yaml, generate

PEOPLE = 2_000

CRM_COLUMNS = [
    "contactid", "firstname", "middlename", "lastname", "emailaddress1", "mobilephone", "birthdate",
    "gendercode", "address1_line1", "address1_city", "address1_postalcode", "address1_country",
    "donotemail", "createdon", "modifiedon",
]
SHOP_COLUMNS = [
    "customer_id", "first_name", "last_name", "email", "phone", "date_of_birth", "street", "town",
    "post_code", "created_at", "updated_at",
]
NEWSLETTER_KEYS = ["signup_id", "email", "name", "signed_up_at", "consent"]
ORDER_COLUMNS = ["order_id", "customer_id", "ordered_at", "amount"]
TRUTH_COLUMNS = ["source", "source_record_id", "person_id"]

UK_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9]{1,2} [0-9][A-Z]{2}$")
ISO_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


# --------------------------------------------------------------------------------------
# One generated data set shared by the read-only tests
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> GeneratedData:
    return generate(tmp_path_factory.mktemp("demo"), people=PEOPLE, seed=7)


@pytest.fixture(scope="module")
def db(data):
    """The generated files as DuckDB views (CSV read as text, as scv reads it)."""
    con = duckdb.connect()
    d = data.out_dir
    text_csv = "read_csv('{}', header=true, all_varchar=true)"
    con.execute(f"create view crm as select * from {text_csv.format(d / 'crm_contacts.csv')}")
    con.execute(f"create view shop as select * from read_parquet('{d / 'shop_customers.parquet'}')")
    con.execute(f"create view newsletter as select * from read_json('{d / 'newsletter_signups.jsonl'}')")
    con.execute(f"create view orders as select * from {text_csv.format(d / 'shop_orders.csv')}")
    con.execute(f"create view truth as select * from {text_csv.format(d / 'truth.csv')}")
    yield con
    con.close()


def values(db, sql: str) -> list:
    return [row[0] for row in db.execute(sql).fetchall()]


def scalar(db, sql: str):
    return db.execute(sql).fetchone()[0]


def csv_header(path: Path) -> list[str]:
    return [name.strip('"') for name in path.read_text(encoding="utf-8").splitlines()[0].split(",")]


# --------------------------------------------------------------------------------------
# Files and ground truth
# --------------------------------------------------------------------------------------


def test_writes_each_source_with_its_own_columns(data):
    d = data.out_dir
    assert csv_header(d / "crm_contacts.csv") == CRM_COLUMNS
    assert pq.read_schema(d / "shop_customers.parquet").names == SHOP_COLUMNS
    first_signup = json.loads((d / "newsletter_signups.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert list(first_signup) == NEWSLETTER_KEYS
    assert csv_header(d / "shop_orders.csv") == ORDER_COLUMNS
    assert csv_header(d / "truth.csv") == TRUTH_COLUMNS
    assert data.truth_path == d / "truth.csv"


def test_reports_the_counts_that_are_in_the_files(data, db):
    assert data.people == PEOPLE
    assert data.records_per_source == {
        "crm": scalar(db, "select count(*) from crm"),
        "shop": scalar(db, "select count(*) from shop"),
        "newsletter": scalar(db, "select count(*) from newsletter"),
    }
    assert data.orders == scalar(db, "select count(*) from orders")
    assert data.seconds > 0


@pytest.mark.parametrize(
    "source, ids",
    [
        ("crm", "select contactid from crm"),
        ("shop", "select customer_id::varchar from shop"),
        ("newsletter", "select signup_id from newsletter"),
    ],
)
def test_truth_lists_every_source_record_exactly_once_by_its_id_as_written(db, source, ids):
    in_file = values(db, ids)
    in_truth = values(db, f"select source_record_id from truth where source = '{source}'")
    assert len(in_file) == len(set(in_file)), "record ids are unique within a source"
    assert sorted(in_truth) == sorted(in_file)


def test_truth_names_only_the_three_sources_and_every_person(db):
    assert set(values(db, "select distinct source from truth")) == {"crm", "shop", "newsletter"}
    assert scalar(db, "select count(distinct person_id) from truth") == PEOPLE


def test_truth_groups_records_that_describe_the_same_person(db):
    # CRM and shop records of one person mostly agree on date of birth; of different people, rarely.
    same_dob = """
        select avg((strptime(c.birthdate, '%Y-%m-%d') = strptime(s.date_of_birth, '%d/%m/%Y'))::int)
        from crm c join truth tc on tc.source = 'crm' and tc.source_record_id = c.contactid
        join shop s on s.date_of_birth is not null and c.birthdate is not null
        join truth ts on ts.source = 'shop' and ts.source_record_id = s.customer_id::varchar
        where (tc.person_id = ts.person_id) = {same}
    """
    assert scalar(db, same_dob.format(same="true")) > 0.95
    assert scalar(db, same_dob.format(same="false")) < 0.01


# --------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------

FILES = [
    "crm_contacts.csv", "shop_customers.parquet", "newsletter_signups.jsonl", "shop_orders.csv", "truth.csv",
]


def test_same_seed_writes_byte_identical_files(tmp_path):
    generate(tmp_path / "a", people=300, seed=11)
    generate(tmp_path / "b", people=300, seed=11)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_another_seed_writes_other_data(tmp_path):
    generate(tmp_path / "a", people=300, seed=11)
    generate(tmp_path / "b", people=300, seed=12)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes(), name


# --------------------------------------------------------------------------------------
# Who is where
# --------------------------------------------------------------------------------------


def test_every_person_has_one_to_four_records(db):
    counts = values(db, "select count(*) from truth group by person_id")
    assert min(counts) == 1
    assert max(counts) <= 4
    assert any(n >= 3 for n in counts)


def test_some_people_have_two_records_in_one_source(db):
    duplicated = """
        select count(*) filter (where n = 2) / count(*) from
        (select person_id, count(*) n from truth where source = '{source}' group by person_id)
    """
    assert 0.03 < scalar(db, duplicated.format(source="crm")) < 0.10
    assert scalar(db, duplicated.format(source="shop")) > 0
    assert scalar(db, duplicated.format(source="newsletter")) > 0


@pytest.mark.parametrize("source, share", [("crm", 0.70), ("shop", 0.50), ("newsletter", 0.35)])
def test_each_source_holds_roughly_its_share_of_people(db, source, share):
    people = scalar(db, f"select count(distinct person_id) from truth where source = '{source}'")
    assert people / PEOPLE == pytest.approx(share, abs=0.05)


# --------------------------------------------------------------------------------------
# Realism and noise
# --------------------------------------------------------------------------------------


def test_phone_numbers_are_text_that_keeps_the_leading_zero_and_plus(data, db):
    assert str(pq.read_schema(data.out_dir / "shop_customers.parquet").field("phone").type) == "string"
    phones = values(db, "select mobilephone from crm where mobilephone is not null") + values(
        db, "select phone from shop where phone is not null"
    )
    assert any(p.startswith("07") for p in phones)
    assert any(p.startswith("+44") for p in phones)
    assert any(p.startswith("(07") for p in phones)
    digits = {re.sub(r"\D", "", p) for p in phones}
    assert all(len(d) in (11, 12, 13, 14) for d in digits)  # 07.., 447.., 00447..


def test_personal_columns_of_the_shop_are_text(data):
    schema = pq.read_schema(data.out_dir / "shop_customers.parquet")
    for name in ["first_name", "last_name", "email", "phone", "date_of_birth", "street", "town", "post_code"]:
        assert str(schema.field(name).type) == "string", name
    assert str(schema.field("customer_id").type) == "int64"
    assert str(schema.field("created_at").type).startswith("timestamp")


def test_postcodes_look_like_uk_postcodes_under_the_noise(db):
    postcodes = values(db, "select address1_postalcode from crm where address1_postalcode is not null")
    tidy = [p.strip().upper() for p in postcodes]
    assert sum(bool(UK_POSTCODE.match(p)) for p in tidy) / len(tidy) > 0.85
    assert any(" " not in p for p in tidy), "some are written without the space"
    assert all(UK_POSTCODE.match(p[:-3].strip() + " " + p[-3:]) for p in tidy)


def test_emails_come_with_case_and_plus_tag_noise(db):
    emails = values(db, "select email from shop where email is not null") + values(
        db, "select emailaddress1 from crm where emailaddress1 is not null"
    )
    assert all("@" in e for e in emails)
    assert any(e != e.lower() for e in emails)
    assert any("+shop@" in e.lower() for e in emails)
    assert len({e.strip().lower() for e in emails}) > 0.6 * len(emails)


def test_some_first_names_are_nicknames(db):
    nicknames = {nick for nicks in NICKNAMES.values() for nick in nicks} - set(NICKNAMES)
    firsts = values(db, "select firstname from crm where firstname is not null") + values(
        db, "select first_name from shop"
    )
    common = {"Bob", "Liz", "Bill", "Kate", "Jim", "Mike", "Dave", "Steve"}
    assert any(name.strip().title() in common for name in firsts)
    share = sum(name.strip().title() in nicknames for name in firsts) / len(firsts)
    assert 0.005 < share < 0.10


def test_names_carry_case_and_whitespace_noise(db):
    lasts = values(db, "select lastname from crm where lastname is not null")
    assert any(n.isupper() and len(n) > 2 for n in lasts)
    assert any(n.islower() for n in lasts)
    assert any(n != n.strip() for n in lasts)


def test_newsletter_names_are_full_names_in_several_layouts(db):
    names = values(db, "select name from newsletter where name is not null")
    assert sum(len(n.split()) >= 2 for n in names) / len(names) > 0.9
    assert any(re.match(r"^[A-Z' -]+, \w", n) for n in names), "LASTNAME, Firstname"
    assert any(re.match(r"^(Mr|Mrs|Ms|Miss|Dr) \w", n) for n in names), "with a title"


def test_dates_of_birth_are_iso_in_the_crm_and_day_first_in_the_shop(db):
    crm = values(db, "select birthdate from crm where birthdate is not null")
    shop = values(db, "select date_of_birth from shop")
    assert all(re.match(r"^\d{4}-\d\d-\d\d$", d) for d in crm)
    assert all(re.match(r"^\d\d/\d\d/\d{4}$", d) for d in shop if d is not None)
    assert 0.05 < shop.count(None) / len(shop) < 0.35, "the shop's date of birth is optional"


def test_addresses_are_written_with_and_without_abbreviations(db):
    lines = values(db, "select street from shop where street is not null")
    assert any(line.endswith(" Road") for line in lines) and any(line.endswith(" Rd") for line in lines)
    assert any(line.startswith("Flat ") for line in lines)


def test_optional_fields_are_sometimes_missing(db):
    for column in ["emailaddress1", "mobilephone", "birthdate", "address1_postalcode"]:
        missing = scalar(db, f"select avg(({column} is null)::int) from crm")
        assert 0.03 < missing < 0.25, column


def test_some_people_moved_and_show_two_addresses(db):
    moved = scalar(db, """
        select count(*) from (
            select t.person_id from crm c
            join truth t on t.source = 'crm' and t.source_record_id = c.contactid
            where c.address1_postalcode is not null
            group by t.person_id
            having count(distinct upper(replace(c.address1_postalcode, ' ', ''))) > 1)
    """)
    assert moved > 0


def test_some_housemates_share_an_email(db):
    shared = scalar(db, """
        select count(*) from (
            select lower(trim(c.emailaddress1)) e from crm c
            join truth t on t.source = 'crm' and t.source_record_id = c.contactid
            where c.emailaddress1 is not null
            group by e having count(distinct t.person_id) > 1)
    """)
    assert shared > 0


def test_timestamps_are_iso_and_updates_follow_creation(data, db):
    rows = db.execute("select createdon, modifiedon from crm").fetchall()
    assert all(ISO_TIMESTAMP.match(c) and ISO_TIMESTAMP.match(m) for c, m in rows)
    assert all(m >= c for c, m in rows)
    assert scalar(db, "select count(*) from shop where updated_at < created_at") == 0
    signups = (data.out_dir / "newsletter_signups.jsonl").read_text(encoding="utf-8").splitlines()
    assert all(ISO_TIMESTAMP.match(json.loads(line)["signed_up_at"]) for line in signups)


def test_newsletter_consent_is_a_boolean(db):
    assert set(values(db, "select distinct consent from newsletter")) == {True, False}


# --------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------


def test_orders_refer_to_existing_shop_customers(db):
    orphans = scalar(
        db, "select count(*) from orders where customer_id::bigint not in (select customer_id from shop)"
    )
    assert orphans == 0
    assert scalar(db, "select count(*) from orders") > 0


def test_each_shop_customer_has_zero_to_eight_orders(db):
    per_customer = values(db, """
        select count(o.order_id) from shop s left join orders o on o.customer_id::bigint = s.customer_id
        group by s.customer_id
    """)
    assert min(per_customer) == 0
    assert max(per_customer) <= 8


def test_order_amounts_have_two_decimal_places_and_ids_are_unique(db):
    amounts = values(db, "select amount from orders")
    assert all(re.match(r"^\d+\.\d\d$", a) for a in amounts)
    assert scalar(db, "select count(distinct order_id) = count(*) from orders")


# --------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------


def test_refuses_an_empty_population(tmp_path):
    with pytest.raises(ValueError, match="people"):
        generate(tmp_path, people=0)


def test_creates_the_output_folder(tmp_path):
    out = tmp_path / "new" / "folder"
    result = generate(str(out), people=20, seed=1)
    assert result.out_dir == out
    assert (out / "truth.csv").is_file()


# --------------------------------------------------------------------------------------
# The demo project file
# --------------------------------------------------------------------------------------


def source_columns(data: GeneratedData, path: str) -> set[str]:
    file = data.out_dir / Path(path).name
    if file.suffix == ".parquet":
        return set(pq.read_schema(file).names)
    if file.suffix == ".jsonl":
        return set(json.loads(file.read_text(encoding="utf-8").splitlines()[0]))
    return set(csv_header(file))


def test_demo_project_yaml_is_yaml_with_only_the_allowed_keys():
    project = yaml.safe_load(demo_project_yaml())
    assert set(project) == {"lakehouse", "engine", "sources", "linkage"}
    assert project["engine"] == "duckdb"
    assert project["linkage"] == {"threshold": "auto"}
    for source in project["sources"].values():
        assert set(source) <= {"path", "format", "id", "updated_at", "columns", "attributes",
                               "kind", "record_of", "record_id", "at", "amount"}


def customer_sources(project: dict) -> dict:
    return {n: s for n, s in project["sources"].items() if s.get("kind", "records") == "records"}


def test_demo_project_yaml_maps_the_three_customer_sources_and_the_orders_as_events():
    project = yaml.safe_load(demo_project_yaml())
    assert set(customer_sources(project)) == {"crm", "shop", "newsletter"}
    assert project["sources"]["newsletter"]["columns"]["full_name"] == "name"
    assert project["sources"]["crm"]["attributes"] == ["donotemail"]
    assert project["sources"]["orders"] == {
        "kind": "events", "path": "data/shop_orders.csv", "id": "order_id", "record_of": "shop",
        "record_id": "customer_id", "at": "ordered_at", "amount": "amount"}


def test_demo_project_yaml_maps_only_canonical_fields():
    canonical = {
        "first_name", "middle_name", "last_name", "full_name", "date_of_birth", "gender", "email", "phone",
        "address_line_1", "address_line_2", "city", "region", "postcode", "country",
        "created_at", "updated_at",
    }
    for source in customer_sources(yaml.safe_load(demo_project_yaml())).values():
        assert set(source["columns"]) <= canonical


def test_every_column_the_demo_project_names_exists_in_its_file(data):
    for name, source in yaml.safe_load(demo_project_yaml())["sources"].items():
        columns = source_columns(data, source["path"])
        named = [source[k] for k in ("id", "updated_at", "record_id", "at", "amount") if k in source]
        named += [*source.get("columns", {}).values(), *source.get("attributes", [])]
        assert set(named) <= columns, name


def test_demo_project_yaml_uses_the_given_folders():
    project = yaml.safe_load(demo_project_yaml(data_dir="input/demo", lakehouse="out/lake"))
    assert project["lakehouse"] == "./out/lake"
    assert project["sources"]["crm"]["path"] == "input/demo/crm_contacts.csv"
    assert project["sources"]["shop"]["path"] == "input/demo/shop_customers.parquet"
    assert project["sources"]["newsletter"]["path"] == "input/demo/newsletter_signups.jsonl"
    assert project["sources"]["orders"]["path"] == "input/demo/shop_orders.csv"
    assert yaml.safe_load(demo_project_yaml())["lakehouse"] == "./lakehouse"


def test_demo_project_yaml_loads_with_scv_config_next_to_generated_data(tmp_path):
    config = pytest.importorskip("scv.config")
    generate(tmp_path / "data", people=50, seed=3)
    (tmp_path / "scv.yaml").write_text(demo_project_yaml(), encoding="utf-8")
    project, base = config.load_config(tmp_path / "scv.yaml")
    assert set(project.record_sources) == {"crm", "shop", "newsletter"}
    assert set(project.event_sources) == {"orders"}
    assert base == tmp_path.resolve()
