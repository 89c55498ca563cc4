"""Accuracy of scv's defaults on the shared benchmark data sets, against their truth.

    python benchmarks/accuracy.py [--out benchmarks/results/accuracy.json]

No per-data-set tuning: each data set only gets a column mapping. Prints a Markdown
table (precision, recall, F1, seconds) to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb
import yaml

from scv import Project

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FAKE = {"first_name": "first_name", "last_name": "surname", "date_of_birth": "dob",
        "city": "city", "email": "email"}
FEBRL = {"first_name": "given_name", "last_name": "surname", "address_line_1": "address_1",
         "address_line_2": "address_2", "city": "suburb", "postcode": "postcode",
         "region": "state", "date_of_birth": "date_of_birth"}
FEBRL_ATTRIBUTES = ["soc_sec_id"]  # a national identifier, as in the Splink tutorial
RLDATA = {"first_name": ["fname_c1", "fname_c2"], "last_name": ["lname_c1", "lname_c2"],
          "date_of_birth": ["by", "bm", "bd"]}  # names in two parts, birth year, month, day

DATA_SETS = {
    "fake_1000": {"files": {"people": "fake_1000.csv"}, "id": "unique_id", "columns": FAKE, "truth": "cluster"},
    "fake_20000": {"files": {"people": "fake_20000.csv"}, "id": "unique_id", "columns": FAKE, "truth": "group"},
    "febrl3": {"files": {"people": "febrl3.csv"}, "id": "rec_id", "columns": FEBRL, "attributes": FEBRL_ATTRIBUTES,
               "truth": "rec_id"},
    "febrl4": {"files": {"a": "febrl4a.csv", "b": "febrl4b.csv"}, "id": "rec_id", "columns": FEBRL, "attributes": FEBRL_ATTRIBUTES,
               "truth": "rec_id"},
    "RLdata10000": {"files": {"people": "RLdata10000.csv"}, "id": "rec_id", "columns": RLDATA, "truth": "ent_id"},
}
REFERENCE_F1 = {"fake_1000": 0.841, "fake_20000": 0.815, "febrl3": 0.997, "febrl4": 1.000}  # none for RLdata10000


def prepare(folder: Path, spec: dict) -> tuple[Path, Path]:
    """Copy each file with trimmed headers and values (FEBRL pads them) and write truth."""
    con = duckdb.connect()
    sources, truths = {}, []
    for name, file in spec["files"].items():
        rel = con.read_csv(str(DATA / file), all_varchar=True)
        cols = ", ".join(f'trim("{c}") as "{c.strip()}"' for c in rel.columns)
        con.sql(f"copy (select {cols} from rel) to '{folder / file}' (header)")
        truth_expr = (f"regexp_extract(trim(\"{spec['truth']}\"), 'rec-([0-9]+)', 1)"
                      if spec["truth"] == "rec_id" else f"\"{spec['truth']}\"")
        truths.append(f"select '{name}' as source, trim(\"{spec['id']}\") as source_record_id, "
                      f"{truth_expr} as person_id from read_csv('{folder / file}', all_varchar=true)")
        sources[name] = {"path": file, "id": spec["id"], "columns": spec["columns"],
                         "attributes": spec.get("attributes", [])}
    truth = folder / "truth.csv"
    con.sql(f"copy ({' union all '.join(truths)}) to '{truth}' (header)")
    config = folder / "scv.yaml"
    config.write_text(yaml.safe_dump({"lakehouse": "./lakehouse", "sources": sources}))
    return config, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "accuracy.json")
    args = parser.parse_args()
    results = {}
    for name, spec in DATA_SETS.items():
        with tempfile.TemporaryDirectory() as tmp:
            config, truth = prepare(Path(tmp), spec)
            project = Project.load(config)
            started = time.perf_counter()
            run = project.run()
            seconds = time.perf_counter() - started
            scores = project.evaluate(truth)
            facts = json.loads(project.lakehouse.read_table("audit/runs")["linkage"][-1].as_py())
            results[name] = {**scores.as_dict(), "seconds": round(seconds, 1), "warnings": run.warnings,
                             **{k: facts.get(k) for k in ("threshold", "share_linked_strangers", "retrained_without",
                                                          "estimated_blocking_recall")}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print("| data set | precision | recall | F1 | reference F1 | threshold | seconds |\n|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | "
              f"{f'{REFERENCE_F1[name]:.3f}' if name in REFERENCE_F1 else '—'} | {r['threshold']:.2f} | {r['seconds']} |")


if __name__ == "__main__":
    main()
