"""The linkage model scv derives: comparisons from the columns present, blocking within
its budget, EM sessions judged before they count, and the guard against a model that
links a household."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
import splink.comparison_level_library as cll
import splink.comparison_library as cl

from conftest import write_project
from scv import Project, blocking
from scv.blocking import AUTO_MIN_PAIRS, AUTO_PAIRS_PER_RECORD, SWAPPED_NAMES, pairs_budget
from scv.config import Linkage
from scv.training import (MAX_U_CORRECTION, UNSEEN_U_COUNT, CountsWithUnseenLevels, net_of_matches, plausible,
                          same_person)


def saved_model(project: Project) -> dict:
    return json.loads(project.lakehouse.read_file(sorted(project.lakehouse.files("models"))[-1]))


def facts(project: Project) -> dict:
    return json.loads(project.lakehouse.read_table("audit/runs")["linkage"][-1].as_py())


def compared(project: Project) -> list[str]:
    return [c["output_column_name"] for c in saved_model(project)["comparisons"]]


def people_csv(columns: str, rows: int = 120, seed: int = 3) -> str:
    """Unrelated people with a twin for every fifth, in the columns asked for."""
    rng, lines = random.Random(seed), []
    for i in range(rows):
        person = {"first": f"given{i % 37}x{i}", "last": f"family{i}", "dob": f"19{40 + i % 50}-0{1 + i % 9}-1{i % 9}",
                  "email": f"p{i}@mail.example", "postcode": f"LS{1 + i % 9} {1 + i % 8}AB", "nin": f"QQ{100000 + i * 7919 % 900000}C", "tier": f"t{i % 3}"}
        lines.append(",".join([f"{i}a"] + [person[c] for c in columns.split(",")]))
        if i % 5 == 0:
            twin = {**person, "last": person["last"] + rng.choice("st")}
            lines.append(",".join([f"{i}b"] + [twin[c] for c in columns.split(",")]))
    return f"id,{columns}\n" + "\n".join(lines)


def project_with(tmp_path, columns: dict, attributes: list[str] = (), extra: str = "") -> Project:
    csv_columns = ",".join([*columns.values(), *attributes])
    yaml = f"""\
    lakehouse: ./lakehouse
    sources:
      people:
        path: people.csv
        id: id
        columns: {json.dumps(columns)}
        attributes: {json.dumps(list(attributes))}
    {extra}"""
    return Project.load(write_project(tmp_path, yaml, {"people.csv": people_csv(csv_columns)}))


def test_each_canonical_field_present_gets_its_comparison(tmp_path):
    project = project_with(tmp_path, {"first_name": "first", "last_name": "last", "date_of_birth": "dob"})
    project.run()
    assert compared(project) == ["first_name", "last_name", "date_of_birth"]


def test_an_email_column_adds_an_email_comparison_and_blocking_rule(tmp_path):
    project = project_with(tmp_path, {"first_name": "first", "last_name": "last", "email": "email"})
    project.run()
    assert "email" in compared(project) and "date_of_birth" not in compared(project)
    assert any('"email"' in r["rule"] for r in facts(project)["blocking_rules"])


def email_level(left: str, right: str) -> str:
    """The level of scv's email comparison two addresses fall in, split as the link input splits them."""
    import duckdb

    from scv.link import email_comparison

    levels = email_comparison().get_comparison("duckdb").comparison_levels
    columns = {}
    for side, address in (("l", left), ("r", right)):
        user, domain = address.split("@")
        columns.update({f"email_{side}": address, f"email_user_{side}": user, f"email_domain_{side}": domain})
    row = ", ".join(f"'{value}' as {name}" for name, value in columns.items())
    for level in levels:
        if level.sql_condition == "ELSE" or duckdb.sql(f"select ({level.sql_condition}) from (select {row})").fetchone()[0]:
            return level.label_for_charts


def test_a_mailbox_typed_with_its_domain_mistyped_is_one_mailbox():
    assert email_level("a.b27@mailhost.example", "a.b27@mailhst.example") == "one mailbox name, domains a typo apart"


@pytest.mark.parametrize("left, right", [
    ("john.smith12@gmail.com", "john.smith21@gmail.com"),  # two namesakes' addresses, a typo apart
    ("john.smith@acme.co.uk", "john.smith@gmail.com"),  # one name at two providers: namesakes as often
])
def test_addresses_alike_but_not_one_mailbox_count_as_different(left, right):
    assert email_level(left, right) == "All other comparisons"


def test_an_identifier_attribute_is_compared_allowing_a_typo_and_blocked_on(tmp_path):
    project = project_with(tmp_path, {"first_name": "first", "last_name": "last"}, attributes=["nin"])
    project.run()
    nin = next(c for c in saved_model(project)["comparisons"] if c["output_column_name"] == "nin")
    assert any("damerau_levenshtein" in level["sql_condition"] for level in nin["comparison_levels"])
    assert any('"nin"' in r["rule"] for r in facts(project)["blocking_rules"])


def test_a_coarse_attribute_is_not_compared(tmp_path):
    project = project_with(tmp_path, {"first_name": "first", "last_name": "last"}, attributes=["tier"])
    project.run()
    assert "tier" not in compared(project)


def test_blocking_stays_within_the_comparison_budget(tmp_path):
    project = project_with(tmp_path, {"first_name": "first", "last_name": "last", "date_of_birth": "dob"},
                           extra="linkage: {comparisons_per_record: 0.5}")
    project.run()
    found = facts(project)
    records = project.lakehouse.read_table("silver/records").num_rows
    # the swapped-names rule is always added; every measured rule fits the budget
    measured = [r for r in found["blocking_rules"] if r["rule"] != SWAPPED_NAMES]
    assert sum(r["comparisons"] for r in measured) <= 0.5 * records
    assert found["budget_per_record"] == 0.5 and 0 <= found.get("estimated_blocking_recall", 0) <= 1


def test_a_rule_that_a_broader_rule_taken_after_it_covers_is_dropped(tmp_path, monkeypatch):
    """Postcode with the first initial is a candidate before postcode alone; once both
    are taken the narrower admits no pair the broader does not: the same pairs are
    scored without its join."""
    def pairs(project: Project) -> set:
        return {(p["record_key_l"], p["record_key_r"]) for p in project.lakehouse.read_table("silver/pairs").to_pylist()}

    columns = {"first_name": "first", "last_name": "last", "postcode": "postcode"}
    project = project_with(tmp_path / "dropped", columns)
    project.run()
    rules = [r["rule"] for r in facts(project)["blocking_rules"]]
    assert 'l."postcode" = r."postcode"' in rules
    assert not [r for r in rules if '"postcode"' in r and r != 'l."postcode" = r."postcode"']
    monkeypatch.setattr(blocking, "without_narrower", lambda chosen: chosen)
    kept = project_with(tmp_path / "kept", columns)
    kept.run()
    assert len(facts(kept)["blocking_rules"]) > len(rules)
    assert pairs(kept) == pairs(project) and pairs(project)


def test_the_auto_budget_never_falls_below_a_few_million_pairs(tmp_path):
    """Under `auto` small data may use every loose rule: five million pairs score in seconds."""
    project = project_with(tmp_path, {"first_name": "first", "last_name": "last", "date_of_birth": "dob"})
    project.run()
    records = project.lakehouse.read_table("silver/records").num_rows
    assert facts(project)["budget_per_record"] == pytest.approx(AUTO_MIN_PAIRS / records)


def test_the_auto_budget_is_ten_pairs_a_record_on_large_data():
    run = SimpleNamespace(config=SimpleNamespace(linkage=Linkage()))
    assert pairs_budget(run, 1_000_000) == AUTO_PAIRS_PER_RECORD * 1_000_000 == 10_000_000
    assert pairs_budget(run, 1_000) == AUTO_MIN_PAIRS


def test_under_the_auto_budget_no_rule_takes_more_than_a_third_of_it(tmp_path):
    """2,000 namesakes: the names admit 2 million pairs, within the 5 million budget but
    not within a third of it; the names narrowed by birth year take their place."""
    people = "id,first,last,dob\n" + "\n".join(
        f"{i},Ann,Smith,{1930 + i % 60}-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(2000))
    project = Project.load(write_project(tmp_path, """\
        lakehouse: ./lakehouse
        sources:
          people:
            path: people.csv
            id: id
            columns: {first_name: first, last_name: last, date_of_birth: dob}
        """, {"people.csv": people}))
    project.run()
    rules = [r["rule"] for r in facts(project)["blocking_rules"]]
    assert not any('"first_name"' in r and '"last_name"' in r and "YEAR" not in r for r in rules)
    assert any('"first_name"' in r and '"last_name"' in r and "YEAR" in r for r in rules)
    assert facts(project)["pairs_to_score"] <= AUTO_MIN_PAIRS


def test_names_narrowed_by_birth_year_block_when_plain_names_exceed_the_budget(tmp_path):
    """Namesakes grow with the square of the records: a large data set can afford the
    names only narrowed by the birth year, a small one plain (and then not narrowed)."""
    # 60 namesakes, two born in each of 30 years: 1,770 pairs by name, 30 by name and year
    people = "id,first,last,dob\n" + "\n".join(
        f"{i},Ann,Smith,{1940 + i // 2}-0{1 + i % 9}-1{i % 7}" for i in range(60))

    def rules(folder, budget):
        project = Project.load(write_project(folder, f"""\
            lakehouse: ./lakehouse
            sources:
              people:
                path: people.csv
                id: id
                columns: {{first_name: first, last_name: last, date_of_birth: dob}}
            linkage: {{comparisons_per_record: {budget}}}
            """, {"people.csv": people}))
        project.run()
        return [r["rule"] for r in facts(project)["blocking_rules"]]

    def narrowed(rule):
        return '"first_name"' in rule and '"last_name"' in rule and "YEAR" in rule

    plain = rules(tmp_path / "plain", 50)
    assert any('"first_name"' in r and '"last_name"' in r for r in plain) and not any(map(narrowed, plain))
    assert any(map(narrowed, rules(tmp_path / "narrow", 5)))


def test_a_larger_budget_admits_looser_rules(tmp_path):
    tight = project_with(tmp_path / "tight", {"first_name": "first", "last_name": "last", "date_of_birth": "dob"},
                         extra="linkage: {comparisons_per_record: 0.5}")
    loose = project_with(tmp_path / "loose", {"first_name": "first", "last_name": "last", "date_of_birth": "dob"})
    tight.run(), loose.run()
    assert len(facts(loose)["blocking_rules"]) > len(facts(tight)["blocking_rules"])


def comparison(levels) -> object:
    """A trained comparison with (m, u) per non-null level, as a session leaves it."""
    built = cl.CustomComparison([cll.NullLevel("x"), *(cll.CustomLevel(f"x_l = x_r + {i}") for i in range(len(levels) - 1)),
                                 cll.ElseLevel()], output_column_name="first_name").get_comparison("duckdb")
    for level, (m, u) in zip(built._comparison_levels_excluding_null, levels):
        level.m_probability, level.u_probability = m, u
    return built


def test_an_estimate_where_exact_agreement_is_far_weaker_than_a_partial_one_is_implausible():
    # the date of birth EM learns in a block of names agreeing, when every duplicate has one error
    assert not plausible(comparison([(0.002, 5e-5), (0.95, 0.001), (0.048, 0.999)]))
    assert plausible(comparison([(0.6, 5e-5), (0.35, 0.001), (0.05, 0.999)]))


def test_an_estimate_where_disagreement_counts_for_a_match_is_implausible():
    assert not plausible(comparison([(0.3, 0.01), (0.1, 0.01), (0.6, 0.3)]))


def test_matches_that_mostly_disagree_on_the_first_name_are_not_one_person():
    household = comparison([(0.1, 0.02), (0.05, 0.001), (0.85, 0.979)])
    person = comparison([(0.8, 0.02), (0.15, 0.001), (0.05, 0.979)])
    assert not same_person(household) and same_person(person)


def household_csv(namesakes: bool = False) -> tuple[str, str]:
    """Families sharing surname, address, postcode and phone, each member with their own
    birth date and first name (with `namesakes`, drawn from 40 names, so that one family in
    seven has two members of one name); a genuine duplicate for about one member in seven."""
    rng = random.Random(7)
    first = ["james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "william", "elizabeth",
             "david", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah", "charles", "karen",
             "chris", "nancy", "daniel", "lisa", "matthew", "betty", "anthony", "margaret", "mark", "sandra",
             "donald", "ashley", "steven", "kimberly", "paul", "emily", "andrew", "donna", "joshua", "michelle"]
    surnames = [f"{a}{b}" for a in ("smith", "jones", "tay", "brow", "wil", "john", "dav", "evan", "thom", "rob",
                                    "wal", "wri", "hug", "gree", "edw") for b in ("son", "ley", "ford", "er", "ton",
                                                                                  "ham", "wood", "by")]
    rows, truth = [], []
    for h in range(300):
        last = surnames[h] if h < len(surnames) else rng.choice(surnames)
        postcode, phone = f"AB{h // 10} {h % 10}CD", f"0117 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        street = f"{rng.randint(1, 200)} {rng.choice(['high', 'church', 'mill', 'station'])} street"
        names = None if namesakes else rng.sample(first, 4)
        for m in range(4):
            person = [rng.choice(first) if namesakes else names[m], last, f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                      phone, postcode, street, "bristol"]
            for _ in range(2 if rng.random() < 0.15 else 1):
                truth.append(f"people,r{len(rows)},h{h}m{m}")
                rows.append(",".join([f"r{len(rows)}", *person]))
    return ("id,first,last,dob,phone,postcode,street,town\n" + "\n".join(rows),
            "source,source_record_id,person_id\n" + "\n".join(truth))


def household_project(folder: Path, namesakes: bool = False) -> Project:
    people, truth = household_csv(namesakes)
    (folder / "truth.csv").write_text(truth)
    project = Project.load(write_project(folder, """\
    lakehouse: ./lakehouse
    sources:
      people:
        path: people.csv
        id: id
        columns: {first_name: first, last_name: last, date_of_birth: dob, phone: phone, postcode: postcode,
                  address_line_1: street, city: town}
    """, {"people.csv": people}))
    project.run()
    return project


@pytest.fixture(scope="module")
def households(tmp_path_factory) -> Project:
    return household_project(tmp_path_factory.mktemp("households"))


def test_family_members_stay_apart_and_duplicates_join(households):
    # street, postcode and town are one comparison: a shared home counts once, so the
    # family's surname and home do not outvote each member's own first name and birth date
    assert "retrained_without" not in facts(households)
    scores = households.evaluate(households.base_dir / "truth.csv")
    assert scores.precision > 0.95 and scores.recall > 0.9


@pytest.fixture(scope="module")
def namesakes_at_home(tmp_path_factory) -> Project:
    return household_project(tmp_path_factory.mktemp("namesakes"), namesakes=True)


def test_em_sessions_blocked_on_what_a_household_shares_are_set_aside(namesakes_at_home):
    # Blocked on postcode, EM takes two namesakes of one family for one person's records.
    # (The household's landline, held by unlike first names, is nobody's own: not blocked on.)
    sessions = {tuple(s["blocked_on"]): s for s in facts(namesakes_at_home)["em_sessions"]}
    assert sessions[("postcode",)]["set_aside"] and not sessions[("postcode",)]["estimated"]


def test_namesakes_of_one_home_born_years_apart_are_two_customers(namesakes_at_home):
    # A father and son of one name: blocked on the name, EM took them for one person whose
    # birth dates disagree, and the median kept it (precision 0.72); the session whose
    # matches agree on birth date most knows one person's dates rarely do
    scores = namesakes_at_home.evaluate(namesakes_at_home.base_dir / "truth.csv")
    assert scores.precision > 0.95 and scores.recall > 0.95


def test_one_edit_is_levenshtein_at_one_for_dates_and_phone_numbers():
    """Hamming stands in for Levenshtein on texts of one length; the level's verdict is the same."""
    import duckdb

    from scv.link import one_edit

    rng = random.Random(7)
    texts = ["1961-03-07", "1961-07-03", "1961-03-08", "1916-03-07", "2061-03-07", "07700900123",
             "07700900124", "0770090012", "077009001234", "17700900123", "", "x"]
    texts += ["".join(rng.choice("0123") for _ in range(rng.choice((3, 4)))) for _ in range(40)]
    pairs = [(a, b) for a in texts for b in texts]
    found = duckdb.sql(f"select {one_edit('l', 'r')}, levenshtein(l, r) <= 1 "
                       "from (select unnest(?) as l, unnest(?) as r)",
                       params=[[a for a, _ in pairs], [b for _, b in pairs]]).fetchall()
    assert all(ours == theirs for ours, theirs in found)
    assert sum(ours for ours, _ in found) > len(texts)  # some pairs one edit apart, beyond equal ones


def sampled(levels, tf: bool = False) -> object:
    """A comparison whose u came from random pairs, as Splink's sampling leaves it, with
    EM's m: (m, sampled u) per non-null level, the first an exact match."""
    exact = cll.ExactMatchLevel("email")
    built = cl.CustomComparison([cll.NullLevel("email"), exact.configure(tf_adjustment_column="email") if tf else exact,
                                 *(cll.CustomLevel(f"email_l = email_r || '{i}'") for i in range(len(levels) - 2)),
                                 cll.ElseLevel()], output_column_name="email").get_comparison("duckdb")
    for level, (m, u) in zip(built._comparison_levels_excluding_null, levels):
        level.m_probability, level.u_probability = m, u
        level._add_trained_u_probability(u, "estimate u by random sampling")
    return built


def net_of(comparison, prior: float) -> tuple[dict, list[float]]:
    gained = net_of_matches(SimpleNamespace(_settings_obj=SimpleNamespace(comparisons=[comparison])), prior)
    return gained, [level.u_probability for level in comparison._comparison_levels_excluding_null]


def test_u_is_taken_net_of_the_matches_among_the_random_pairs():
    # the demo's email: 6.1e-5 of random pairs agree, nearly all of them one person's duplicates
    gained, (exact, other) = net_of(sampled([(0.99, 6.1e-5), (0.01, 1 - 6.1e-5)]), prior=5.9e-5)
    assert exact == pytest.approx((6.1e-5 - 5.9e-5 * 0.99) / (1 - 5.9e-5))
    assert other == pytest.approx(1 - 6.1e-5, rel=1e-4)
    assert gained == {"email": {1: pytest.approx(math.log2(6.1e-5 / exact))}}


def test_taking_matches_out_of_u_strengthens_a_level_by_at_most_a_bounded_number_of_bits():
    _, (exact, _) = net_of(sampled([(0.99, 6.1e-5), (0.01, 1 - 6.1e-5)]), prior=1e-4)  # the prior overstated
    assert exact == pytest.approx(6.1e-5 * 2 ** -MAX_U_CORRECTION)


def test_a_level_adjusted_by_term_frequency_keeps_its_sampled_u():
    gained, (exact, _) = net_of(sampled([(0.99, 6.1e-5), (0.01, 1 - 6.1e-5)], tf=True), prior=5.9e-5)
    assert exact == 6.1e-5 and gained == {}


def test_a_level_no_random_pair_reached_counts_as_reached_once():
    counts = CountsWithUnseenLevels(sampled([(0.9, 1e-4), (0.09, 1e-6), (0.01, 0.9999)]))
    counts.update_from_chunk_counts([{"comparison_vector_value": 2, "u_count": 40.0},
                                     {"comparison_vector_value": 0, "u_count": 399_960.0}])
    assert {r["comparison_vector_value"]: r["u_count"] for r in counts.to_record_list()} == {
        2: 40.0, 1: UNSEEN_U_COUNT, 0: 399_960.0}
