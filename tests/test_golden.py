"""Golden records: survivorship rules, the address kept whole, lineage, flags and views.

Survivorship is tested on known clusters (the source's `person` column) so that each
rule is seen on exactly the records it ranks; lineage, erasure and errors run the whole
pipeline, linkage included.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from conftest import TWO_SOURCES_YAML, one_line_error, write_project
from scv import Project
from scv.cli import app
from scv.golden import golden, publish_gold
from scv.ingest import ingest
from scv.pipeline import Run, execute
from scv.standardise import standardise
from scv.validate import validate

# Person A: a1 is the most complete record; a2 the most recent, its email suppressed
# (donotemail), its phone and postcode invalid; s1 in the shop, its email invalid.
# B has one suppressed email. T's two records tie on everything but record key.
# X: x1 holds most of the address, x2 (newer) only a city.
CRM = """\
id,person,first,last,email,phone,dob,line1,city,postcode,modified,donotemail,loyalty,amount
a1,A,Robert,Smith,rob@old.example.com,07700 900123,1980-02-01,1 High Street,London,SW1A 1AA,2024-01-01,false,Y,10
a2,A,Rob,Smith,rob.new@example.com,12,1980-02-01,2 Low Road,,XX1,2024-03-01,true,N,5
b1,B,Ann,Brown,ann@example.com,,1990-07-07,,,,2024-01-01,true,N,1
t1,T,Tia,Tie,tia1@example.com,,,,,,2024-04-01,false,Y,1
t2,T,Tia,Tie,tia2@example.com,,,,,,2024-04-01,false,N,2
x1,X,Xena,Cole,xena@example.com,07700 900555,1970-01-01,5 Elm Road,,M1 1AE,2024-01-01,false,Y,3
x2,X,Xena,Cole,,,,,Leeds,,2024-06-01,false,Y,4
"""
SHOP = """\
id,person,first,last,email,phone,dob,line1,city,postcode,updated,loyalty,amount
s1,A,Robert,Smith,not-an-email,07700 900125,1980-01-02,3 Side Lane,Leeds,LS1 4AP,2024-02-01,Y,7
"""
SOURCE = """\
        path: {file}
        id: id
        updated_at: {updated}
        columns: {{first_name: first, last_name: last, email: email, phone: phone, date_of_birth: dob,
                   address_line_1: line1, city: city, postcode: postcode}}
        attributes: [person, loyalty, amount{extra}]
"""
PROJECT = ("""\
    lakehouse: ./lakehouse
    sources:
      crm:
""" + SOURCE.format(file="crm.csv", updated="modified", extra=", donotemail") + """\
      shop:
""" + SOURCE.format(file="shop.csv", updated="updated", extra="") + """\
    golden:
      rules:
        amount: {sql: "max(try_cast(amount as integer))"}
      flags:
        marketable: "email is not null and not donotemail"
      views:
        ranked:
          rules:
            first_name: longest
            phone: {source_priority: [shop, crm]}
            postcode: most_recent
            city: latest_non_null
            loyalty: earliest
            last_name: most_frequent
            date_of_birth: min
            gender: max
            amount: sum
            email: count
            donotemail: list_distinct
        members:
          filter: "loyalty = 'Y'"
          rules:
            loyalty: list_distinct
""")


def known_clusters(run: Run) -> None:
    """The link stage's output, taken from the `person` column: one cluster per person."""
    run.engine.create("clusters", "select record_key, person as cluster_id from silver_records")
    run.engine.create("cluster_review", """select cluster_id, false as needs_review,
        cast(null as string) as review_reason from clusters where false""")


STAGES = [("ingest", ingest), ("validate", validate), ("standardise", standardise),
          ("link", known_clusters), ("golden", golden), ("publish", publish_gold)]


def run_on_known_clusters(project: Project) -> None:
    engine = project.engine()
    try:
        execute(Run(project.config, project.base_dir, project.lakehouse, engine), stages=STAGES)
    finally:
        engine.close()


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Project:
    config = write_project(tmp_path_factory.mktemp("golden"), PROJECT, {"crm.csv": CRM, "shop.csv": SHOP})
    project = Project.load(config)
    run_on_known_clusters(project)
    return project


def customers(project: Project, table: str = "gold/customers") -> dict[str, dict]:
    """Golden rows by person (every customer here has one person)."""
    return {r["person"]: r for r in project.lakehouse.read_table(table).to_pylist()}


def lineage(project: Project, person: str, table: str = "gold/customers") -> dict[str, dict]:
    customer_id = customers(project, table)[person]["customer_id"]
    rows = project.lakehouse.read_table("gold/customer_lineage").to_pylist()
    return {r["field"]: r for r in rows if r["customer_id"] == customer_id and r["golden_table"] == table}


# ---------------------------------------------------------------- defaults

def test_names_come_from_the_most_complete_record(lake):
    a = customers(lake)["A"]
    assert (a["first_name"], a["last_name"]) == ("robert", "smith")
    assert lineage(lake, "A")["first_name"]["record_key"] == "crm:a1"


def test_email_skips_a_suppressed_record_while_another_is_available(lake):
    # a2 is the newest but says donotemail; s1's email is invalid; so a1's survives
    assert customers(lake)["A"]["email"] == "rob@old.example.com"
    assert lineage(lake, "A")["email"]["record_key"] == "crm:a1"


def test_a_suppressed_email_is_kept_when_it_is_the_only_one(lake):
    assert customers(lake)["B"]["email"] == "ann@example.com"


def test_an_invalid_phone_never_survives_over_a_valid_one(lake):
    # a2, the newest, has phone_invalid: the next most recent valid phone is s1's
    assert customers(lake)["A"]["phone"] == "+447700900125"
    assert lineage(lake, "A")["phone"]["record_key"] == "shop:s1"


def test_date_of_birth_is_the_most_frequent(lake):
    assert str(customers(lake)["A"]["date_of_birth"]) == "1980-02-01"  # a1 and a2 against s1


def test_updated_at_is_the_latest_and_counts_its_records(lake):
    assert str(customers(lake)["A"]["updated_at"]) == "2024-03-01 00:00:00"
    row = lineage(lake, "A")["updated_at"]
    assert (row["rule"], row["source"], row["record_key"], row["contributing_records"]) == ("max", None, None, 3)


def test_ties_break_by_record_key(lake):
    # t1 and t2: same recency, same completeness
    t = customers(lake)["T"]
    assert t["email"] == "tia1@example.com" and t["loyalty"] == "Y"
    assert lineage(lake, "T")["email"]["record_key"] == "crm:t1"


# ---------------------------------------------------------------- the address

def test_the_address_comes_whole_from_one_record(lake):
    # x1 holds line, house number and postcode; x2 only a city: no city is borrowed from x2
    x = customers(lake)["X"]
    assert (x["address_line_1"], x["house_number"], x["postcode"], x["city"]) == ("5 elm road", "5", "M1 1AE", None)
    rows = lineage(lake, "X")
    assert {rows[f]["record_key"] for f in ("address_line_1", "city", "postcode", "house_number")} == {"crm:x1"}
    assert rows["city"]["rule"] == "address: most_complete"


def test_an_address_with_an_invalid_part_gives_way(lake):
    a = customers(lake)["A"]
    assert (a["address_line_1"], a["city"], a["postcode"]) == ("1 high street", "london", "SW1A 1AA")


def test_an_address_field_given_its_own_rule_leaves_the_group(lake):
    x = customers(lake, "gold/customers_ranked")["X"]
    assert x["city"] == "leeds"  # latest_non_null: x2
    assert x["address_line_1"] == "5 elm road"  # the rest still from x1


# ---------------------------------------------------------------- each rule

def test_longest(lake):
    assert customers(lake, "gold/customers_ranked")["A"]["first_name"] == "robert"  # not a2's "rob"
    # a1 and s1 both say robert: the more recent, s1, is named
    assert lineage(lake, "A", "gold/customers_ranked")["first_name"]["record_key"] == "shop:s1"


def test_source_priority(lake):
    assert customers(lake, "gold/customers_ranked")["A"]["phone"] == "+447700900125"
    x = lineage(lake, "X", "gold/customers_ranked")["phone"]
    assert (x["rule"], x["record_key"]) == ("source_priority: shop, crm", "crm:x1")  # no shop record


def test_most_recent_skips_an_invalid_value(lake):
    # a2 is the newest but its postcode is invalid; s1 is next
    assert customers(lake, "gold/customers_ranked")["A"]["postcode"] == "LS1 4AP"


def test_earliest(lake):
    assert customers(lake, "gold/customers_ranked")["A"]["loyalty"] == "Y"
    assert lineage(lake, "A", "gold/customers_ranked")["loyalty"]["record_key"] == "crm:a1"


def test_most_frequent_ties_go_to_the_most_recent(lake):
    # smith three times; the most recent record holding it is a2
    assert lineage(lake, "A", "gold/customers_ranked")["last_name"]["record_key"] == "crm:a2"


def test_aggregates(lake):
    a = customers(lake, "gold/customers_ranked")["A"]
    assert str(a["date_of_birth"]) == "1980-01-02"  # min
    assert a["gender"] is None  # max of nothing
    assert float(a["amount"]) == 22  # sum of text read as numbers
    assert a["email"] == 2  # count: s1's is invalid
    assert a["donotemail"] == ["false", "true"]  # list_distinct
    rows = lineage(lake, "A", "gold/customers_ranked")
    assert (rows["email"]["rule"], rows["email"]["contributing_records"], rows["email"]["source"]) == ("count", 2, None)


def test_a_sql_rule_folds_the_records(lake):
    assert customers(lake)["A"]["amount"] == 10
    assert lineage(lake, "A")["amount"]["rule"] == "sql: max(try_cast(amount as integer))"


# ---------------------------------------------------------------- lineage

def test_lineage_has_one_row_per_customer_and_field(lake):
    rows = lake.lakehouse.read_table("gold/customer_lineage").to_pylist()
    main = [r for r in rows if r["golden_table"] == "gold/customers"]
    fields = {r["field"] for r in main}
    assert {"first_name", "email", "postcode", "person", "amount"} <= fields
    assert len(main) == len(fields) * len(customers(lake))
    assert {"customer_id", "field", "rule", "source", "record_key", "source_record_id",
            "contributing_records"} <= set(rows[0])


def test_lineage_names_the_source_record(lake):
    row = lineage(lake, "A")["phone"]
    assert (row["source"], row["source_record_id"], row["rule"], row["contributing_records"]) == (
        "shop", "s1", "most_recent", 1)


def test_project_lineage_shows_shapes_unless_revealed(lake):
    a = customers(lake)["A"]["customer_id"]
    shown = {f.field: f for f in lake.lineage(a).fields}
    assert shown["email"].value == "a+@a+.a+.a+" and shown["email"].record_key == "crm:a1"
    assert shown["loyalty"].value == "Y"  # not personal
    assert {f.field: f for f in lake.lineage(a, reveal=True).fields}["email"].value == "rob@old.example.com"


def test_lineage_command_prints_each_field(lake):
    a = customers(lake)["A"]["customer_id"]
    result = CliRunner().invoke(app, ["lineage", a, "--config", str(lake.base_dir / "scv.yaml"),
                                      "--view", "members"])
    assert result.exit_code == 0, result.output
    assert "gold/customers_members" in result.output and "rob@old" not in result.output
    assert "s1" in result.output


# ---------------------------------------------------------------- flags

def test_user_flags_are_columns_of_the_xref(lake):
    xref = {r["record_key"]: r for r in lake.lakehouse.read_table("gold/customer_xref").to_pylist()}
    assert {k for k, r in xref.items() if r["marketable"]} == {"crm:a1", "crm:t1", "crm:t2", "crm:x1"}


def test_a_customer_is_flagged_when_any_of_its_records_is(lake):
    flagged = {p: c["marketable"] for p, c in customers(lake).items()}
    assert flagged == {"A": True, "B": False, "T": True, "X": True}


# ---------------------------------------------------------------- views

def test_a_view_keeps_only_the_records_its_filter_admits(lake):
    members = customers(lake, "gold/customers_members")
    assert set(members) == {"A", "T", "X"}  # B's only record is not a member's
    assert members["A"]["record_count"] == 2 and members["A"]["loyalty"] == ["Y"]
    assert members["T"]["email"] == "tia1@example.com"


def test_a_view_falls_back_to_golden_rules(lake):
    # golden.rules.amount (max) over the members' records only: a1 10, s1 7
    assert customers(lake, "gold/customers_members")["A"]["amount"] == 10
    assert lineage(lake, "A", "gold/customers_members")["amount"]["contributing_records"] == 2


def test_views_are_published_with_the_other_gold_tables(lake):
    tables = set(lake.lakehouse.tables())
    assert {"gold/customers", "gold/customer_xref", "gold/customer_lineage", "gold/customers_ranked",
            "gold/customers_members"} <= tables


# ---------------------------------------------------------------- the whole pipeline

VIEW_YAML = TWO_SOURCES_YAML.rstrip(" ") + """\
    golden:
      views:
        contactable:
          filter: "email is not null"
    """


def test_lineage_after_linkage_names_the_record_each_value_came_from(two_sources):
    project = Project.load(two_sources)
    project.run()
    xref = {r["record_key"]: r["customer_id"] for r in project.lakehouse.read_table("gold/customer_xref").to_pylist()}
    shown = {f.field: f for f in project.lineage(xref["crm:c1"], reveal=True).fields}
    assert (shown["email"].value, shown["email"].record_key) == ("rob.smith@example.com", "shop:101")  # newer
    assert (shown["date_of_birth"].source, shown["date_of_birth"].source_record_id) == ("crm", "c1")  # crm only


def test_a_forgotten_person_leaves_no_lineage_and_no_view_row(tmp_path, monkeypatch):
    monkeypatch.setenv("SCV_ERASURE_KEY", "test-key-not-secret")
    from conftest import CRM_CSV, SHOP_CSV

    project = Project.load(write_project(tmp_path, VIEW_YAML, {"crm.csv": CRM_CSV, "shop.csv": SHOP_CSV}))
    project.run()
    receipt = project.forget(email="rob.smith@example.com")
    assert receipt.verified
    assert receipt.removed["gold/customer_lineage"] > 0 and receipt.removed["gold/customers_contactable"] == 1
    lineage_keys = set(project.lakehouse.read_table("gold/customer_lineage")["record_key"].to_pylist())
    assert not lineage_keys & {"crm:c1", "shop:101"}
    logs = [p for p in (tmp_path / "lakehouse" / "gold").rglob("*.json") if b"smith" in p.read_bytes().lower()]
    assert logs == []


# ---------------------------------------------------------------- mistakes in scv.yaml

def error_of(tmp_path, golden_yaml: str) -> str:
    from conftest import CRM_CSV, SHOP_CSV

    config = write_project(tmp_path, TWO_SOURCES_YAML.rstrip(" ") + golden_yaml, {"crm.csv": CRM_CSV, "shop.csv": SHOP_CSV})
    return one_line_error(config)


@pytest.mark.parametrize("golden_yaml, expected", [
    ("    golden:\n      rules: {frist_name: most_complete}\n",
     ["golden.rules.frist_name", "did you mean 'first_name'?"]),
    ("    golden:\n      rules: {email: most_recnet}\n", ["golden.rules.email", "did you mean 'most_recent'?"]),
    ("    golden:\n      rules: {email: {source_priority: [crm, shp]}}\n", ["'shp' is not a source", "'shop'"]),
    ("    golden:\n      rules: {address: longest}\n", ["golden.rules.address", "most_complete"]),
    ("    golden:\n      views: {members: {rules: {emial: most_recent}}}\n",
     ["golden.views.members.rules.emial", "did you mean 'email'?"]),
    ("    golden:\n      flags: {duplicate: \"email is null\"}\n", ["golden.flags.duplicate", "already a column"]),
    ("    golden:\n      flags: {Not-A-Name: \"true\"}\n", ["golden.flags.Not-A-Name", "lower-case"]),
    ("    golden:\n      views: {analytics: {filter: \"true\"}}\n", ["golden.views.analytics"]),
    ("    golden:\n      views: {members: {filtr: \"true\"}}\n", ["did you mean 'filter'?"]),
])
def test_golden_config_mistakes_are_one_line(tmp_path, golden_yaml, expected):
    line = error_of(tmp_path, golden_yaml)
    assert all(e in line for e in expected), line


def test_a_sql_rule_that_does_not_run_names_its_key(tmp_path):
    line = error_of(tmp_path, "    golden:\n      rules: {donotemail: {sql: \"max(donotemial)\"}}\n")
    assert "golden.rules.donotemail" in line and "max(donotemial)" in line


def test_a_flag_that_does_not_run_names_its_key(tmp_path):
    line = error_of(tmp_path, "    golden:\n      flags: {marketable: \"emial is not null\"}\n")
    assert "golden.flags.marketable" in line


def test_many_customers_survive_in_parts_with_the_same_golden_records(fake_1000, monkeypatch):
    """Past RECORDS_PER_GB records of customers of several records a GB of DuckDB's memory
    limit, survivorship aggregates those customers part by part (DuckDB cannot spill the
    aggregate of millions of customers); the parts add up to the same gold."""
    from scv import golden as golden_stage

    def gold(config):
        project = Project.load(config)
        project.run()
        return {name: project.lakehouse.read_table(f"gold/{name}").sort_by(
                    [("customer_id", "ascending")] + ([("field", "ascending")] if name == "customer_lineage" else []))
                for name in ("customers", "customer_lineage")}

    whole = gold(fake_1000)
    in_parts_config = fake_1000.parent / "parts" / "scv.yaml"
    in_parts_config.parent.mkdir()
    in_parts_config.write_text(fake_1000.read_text())
    engine = Project.load(in_parts_config).engine()
    limit = engine.memory_limit_bytes()
    engine.close()
    monkeypatch.setattr(golden_stage, "RECORDS_PER_GB", 150 / (limit / 1e9))  # 150 records a part
    counted, parts = golden_stage.survivorship_parts, []
    monkeypatch.setattr(golden_stage, "survivorship_parts", lambda run: parts.append(counted(run)) or parts[-1])
    in_parts = gold(in_parts_config)
    assert parts[0] > 2
    assert whole["customers"].num_rows > 200
    assert all(in_parts[name].equals(whole[name]) for name in whole)
