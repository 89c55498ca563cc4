"""An incremental run against a full one: 1% new records on top of a view already built.

    python benchmarks/incremental.py [--records 1000000] [--new 0.01] [--seed 42]
                                     [--out benchmarks/results/incremental.json] [--workdir DIR]

Generates a demo data set (`scv.generate`), holds back the last `--new` share of each
customer source, and builds the view from the rest (`scv run`, the first run). Then the
held-back records are put back and the same lakehouse gets an incremental `scv run`
(the records that were there keep their silver rows and pairs; the new ones are scored
with the last run's model), while a copy of the first run's lakehouse gets `scv run
--full` on the same data (everything again, a new model). Reports wall time, CPU and
peak memory of each, the stage timings, the incremental/full time ratio, the scores of
both against the truth and how alike they cluster. Writes JSON and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from engines import SCV, compare, machine, measure  # noqa: I001 - benchmarks/ sibling

from scv import Project
from scv.generate import ORDERS_FILE, RECORDS_PER_PERSON, demo_project_yaml, generate
from scv.lakehouse import Lakehouse


def hold_back(data_dir: Path, share: float) -> dict[Path, pa.Table]:
    """Cut the last `share` of rows off each customer source; return the whole files."""
    whole = {}
    for file in sorted(data_dir.glob("*.csv")):
        if file.name in ("truth.csv", ORDERS_FILE):
            continue
        with file.open(encoding="utf-8") as f:
            header = next(csv.reader(f))
        table = pcsv.read_csv(file, convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False))
        whole[file] = table
        pcsv.write_csv(table.slice(0, table.num_rows - round(table.num_rows * share)), file)
    return whole


def timed_run(folder: Path, name: str, *flags: str) -> dict:
    print(f"{name} ...", file=sys.stderr, flush=True)
    result = measure([str(SCV), "run", "--config", str(folder / "scv.yaml"), *flags], folder / f"{name}.log")
    if result["exit_code"] != 0:
        sys.exit(f"{name}: scv run failed:\n{(folder / f'{name}.log').read_text()[-3000:]}")
    audit = Lakehouse(folder / "lakehouse").read_table("audit/runs").sort_by([("started_at", "descending")])
    last = audit.slice(0, 1).to_pylist()[0]
    return {**result, "mode": last.get("mode"), "pipeline_seconds": last["seconds"],
            "stage_seconds": json.loads(last["stage_seconds"]), "records_silver": last["records_silver"],
            "customers": last["customers"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="about this many records in all")
    parser.add_argument("--new", type=float, default=0.01, help="share of records new in the second run")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "incremental.json")
    parser.add_argument("--workdir", type=Path, help="keep data and lakehouses here")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="scv-incremental-"))
    try:
        people = max(1, round(args.records / RECORDS_PER_PERSON))
        data = generate(workdir / "data", people=people, seed=args.seed)
        records = sum(data.records_per_source.values())
        whole = hold_back(workdir / "data", args.new)
        inc, full = workdir / "incremental", workdir / "full"
        inc.mkdir(exist_ok=True)
        (inc / "scv.yaml").write_text(demo_project_yaml("../data", "lakehouse"), encoding="utf-8")
        first = timed_run(inc, "first")
        shutil.copytree(inc, full)
        for file, table in whole.items():
            pcsv.write_csv(table, file)
        incremental = timed_run(inc, "incremental")
        rebuilt = timed_run(full, "full", "--full")
        for result, folder in ((incremental, inc), (rebuilt, full)):
            result["scores"] = Project.load(folder / "scv.yaml").evaluate(data.truth_path).as_dict()
        agreement = compare(str(inc / "lakehouse"), str(full / "lakehouse"))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    report = {"machine": machine(), "seed": args.seed, "people": people, "records": records,
              "new_share": args.new, "first": first, "incremental": incremental, "full": rebuilt,
              "time_ratio": round(incremental["wall_seconds"] / rebuilt["wall_seconds"], 3),
              "agreement_with_full": agreement}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"{records:,} records, {args.new:.0%} new; {report['machine']['cores']} cores, "
          f"{report['machine']['memory_gb']} GB\n")
    print("| run | mode | wall s | CPU s | peak RSS MB | F1 | customers |")
    print("|---|---|---|---|---|---|---|")
    for name in ("first", "incremental", "full"):
        r = report[name]
        f1 = r.get("scores", {}).get("f1")
        print(f"| {name} | {r['mode']} | {r['wall_seconds']} | {r['cpu_seconds']} | {r['peak_rss_mb']} | "
              f"{'' if f1 is None else f'{f1:.3f}'} | {r['customers']:,} |")
    print(f"\nincremental / full time: {report['time_ratio']:.1%}")
    stages = sorted(set(incremental["stage_seconds"]) | set(rebuilt["stage_seconds"]))
    print("\n| stage | incremental s | full s |\n|---|---|---|")
    for s in stages:
        print(f"| {s} | {incremental['stage_seconds'].get(s, '')} | {rebuilt['stage_seconds'].get(s, '')} |")


if __name__ == "__main__":
    main()
