"""Profile + validate speed: 1,000,000 rows x 15 columns, the issue's target is 15 s.

    python benchmarks/validation.py [--rows 1000000] [--engine duckdb] [--out FILE]

Makes one CRM-like CSV source (15 columns, some bad values of every kind the default
checks look for), runs `scv validate` on it (ingest, profile, validate; the expectation
suite is the defaults plus a few inline ones of other kinds) and reports the stage
timings from audit/runs, the wall time and the peak memory of the process tree.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import duckdb
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from engines import SPARK, SCV, machine, measure  # noqa: E402 - the shared measuring code

from scv.lakehouse import Lakehouse  # noqa: E402

COLUMNS_SQL = """
select 'C' || lpad(cast(i as varchar), 8, '0') as contact_id,
       ['Robert','Elizabeth','Ann','Zoë','Tom','Ada','Mohammed','Siobhán'][1 + i % 8] as first_name,
       case when i % 997 = 0 then '...' else ['Smith','Jones','Brown','Clark','Hardy','King'][1 + i % 6] end as last_name,
       case when i % 101 = 0 then 'broken.example.com'
            else 'person' || i || '@example.' || ['com','org','co.uk'][1 + i % 3] end as email,
       case when i % 211 = 0 then '1850-01-01' when i % 307 = 0 then '1990-02-31'
            else strftime(date '1940-01-01' + cast(i % 25000 as integer), '%Y-%m-%d') end as birthdate,
       case when i % 503 = 0 then 'n/a' else '07700 ' || lpad(cast(i % 1000000 as varchar), 6, '0') end as mobile,
       (i % 200) || ' High Street' as address1,
       ['London','Leeds','Manchester','Cardiff','Glasgow'][1 + i % 5] as city,
       ['SW1A 1AA','LS1 4AP','M1 1AE','CF10 1EP','G1 1XQ'][1 + i % 5] as postcode,
       ['GB','GB','GB','IE','FR'][1 + i % 5] as country,
       ['F','M','U'][1 + i % 3] as gender,
       case when i % 2 = 0 then 'true' else 'false' end as do_not_email,
       cast(i % 5000 as varchar) as loyalty_points,
       strftime(timestamp '2020-01-01' + to_seconds(i * 60), '%Y-%m-%d %H:%M:%S') as modified_on,
       ['web','store','phone'][1 + i % 3] as channel
from range({rows}) t(i)
"""

PROJECT = {
    "lakehouse": "lakehouse",
    "sources": {"crm": {
        "path": "crm.csv", "id": "contact_id", "updated_at": "modified_on",
        "columns": {"first_name": "first_name", "last_name": "last_name", "email": "email",
                    "date_of_birth": "birthdate", "phone": "mobile", "address_line_1": "address1",
                    "city": "city", "postcode": "postcode", "country": "country", "gender": "gender"},
        "attributes": ["do_not_email", "loyalty_points", "channel"],
        "validation": {"expectations": [
            {"type": "expect_column_values_to_be_in_set",
             "kwargs": {"column": "channel", "value_set": ["web", "store", "phone"]}, "severity": "warn"},
            {"type": "expect_column_values_to_be_between",
             "kwargs": {"column": "loyalty_points", "min_value": 0, "max_value": 10000}, "severity": "quarantine"},
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "severity": "error"},
            {"type": "expect_column_value_lengths_to_be_between",
             "kwargs": {"column": "postcode", "min_value": 5, "max_value": 8}, "severity": "warn"},
        ]},
    }},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "validation.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scv-validation-") as tmp:
        folder = Path(tmp)
        duckdb.sql(COLUMNS_SQL.format(rows=args.rows)).write_csv(str(folder / "crm.csv"))
        project = PROJECT | {"engine": args.engine}
        if args.engine == "spark":
            project["spark"] = SPARK
        (folder / "scv.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
        result = measure([str(SCV), "validate", "--config", str(folder / "scv.yaml")], folder / "log.txt")
        if result["exit_code"] != 0:
            sys.exit(f"scv validate failed:\n{(folder / 'log.txt').read_text()[-3000:]}")
        audit = Lakehouse(folder / "lakehouse").read_table("audit/runs").to_pylist()[-1]
        stages = json.loads(audit["stage_seconds"])
        checks = Lakehouse(folder / "lakehouse").read_table("audit/validation_results").to_pylist()
    report = {"machine": machine(), "rows": args.rows, "columns": 15, "engine": args.engine,
              **result, "stage_seconds": stages,
              "profile_plus_validate_seconds": round(stages["profile"] + stages["validate"], 2),
              "expectations": len(checks),
              "failed": {r["expectation"] + "(" + (r["column"] or "") + ")": r["unexpected_count"]
                         for r in checks if not r["success"]}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"{args.rows:,} rows x 15 columns on {args.engine}: profile {stages['profile']:.1f} s + "
          f"validate {stages['validate']:.1f} s = {report['profile_plus_validate_seconds']:.1f} s "
          f"(ingest {stages['ingest']:.1f} s; whole command {result['wall_seconds']} s wall, "
          f"peak RSS {result['peak_rss_mb']:,} MB); {len(checks)} expectations, "
          f"{len(report['failed'])} failed")


if __name__ == "__main__":
    main()
