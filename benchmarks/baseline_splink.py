"""The baseline: the Splink 5 dedupe a data engineer would write by hand in a notebook.

    python benchmarks/baseline_splink.py DATA_DIR [--out baseline.json]

DATA_DIR is a folder from `scv generate`. The three customer sources are read into
DuckDB and put into one table with light hand cleaning (lower case, the shop's day-first
dates parsed, the newsletter's full name split at its last space), then the recipe of
Splink's tutorials: 5 comparisons, 3 blocking rules, the prior from deterministic rules,
u from 5e6 random pairs, two EM passes, predict, cluster at 0.9. Prints and writes the
time of each step and the pairwise precision, recall and F1 of the clusters against
the generator's truth. It is the yardstick `benchmarks/scale.py` measures scv against.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from scv.evaluate import score

THRESHOLD = 0.9

PEOPLE_SQL = """
with crm as (
    select 'crm-' || contactid as unique_id, lower(firstname) as first_name,
           lower(lastname) as surname, try_cast(birthdate as date) as dob,
           lower(emailaddress1) as email, lower(address1_city) as city
    from read_csv('{d}/crm_contacts.csv', all_varchar = true)
), shop as (
    select 'shop-' || customer_id as unique_id, lower(first_name) as first_name,
           lower(last_name) as surname, try_strptime(date_of_birth, '%d/%m/%Y')::date as dob,
           lower(email) as email, lower(town) as city
    from '{d}/shop_customers.parquet'
), newsletter as (
    select 'newsletter-' || signup_id as unique_id,
           case when strpos(trim(name), ' ') > 0
                then lower(regexp_extract(trim(name), '^(\\S+)', 1)) end as first_name,
           lower(regexp_extract(trim(name), '(\\S+)$', 1)) as surname,
           cast(null as date) as dob, lower(email) as email, cast(null as varchar) as city
    from read_json('{d}/newsletter_signups.jsonl', format = 'newline_delimited')
)
select * from crm union all select * from shop union all select * from newsletter
"""


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=False),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.ExactMatch("email"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "surname"),
            block_on("surname", "dob"),
            block_on("email"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def f1_against_truth(con: duckdb.DuckDBPyConnection, clusters: str, data_dir: Path) -> dict:
    """Pairwise precision, recall and F1 of the clusters against truth.csv, scored by the
    same function as scv's own clusters (scv.evaluate.score)."""
    predicted = con.sql(f"select unique_id as record_key, cluster_id as cluster from {clusters}").arrow().read_all()
    truth = con.sql(f"""select source || '-' || source_record_id as record_key, person_id as entity
                        from read_csv('{data_dir}/truth.csv', all_varchar = true)""").arrow().read_all()
    found = score(predicted, truth)
    return {"precision": round(found.precision, 4), "recall": round(found.recall, 4), "f1": round(found.f1, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    steps, clock = {}, time.perf_counter()

    def step(name: str, since: float) -> float:
        now = time.perf_counter()
        steps[name] = round(now - since, 2)
        return now

    con = duckdb.connect()
    con.execute(f"create table people as {PEOPLE_SQL.format(d=data_dir)}")
    records = con.sql("select count(*) from people").fetchone()[0]
    db_api = DuckDBAPI(connection=con)
    linker = Linker(db_api.register("people"), settings())
    t = step("load", clock)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob"), block_on("email", "first_name")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    t = step("training", t)
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    t = step("predict", t)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, THRESHOLD)
    t = step("cluster", t)
    result = {"records": records, "seconds": round(t - clock, 2), "step_seconds": steps,
              **f1_against_truth(con, clusters.physical_name, data_dir)}
    print(json.dumps(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
