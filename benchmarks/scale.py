"""scv at scale against a hand-written Splink run: time, CPU, memory and accuracy.

    python benchmarks/scale.py [--sizes 100000,1000000,10000000] [--baseline-up-to 1000000]
                               [--pairs 1] [--seed 42] [--out benchmarks/results/scale.json] [--workdir DIR]

For each size: `scv generate --records N` (timed: records per second), then `scv run`
on the demo project over those files (a first, full run), then the baseline
(`baseline_splink.py`: the Splink tutorial's dedupe of the same records on DuckDB) for
sizes up to --baseline-up-to. Each command runs in its own process, timed with its
whole process tree's peak resident memory (`engines.measure`). With --pairs N, scv and
the baseline run N times back to back, in turn, and the time ratio is their median: the
machine's speed drifts by several percent from one minute to the next. Per stage, the wall
time, CPU time and peak memory come from the run's audit row (`scv.usage`). Accuracy
is pairwise F1 against the generator's truth, for scv and the baseline alike. Writes
JSON and a Markdown report (tables plus the machine's description) next to it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import duckdb
from engines import SCV, machine, measure  # noqa: I001 - benchmarks/ sibling

from scv import Project
from scv.generate import demo_project_yaml
from scv.lakehouse import Lakehouse

BASELINE = Path(__file__).with_name("baseline_splink.py")
STAGES = ("ingest", "profile", "validate", "standardise", "link", "golden", "pseudonymise", "publish")


def generate(size: int, seed: int, folder: Path) -> dict:
    data = folder / "data"
    shutil.rmtree(data, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{size:,}: generate ...", file=sys.stderr, flush=True)
    cost = measure([str(SCV), "generate", "--records", str(size), "--out", str(data), "--seed", str(seed)],
                   folder / "generate.log")
    if cost["exit_code"] != 0:
        sys.exit(f"scv generate failed:\n{(folder / 'generate.log').read_text()[-3000:]}")
    records = duckdb.sql(f"select count(*) from read_csv('{data / 'truth.csv'}')").fetchone()[0]
    return {**cost, "records": records, "records_per_second": round(records / cost["wall_seconds"])}


def run_scv(folder: Path, truth: Path) -> dict:
    shutil.rmtree(folder / "lakehouse", ignore_errors=True)
    config = folder / "scv.yaml"
    config.write_text(demo_project_yaml("data", "lakehouse"), encoding="utf-8")
    print(f"{folder.name}: scv run ...", file=sys.stderr, flush=True)
    cost = measure([str(SCV), "run", "--config", str(config)], folder / "run.log")
    if cost["exit_code"] != 0:
        sys.exit(f"scv run failed:\n{(folder / 'run.log').read_text()[-3000:]}")
    audit = Lakehouse(folder / "lakehouse").read_table("audit/runs").to_pylist()[-1]
    seconds, usage = json.loads(audit["stage_seconds"]), json.loads(audit["stage_usage"])
    records = audit["records_ingested"]
    stages = {s: {"wall_seconds": seconds[s], **usage[s],
                  "records_per_second": round(records / seconds[s]) if seconds[s] else None}
              for s in STAGES if s in seconds}
    scores = Project.load(config).evaluate(truth).as_dict()
    return {**cost, "records": records, "records_per_second": round(records / cost["wall_seconds"]),
            "pipeline_seconds": audit["seconds"], "customers": audit["customers"], "pairs": audit["pairs_scored"],
            "stages": stages, "scores": scores, "linkage": json.loads(audit["linkage"])}


def run_baseline(folder: Path) -> dict:
    print(f"{folder.name}: baseline ...", file=sys.stderr, flush=True)
    out = folder / "baseline.json"
    cost = measure([sys.executable, str(BASELINE), str(folder / "data"), "--out", str(out)], folder / "baseline.log")
    if cost["exit_code"] != 0:
        return {**cost, "error": (folder / "baseline.log").read_text()[-2000:]}
    found = json.loads(out.read_text())
    return {**cost, "records_per_second": round(found["records"] / cost["wall_seconds"]), **found}


def ratios(scv: dict, baseline: dict) -> dict:
    if "f1" not in baseline:
        return {}
    return {"time": round(scv["wall_seconds"] / baseline["wall_seconds"], 2),
            "memory": round(scv["peak_rss_mb"] / baseline["peak_rss_mb"], 2),
            "f1": round(scv["scores"]["f1"] / baseline["f1"], 3)}


def repeated(folder: Path, first: dict, pairs: int) -> dict:
    """The time ratio over `pairs` runs of scv and the baseline in turn (the first pair
    already run): each pair's seconds and ratio, and the median ratio."""
    runs = [(first["scv"]["wall_seconds"], first["baseline"]["wall_seconds"])]
    for _ in range(pairs - 1):
        shutil.rmtree(folder / "lakehouse", ignore_errors=True)  # a first run each time, as the first pair's
        scv = measure([str(SCV), "run", "--config", str(folder / "scv.yaml")], folder / "run.log")
        if scv["exit_code"] != 0:
            sys.exit(f"a repeated scv run failed:\n{(folder / 'run.log').read_text()[-2000:]}")
        baseline = run_baseline(folder)
        if "f1" not in baseline:
            sys.exit(f"a repeated baseline run failed:\n{baseline['error']}")
        runs.append((scv["wall_seconds"], baseline["wall_seconds"]))
    each = [round(s / b, 2) for s, b in runs]
    return {"seconds": [{"scv": s, "baseline": b} for s, b in runs], "time_ratios": each,
            "time_ratio_median": statistics.median(each)}


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [f"Machine: {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}, "
             + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + ".", "",
             "| records | generate rec/s | scv s | scv CPU s | scv peak MB | scv F1 | baseline s | baseline CPU s "
             "| baseline peak MB | baseline F1 | time ratio | memory ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for size in result["sizes"]:
        g, s, b, r = size["generate"], size["scv"], size.get("baseline", {}), size.get("ratios", {})
        lines.append(
            f"| {s['records']:,} | {g['records_per_second']:,} | {s['wall_seconds']} | {s['cpu_seconds']} "
            f"| {s['peak_rss_mb']:,} | {s['scores']['f1']:.3f} | {b.get('wall_seconds', '—')} "
            f"| {b.get('cpu_seconds', '—')} | {b.get('peak_rss_mb', '—')} | {b.get('f1', '—')} "
            f"| {r.get('time', '—')} | {r.get('memory', '—')} |")
    for size in result["sizes"]:
        s = size["scv"]
        lines += ["", f"scv, {s['records']:,} records, by stage:", "",
                  "| stage | wall s | CPU s | peak MB | records/s |", "|---|---|---|---|---|"]
        for stage, v in s["stages"].items():
            per_second = f"{v['records_per_second']:,}" if v["records_per_second"] else "—"
            lines.append(f"| {stage} | {v['wall_seconds']} | {v['cpu_seconds']} | {v['peak_rss_mb']:,} "
                         f"| {per_second} |")
        if "pairs" in size:
            p = size["pairs"]
            lines += ["", f"{len(p['time_ratios'])} pairs back to back (scv / baseline s): " + ", ".join(
                f"{x['scv']} / {x['baseline']}" for x in p["seconds"])
                + f"; time ratios {', '.join(map(str, p['time_ratios']))}, median {p['time_ratio_median']}"]
        if "step_seconds" in size.get("baseline", {}):
            steps = size["baseline"]["step_seconds"]
            lines += ["", "baseline by step: " + ", ".join(f"{k} {v} s" for k, v in steps.items())]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000", help="records, comma separated")
    parser.add_argument("--baseline-up-to", type=int, default=1_000_000,
                        help="run the baseline for sizes up to this many records")
    parser.add_argument("--pairs", type=int, default=1,
                        help="run scv and the baseline this many times in turn; the time ratio is their median")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "scale.json")
    parser.add_argument("--workdir", type=Path, help="keep data and lakehouses here")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="scv-scale-"))
    result = {"machine": machine(), "sizes": []}
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            folder = workdir / f"r{size}"
            found = {"generate": generate(size, args.seed, folder)}
            found["scv"] = run_scv(folder, folder / "data" / "truth.csv")
            if size <= args.baseline_up_to:
                found["baseline"] = run_baseline(folder)
                found["ratios"] = ratios(found["scv"], found["baseline"])
                if args.pairs > 1 and "f1" in found["baseline"]:
                    found["pairs"] = repeated(folder, found, args.pairs)
            result["sizes"].append(found)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            args.out.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
        print(markdown(result))
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
