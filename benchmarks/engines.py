"""DuckDB against Spark: time, memory and accuracy of both engines on the same data.

    python benchmarks/engines.py [--records 200000] [--engines duckdb,spark] [--seed 42]
                                 [--out benchmarks/results/engines.json] [--workdir DIR]

scv promises the same answer on either engine, so this generates one demo data set
(`scv.generate`), runs `scv run` on it once per engine, each in its own project and
lakehouse, and reports wall and CPU time, the stage timings from audit/runs, the peak
memory of the whole process tree (Python plus Spark's JVM, sampled from /proc every
0.5 s, so Linux only) and the scores against the truth. With both engines it also
checks that they put the same records together. Writes JSON and prints a Markdown
table to paste into docs/benchmarks.md. Without --workdir the data go in a temporary
folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb
import yaml

from scv import Project
from scv.evaluate import score
from scv.generate import RECORDS_PER_PERSON, demo_project_yaml, generate
from scv.lakehouse import Lakehouse

STAGES = ("ingest", "validate", "standardise", "link", "golden", "publish")
SPARK = {"master": "local[2]", "shuffle_partitions": 8, "driver_memory": "6g"}
SCV = Path(sys.executable).with_name("scv")
SAMPLE_SECONDS = 0.5
TICK = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants, from /proc/<pid>/task/*/children."""
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:  # the process ended meanwhile
                pass
    return tree


def rss_and_cpu(pid: int) -> tuple[int, float]:
    """(resident kB, user+system CPU seconds) of one process; zeros once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0.0
    rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return rss, (int(stat[11]) + int(stat[12])) / TICK  # utime, stime: fields 14 and 15


def measure(command: list[str], log: Path) -> dict:
    """Run command, sampling the tree's summed RSS; wall s, peak RSS MB, CPU s, exit code.

    CPU is the larger of two lower bounds: wait4's (the child plus the children it
    reaped) and the sum of each process's last sample (misses the last half second).
    """
    peak_kb, cpu_seen, done = 0, {}, threading.Event()
    with log.open("w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

        def sample():
            nonlocal peak_kb
            while not done.is_set():
                total = 0
                for pid in process_tree(proc.pid):
                    rss, cpu = rss_and_cpu(pid)
                    total += rss
                    cpu_seen[pid] = max(cpu, cpu_seen.get(pid, 0.0))
                peak_kb = max(peak_kb, total)
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = max(usage.ru_utime + usage.ru_stime, sum(cpu_seen.values()))
    return {"wall_seconds": round(wall, 1), "peak_rss_mb": round(peak_kb / 1024),
            "cpu_seconds": round(cpu, 1), "exit_code": proc.returncode}


def run_engine(engine: str, workdir: Path, project_yaml: str, truth: Path) -> dict:
    folder = workdir / engine
    shutil.rmtree(folder / "lakehouse", ignore_errors=True)  # time a first run, not a rerun
    folder.mkdir(parents=True, exist_ok=True)
    project = yaml.safe_load(project_yaml) | {"engine": engine}
    if engine == "spark":
        project["spark"] = SPARK
    config = folder / "scv.yaml"
    config.write_text(yaml.safe_dump(project, sort_keys=False))
    log = folder / "run.log"
    print(f"running {engine} ...", file=sys.stderr, flush=True)
    result = measure([str(SCV), "run", "--config", str(config)], log)
    if result["exit_code"] != 0:
        sys.exit(f"{engine}: scv run failed (exit {result['exit_code']}):\n{log.read_text()[-3000:]}")
    runs = Lakehouse(folder / "lakehouse").read_table("audit/runs").sort_by([("started_at", "descending")])
    audit = runs.slice(0, 1).to_pylist()[0]
    scores = Project.load(config).evaluate(truth)
    return {**result, "status": audit["status"], "engine_reported": audit["engine"],
            "pipeline_seconds": audit["seconds"], "stage_seconds": json.loads(audit["stage_seconds"]),
            "records_silver": audit["records_silver"], "customers": audit["customers"],
            "scores": scores.as_dict(), "lakehouse": str(folder / "lakehouse")}


def compare(lake_a: str, lake_b: str) -> dict:
    """Do two runs cluster the records alike? A record agrees when its two clusters hold
    exactly the same records; pairwise scores treat b as the truth for a."""
    a = Lakehouse(lake_a).read_table("gold/customer_xref").select(["record_key", "customer_id"])
    b = Lakehouse(lake_b).read_table("gold/customer_xref").select(["record_key", "customer_id"])
    con = duckdb.connect()
    con.register("a", a)
    con.register("b", b)
    differing, only_one = con.sql(
        """with j as (select record_key, cast(a.customer_id as varchar) as ca,
                             cast(b.customer_id as varchar) as cb
                      from a full join b using (record_key)),
                both_ as (select * from j where ca is not null and cb is not null),
                sized as (select *, count(*) over (partition by ca) as na,
                                 count(*) over (partition by cb) as nb,
                                 count(*) over (partition by ca, cb) as nab from both_)
           select (select count(*) from sized where not (nab = na and nab = nb)),
                  (select count(*) from j where ca is null or cb is null)"""
    ).fetchone()
    pairs = score(a.rename_columns(["record_key", "cluster"]), b.rename_columns(["record_key", "entity"]))
    return {"customers": {"a": len(a["customer_id"].unique()), "b": len(b["customer_id"].unique())},
            "records_in_different_clusters": differing, "records_in_only_one": only_one,
            "pairwise_agreement": {"precision": pairs.precision, "recall": pairs.recall, "f1": pairs.f1}}


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text().split()
    mem_kb = int(meminfo[meminfo.index("MemTotal:") + 1])
    versions = {}
    for package in ("scv", "duckdb", "splink", "pyspark", "deltalake", "pyarrow"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {"cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024**2, 1),
            "python": sys.version.split()[0], "versions": versions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000, help="about this many records")
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "engines.json")
    parser.add_argument("--workdir", type=Path, help="keep data and lakehouses here")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="scv-engines-"))
    try:
        people = max(1, round(args.records / RECORDS_PER_PERSON))
        data = generate(workdir / "data", people=people, seed=args.seed)
        records = sum(data.records_per_source.values())
        print(f"generated {records:,} records of {people:,} people in {data.seconds:.1f} s",
              file=sys.stderr)
        # Each project folder sits next to data/, so the yaml's paths go up one level.
        project_yaml = demo_project_yaml("../data", "lakehouse")
        results = {e: run_engine(e, workdir, project_yaml, data.truth_path) for e in engines}
        comparison = None
        if len(engines) == 2:
            comparison = compare(results[engines[0]]["lakehouse"], results[engines[1]]["lakehouse"])
            comparison["engines"] = engines
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    report = {"machine": machine(), "seed": args.seed, "people": people, "records": records,
              "records_per_source": data.records_per_source, "spark": SPARK,
              "engines": results, "comparison": comparison}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))

    print(f"{report['machine']['cores']} cores, {report['machine']['memory_gb']} GB; "
          f"Spark {SPARK['master']}\n")
    print(f"| engine | records | wall s | CPU s | pipeline s | {'/'.join(STAGES)} s | peak RSS MB "
          "| precision | recall | F1 |\n|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        stages = "/".join(f"{r['stage_seconds'].get(s, 0):.1f}" for s in STAGES)
        s = r["scores"]
        print(f"| {name} | {records:,} | {r['wall_seconds']} | {r['cpu_seconds']} | "
              f"{r['pipeline_seconds']:.1f} | {stages} | {r['peak_rss_mb']:,} | "
              f"{s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} |")
    if comparison:
        a, b = engines
        c = comparison
        print(f"\n{a} vs {b}: {c['customers']['a']:,} vs {c['customers']['b']:,} customers; "
              f"{c['records_in_different_clusters']:,} records in different clusters, "
              f"{c['records_in_only_one']:,} in only one; pairwise agreement F1 "
              f"{c['pairwise_agreement']['f1']:.4f}")


if __name__ == "__main__":
    main()
